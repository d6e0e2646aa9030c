/**
 * The append-only change log, `history.jsonl`: one JSON object per line, one line per published
 * manifest. A line is appended and fsynced *before* its manifest is renamed into place, so a crash
 * can leave a line whose manifest never appeared (a higher sequence than the manifest's, or the
 * same sequence written again by the next publish). Readers therefore ignore lines above the
 * manifest's sequence and, for a repeated sequence, keep the last line.
 */
import { open, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { TrancheError } from '../core/TrancheError.js';
import type { ModuleState } from '../core/manifest.js';
import { parseJson } from '../core/validate.js';
import { fsyncDir } from './atomicWrite.js';
import type { StoreLayout } from './storeLayout.js';

/** One module's state before and after a change (`null`: not in the manifest). */
export interface ModuleChange {
  before: ModuleState | null;
  after: ModuleState | null;
}

/** One published change. */
export interface HistoryEntry {
  /** The sequence of the manifest this change published. */
  sequence: number;
  /** Its `published` time. */
  time: string;
  /** Who ran it: TRANCHE_ACTOR, else GITHUB_ACTOR, else USER, else the OS user name. */
  actor: string;
  /** The verb: promote, rollout, pause, resume, rollback, kill-switch. */
  verb: string;
  /** The verb's arguments, e.g. `{ module: "cart", version: "2.0.0", percent: 5 }`. */
  args: Record<string, unknown>;
  /** The key that signed the manifest. */
  keyId: string;
  /** Every module whose state changed. */
  modules: Record<string, ModuleChange>;
  /** Present when the kill switch changed. */
  killSwitch?: { before: boolean; after: boolean };
}

/** Who is making a change, from the environment (CI sets GITHUB_ACTOR). */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.TRANCHE_ACTOR || env.GITHUB_ACTOR || env.USER;
  if (named) return named;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** How far back to look for the last line break in one read. */
const TAIL_CHUNK = 64 * 1024;

/**
 * Appends `entry` as one line and fsyncs it. A torn last line (a crash mid-append, never
 * committed by a manifest) is cut off first, so it never glues onto the new line.
 */
export async function appendHistory(layout: StoreLayout, entry: HistoryEntry): Promise<void> {
  const handle = await open(layout.history, 'a+');
  try {
    const { size } = await handle.stat();
    const keep = await committedLength(handle, size);
    if (keep < size) await handle.truncate(keep);
    await handle.appendFile(`${JSON.stringify(entry)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The file may be new: its directory entry must be durable before the manifest is.
  await fsyncDir(layout.root);
}

async function committedLength(handle: import('node:fs/promises').FileHandle, size: number): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const buffer = Buffer.alloc(end - start);
    await handle.read(buffer, 0, buffer.length, start);
    const at = buffer.lastIndexOf(0x0a);
    if (at === buffer.length - 1 && end === size) return size;
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/** The committed entries up to `sequence` (the current manifest's), oldest first. */
export async function readHistory(layout: StoreLayout, sequence: number): Promise<HistoryEntry[]> {
  const text = await readFile(layout.history, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const lines = text.split('\n');
  lines.pop(); // '' after the final newline, or a torn line that no manifest committed
  const bySequence = new Map<number, HistoryEntry>();
  lines.forEach((line, i) => {
    const what = `history.jsonl line ${i + 1}`;
    const entry = parseJson(line, what) as Partial<HistoryEntry> | null;
    if (!entry || typeof entry.sequence !== 'number' || typeof entry.modules !== 'object') {
      throw new TrancheError('invalid-document', { what, problems: ['(document): expected a history entry with sequence and modules'] });
    }
    if (entry.sequence <= sequence) bySequence.set(entry.sequence, entry as HistoryEntry);
  });
  return [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
}
