/**
 * A store in a local directory. Durable writes are temp file + fsync + rename + directory fsync
 * (atomicWrite.ts); blobs skip the fsyncs (ingest.ts says why); one writer at a time holds the
 * lock file `.tranche.lock` (storeLock.ts), a dot file static servers do not serve. Temp files
 * of a killed writer are never listed, and are removed by the next writer.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { mkdir, open, readdir, readFile, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { TrancheError } from '../core/TrancheError.js';
import { fsyncDir, isTempName, removeStaleTemps, writeBlobSync, writeFileAtomic } from './atomicWrite.js';
import { isMissing, unlessMissing } from './missing.js';
import type { PutOptions, StoreBackend } from './StoreBackend.js';
import { FILES, KEYS } from './storeLayout.js';
import { withLock } from './storeLock.js';

/**
 * Where the next lock holder removes temp files of dead writers: the store's top level, the blobs
 * and the keys. A record's directory is cleaned when a record is created there (`create`).
 */
const STALE_TEMP_DIRS = ['', FILES, KEYS];

/** How far back to look for the last line break in one read. */
const TAIL_CHUNK = 64 * 1024;

export class DirectoryBackend implements StoreBackend {
  /** The store's absolute directory. */
  readonly root: string;
  private _realRoot: string | undefined;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  get location(): string {
    return this.root;
  }

  /** The absolute path of store-relative `path`. */
  where(path: string): string {
    return join(this.root, ...path.split('/'));
  }

  async read(path: string): Promise<Uint8Array | null> {
    // EISDIR too: a directory where a document should be is no document.
    const notThere = (err: NodeJS.ErrnoException) => {
      if (isMissing(err) || err.code === 'EISDIR') return null;
      throw err;
    };
    // A symbolic link (files/<sha> -> /etc/passwd) must never make the store serve what is outside it.
    const real = await realpath(this.where(path)).catch(notThere);
    if (real === null) return null;
    if (!this._holds(real))
      throw new TrancheError('unsafe-path', {
        path,
        reason: `is a symbolic link out of the store (to ${real}); tranche never follows one`,
      });
    return readFile(real).catch(notThere);
  }

  async unsafeEntries(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      for (const entry of await unlessMissing(readdir(this.where(relative), { withFileTypes: true }), [])) {
        const path = `${relative}${entry.name}`;
        if (entry.isDirectory()) await walk(`${path}/`);
        if (!entry.isSymbolicLink()) continue;
        const real = await realpath(this.where(path)).catch(() => null);
        if (real === null || !this._holds(real))
          found.push(`${path}: a symbolic link out of the store (to ${real ?? 'nothing'}); tranche never follows it: remove it`);
      }
    };
    await walk('');
    return found;
  }

  async size(path: string): Promise<number | null> {
    // Synchronous: ingest asks once per file of a build, and each fs/promises call costs thread-pool round trips.
    // lstat: a symbolic link where a blob should be is the wrong size, so the next release replaces it with the blob.
    try {
      return lstatSync(this.where(path)).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      const entries = await unlessMissing(readdir(this.where(relative), { withFileTypes: true }), []);
      for (const entry of entries) {
        if (entry.name.startsWith('.') || isTempName(entry.name)) continue;
        if (entry.isDirectory()) await walk(`${relative}${entry.name}/`);
        else if (entry.isFile()) out.push(`${relative}${entry.name}`);
      }
    };
    await walk(prefix);
    return out.sort();
  }

  async sizes(prefix: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const path of await this.list(prefix)) {
      const size = await this.size(path);
      if (size !== null) out.set(path, size);
    }
    return out;
  }

  async put(path: string, data: string | Uint8Array, { durable = true, replaces }: PutOptions = {}): Promise<void> {
    const file = this.where(path);
    if (replaces !== undefined) await this._checkUnchanged(path, replaces);
    if (!durable) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      try {
        writeBlobSync(file, bytes);
      } catch (err) {
        if (!isMissing(err)) throw err;
        await mkdir(dirname(file), { recursive: true });
        writeBlobSync(file, bytes);
      }
      return;
    }
    await mkdir(dirname(file), { recursive: true });
    await writeFileAtomic(file, data);
  }

  async create(path: string, data: string | Uint8Array): Promise<boolean> {
    if ((await this.size(path)) !== null) return false;
    const file = this.where(path);
    await mkdir(dirname(file), { recursive: true });
    await removeStaleTemps(dirname(file));
    await writeFileAtomic(file, data);
    return true;
  }

  /** Appends and fsyncs `line`, first cutting a torn last line (a crash mid-append) so it never glues onto the new one. */
  async append(path: string, line: string): Promise<void> {
    const file = this.where(path);
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, 'a+');
    try {
      const { size } = await handle.stat();
      const keep = await committedLength(handle, size);
      if (keep < size) await handle.truncate(keep);
      await handle.appendFile(line);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The file may be new: its directory entry must be durable before anything written after it.
    await fsyncDir(dirname(file));
  }

  async exclusive<T>(fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    // A new store's first change may come before any release made its directory (`tranche shared`).
    await mkdir(this.root, { recursive: true });
    return withLock(
      join(this.root, '.tranche.lock'),
      async () => {
        // Blobs are written outside the lock (ingest.ts), so a killed release leaves its temps in files/.
        for (const dir of STALE_TEMP_DIRS) await removeStaleTemps(this.where(dir));
        return fn();
      },
      timeoutMs,
    );
  }

  /** True when the real path `real` lies in the store (whose own directory may be reached through a link). */
  private _holds(real: string): boolean {
    this._realRoot ??= realpathSync(this.root);
    const rel = relative(this._realRoot, real);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep);
  }

  private async _checkUnchanged(path: string, expected: Uint8Array | null): Promise<void> {
    const current = await this.read(path);
    const same = current === null || expected === null ? current === expected : Buffer.compare(current, expected) === 0;
    if (!same)
      throw new TrancheError('conflict', { what: this.where(path), reason: 'changed by another writer meanwhile; run the command again' });
  }
}

async function committedLength(handle: FileHandle, size: number): Promise<number> {
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
