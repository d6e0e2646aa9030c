/**
 * Each committed version's files once more, as whole responses under the module URLs pages ask
 * for, beside a marker holding the worker's condition: a worker the browser starts for a
 * versioned module URL answers it with one Cache Storage lookup, as a bare `caches.match`
 * worker does, before it has opened its database or read its state (docs/architecture.md,
 * "A worker's start"). Opening IndexedDB, reading the condition and the version's row, then the
 * blob by its hash made a page load after a pause (browsers stop idle workers after about 30 s)
 * wait about twice as long as a bare worker's (`npm run bench`, "worker start").
 *
 * The copies follow the version rows, never the other way round: a version's copies are written
 * once it is committed (its blobs verified), deleted before clean-up forgets its row, and put
 * right by `reconcile` after each clean-up, so a worker stopped halfway, or an older worker's
 * state without copies, only sends requests the long way (`FileStore`) until then. The marker is
 * written with every change of condition or confirmation; without one, nothing is answered here.
 */
import { releaseKey, type FileEntry } from '../src/core/manifest.js';
import { versionDirUrl } from '../src/core/moduleUrl.js';
import type { WorkerCondition } from '../src/core/protocol.js';
import type { Adapter, BlobCache } from './Adapter.js';
import { servesWithin } from './clock.js';
import type { FileStore } from './FileStore.js';

/** The marker's headers. */
const CONDITION = 'x-tranche-condition';
const CONFIRMED = 'x-tranche-confirmed';

/** A committed version, as far as its copies go. */
export interface CopiedVersion {
  module: string;
  version: string;
  files: readonly FileEntry[];
}

/** The copies of one app's committed versions, and its condition marker. */
export class ModuleCopies {
  private _cache: Promise<BlobCache> | null = null;
  /** The marker as last read or written by this worker (it changes only through `mark`). */
  private _marker: Promise<Response | undefined> | null = null;

  /** `cacheName`: this app's copies cache (sw/storageNames.ts); `moduleBase`: where module URLs start. */
  constructor(
    private readonly _adapter: Adapter,
    private readonly _cacheName: string,
    private readonly _moduleBase: string,
    private readonly _maxManifestAgeMs: number,
  ) {}

  /** Opens the cache now: a started worker's first answer needs it. */
  open(): void {
    this._open().catch(() => undefined); // met again by the first lookup
  }

  /**
   * The copy stored for `url`, when the marker says the worker serves (not switched off, its
   * manifest confirmed within `maxManifestAgeMs`); else null, and the request goes the long way.
   */
  async answer(url: string): Promise<Response | null> {
    const cache = await this._open();
    this._marker ??= cache.match(this._markerUrl());
    const [copy, marker] = await Promise.all([cache.match(url), this._marker]);
    if (!copy || !marker) return null;
    const condition = marker.headers.get(CONDITION) as WorkerCondition | null;
    const confirmed = marker.headers.get(CONFIRMED);
    if (condition === null || condition === 'DISABLED') return null;
    return servesWithin(confirmed === null ? undefined : Number(confirmed), this._adapter.now(), this._maxManifestAgeMs) ? copy : null;
  }

  /** The copy of `file` of module@version, or undefined (the caller knows the worker serves it). */
  match(module: string, version: string, file: FileEntry): Promise<Response | undefined> {
    return this.matchUrl(versionDirUrl(this._moduleBase, module, version) + file.path);
  }

  /** The copy stored for `url`, or undefined (the caller knows the worker serves it). */
  async matchUrl(url: string): Promise<Response | undefined> {
    return (await this._open()).match(url);
  }

  /** Records the worker's condition and when its manifest was last confirmed (undefined: never), for `answer`. */
  async mark(condition: WorkerCondition, confirmed: number | undefined): Promise<void> {
    const headers: Record<string, string> = { [CONDITION]: condition };
    if (confirmed !== undefined) headers[CONFIRMED] = String(confirmed);
    const marker = new Response(null, { headers });
    this._marker = Promise.resolve(marker);
    await (await this._open()).put(this._markerUrl(), marker.clone());
  }

  /** Stores the copies of a committed version's files, from its verified blobs in `files`. */
  async add(version: CopiedVersion, files: FileStore): Promise<void> {
    const cache = await this._open();
    await Promise.all(
      version.files.map(async (file) => {
        const response = await files.storedResponse(file, releaseKey(version.module, version.version));
        await cache.put(this._urlOf(version, file), response);
      }),
    );
  }

  /** Deletes the copies of these versions. */
  async delete(versions: readonly CopiedVersion[]): Promise<void> {
    const cache = await this._open();
    await Promise.all(versions.flatMap((v) => v.files.map((file) => cache.delete(this._urlOf(v, file)))));
  }

  /**
   * Makes the copies those of `committed` exactly: deletes any other (left by a worker stopped
   * between a row's removal and its copies', or by a version that failed to copy) and adds the
   * missing ones. A blob that went missing is left to the long way, which downloads it again.
   */
  async reconcile(committed: readonly CopiedVersion[], files: FileStore): Promise<void> {
    const cache = await this._open();
    const wanted = new Map(committed.flatMap((v) => v.files.map((file) => [this._urlOf(v, file), v] as const)));
    const present = new Set((await cache.keys()).map((request) => request.url));
    const marker = this._markerUrl();
    await Promise.all([...present].filter((url) => url !== marker && !wanted.has(url)).map((url) => cache.delete(url)));
    const missing = committed.filter((v) => v.files.some((file) => !present.has(this._urlOf(v, file))));
    await Promise.all(missing.map((v) => this.add(v, files).catch(() => undefined)));
  }

  private _urlOf({ module, version }: CopiedVersion, file: FileEntry): string {
    return versionDirUrl(this._moduleBase, module, version) + file.path;
  }

  /** Under the module base, where no module URL can be (module names start with a letter or digit). */
  private _markerUrl(): string {
    return `${this._moduleBase}.condition`;
  }

  private _open(): Promise<BlobCache> {
    this._cache ??= this._adapter.openCache(this._cacheName);
    return this._cache;
  }
}
