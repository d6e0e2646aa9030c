/**
 * Replacing a file so that a reader, or a machine that loses power, sees either the old bytes or
 * the new ones, never a mix: write a temp file in the same directory, fsync it, rename it over the
 * target, fsync the directory. Temp files carry the writer's pid so that leftovers of a killed
 * process can be recognised and removed without touching those of a command still running.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { unlessMissing } from './missing.js';
import { processAlive } from './processAlive.js';

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

// Test hook (test/unit/release-security.test.ts): the n-th blob write stops for good with its temp
// file written, where the test kills the process with SIGKILL, as a user's kill -9 would.
const STALL_AT = Number(/^stall-blob-(\d+)$/.exec(process.env.TRANCHE_FAULT ?? '')?.[1] ?? 0);
let blobWrites = 0;

/** True for the name of a temp file `writeFileAtomic` creates (readers skip these). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

function tempPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Makes a rename or a new directory entry in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `target` with `data` atomically and durably. `mode` applies to a new file. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const temp = tempPath(target);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // Test hook (test/unit/cli-concurrency.test.ts): die the hardest way possible at the worst moment,
  // with the new bytes durable in the temp file but not yet renamed over the target.
  if (process.env.TRANCHE_FAULT === 'before-rename') process.kill(process.pid, 'SIGKILL');
  try {
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(target));
}

/**
 * Writes a content-addressed blob: atomic (temp + rename) but neither fsynced nor async; see
 * ingest.ts for why both are the right trade for thousands of small immutable files.
 */
export function writeBlobSync(target: string, data: Uint8Array): void {
  const temp = tempPath(target);
  const fd = openSync(temp, 'wx', 0o644);
  try {
    for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
  } finally {
    closeSync(fd);
  }
  if (STALL_AT && ++blobWrites === STALL_AT) {
    // Said on stderr, so that the test kills the process here and not between two other writes.
    process.stderr.write(`stalled at blob ${STALL_AT}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  try {
    renameSync(temp, target);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      /* already gone */
    }
    throw err;
  }
}

/** Deletes temp files in `dir` whose writer is no longer running. Returns how many it removed. */
export async function removeStaleTemps(dir: string): Promise<number> {
  const names = await unlessMissing(readdir(dir), []);
  let removed = 0;
  for (const name of names) {
    const pid = Number(TEMP_NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    removed++;
  }
  return removed;
}
