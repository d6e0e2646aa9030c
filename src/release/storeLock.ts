/**
 * One writer at a time per store. The lock is a file created atomically (`link` of a complete
 * temp file, so it is never seen half-written) holding its owner's pid, host and start time.
 * Waiters retry with jittered backoff; a lock whose owner is dead (same host, pid gone) is broken
 * so a killed command never wedges the store; a live owner is waited for, up to a timeout, after
 * which the waiter fails with `locked`, naming the lock file and its holder.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrancheError } from '../core/TrancheError.js';
import { unlessMissing } from './missing.js';
import { processAlive } from './processAlive.js';

/** How long a command waits for another one before giving up: longer than any publish takes. */
export const LOCK_TIMEOUT_MS = 30_000;
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 250;

interface Owner {
  pid: number;
  host: string;
  since: string;
  nonce: string;
}

/** Runs `fn` holding the lock file at `lockPath`; waits at most `timeoutMs` to get it. */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = LOCK_TIMEOUT_MS): Promise<T> {
  const release = await acquire(lockPath, timeoutMs);
  try {
    return await fn();
  } finally {
    await release();
  }
}

async function acquire(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const text = ownerText();
  const started = Date.now();
  let delay = FIRST_DELAY_MS;
  for (;;) {
    if (await tryCreate(path, text)) {
      return async () => {
        // Never delete a lock that is no longer ours (broken as stale while we were frozen).
        if ((await readFile(path, 'utf8').catch(() => '')) === text) await unlink(path).catch(() => undefined);
      };
    }
    if (await breakIfStale(path)) continue;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) throw new TrancheError('locked', { path, waitedMs: waited, holder: describe(await readOwner(path)) });
    await sleep(delay * (0.5 + Math.random()));
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

function ownerText(): string {
  const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  return `${JSON.stringify(owner)}\n`;
}

/** Creates `path` with `text` unless it exists. `link` fails with EEXIST atomically. */
async function tryCreate(path: string, text: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, text, { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readOwner(path: string): Promise<{ owner: Owner; text: string } | null> {
  const text = await unlessMissing(readFile(path, 'utf8'));
  if (text === null) return null;
  try {
    return { owner: JSON.parse(text) as Owner, text };
  } catch {
    // Not ours to judge: someone else's file at our lock path. Treat it as held.
    return { owner: { pid: 0, host: '?', since: '?', nonce: '' }, text };
  }
}

function describe(found: { owner: Owner } | null): string {
  if (!found) return 'nobody (it was just released)';
  const { pid, host, since } = found.owner;
  return `pid ${pid} on ${host} since ${since}`;
}

function deadOwner(found: { owner: Owner } | null): boolean {
  return found !== null && found.owner.host === hostname() && found.owner.pid > 0 && !processAlive(found.owner.pid);
}

/**
 * Removes the lock if its owner is dead; true when the caller should retry at once. Two waiters
 * may see the same dead owner: only the one holding `<lock>.break` deletes, and only after
 * re-reading that the lock is still the dead one, so a fresh lock taken meanwhile survives.
 */
async function breakIfStale(path: string): Promise<boolean> {
  const found = await readOwner(path);
  if (!found) return true;
  if (!deadOwner(found)) return false;
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, ownerText()))) {
    // A breaker killed inside this microsecond-long section would block breaking forever.
    const other = await readOwner(breaker);
    if (deadOwner(other)) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    if ((await readFile(path, 'utf8').catch(() => '')) === found.text) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
  return true;
}
