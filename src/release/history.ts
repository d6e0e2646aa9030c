/**
 * The append-only change log, `history.jsonl`: one JSON object per line, one line per published
 * manifest. A line is appended and fsynced *before* its manifest is renamed into place, so a crash
 * can leave a line whose manifest never appeared (a higher sequence than the manifest's, or the
 * same sequence written again by the next publish). Readers therefore ignore lines above the
 * manifest's sequence and, for a repeated sequence, keep the last line.
 */
import { userInfo } from 'node:os';
import { TrancheError } from '../core/TrancheError.js';
import type { ModuleState } from '../core/manifest.js';
import { parseJson } from '../core/validate.js';
import { readText, type StoreBackend } from './StoreBackend.js';
import { HISTORY, PUBLISHED } from './storeLayout.js';

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

/**
 * Appends `entry` as one line, durably (the backend first cuts a torn last line left by a crash,
 * never committed by a manifest, so it never glues onto the new line).
 */
export async function appendHistory(backend: StoreBackend, entry: HistoryEntry): Promise<void> {
  await backend.append(HISTORY, `${JSON.stringify(entry)}\n`);
}

/** The committed entries up to `sequence` (the current manifest's), oldest first. */
export async function readHistory(backend: StoreBackend, sequence: number): Promise<HistoryEntry[]> {
  const text = (await readText(backend, HISTORY)) ?? '';
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

/**
 * The highest sequence this store ever published, from `published.json` (0 when it has none).
 * History alone cannot say it: a crash may leave a line whose manifest never appeared. The mark
 * is written only after its manifest, so it never claims one that was not published (a crash in
 * between leaves it one behind, which the manifest's own sequence covers). A `manifest.json`
 * copied back from a backup or a stale checkout is then seen for what it is: older than the mark.
 */
export async function readPublishedSequence(backend: StoreBackend): Promise<number> {
  const text = await readText(backend, PUBLISHED);
  if (text === null) return 0;
  const mark = parseJson(text, PUBLISHED) as { sequence?: unknown } | null;
  const sequence = mark?.sequence;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0)
    throw new TrancheError('invalid-document', {
      what: PUBLISHED,
      problems: ['sequence: expected the highest published sequence, a whole number'],
    });
  return sequence;
}

/** Records that the manifest of `sequence` is published (after it is in place). */
export async function recordPublished(backend: StoreBackend, sequence: number): Promise<void> {
  await backend.put(PUBLISHED, `${JSON.stringify({ format: 1, sequence })}\n`);
}
