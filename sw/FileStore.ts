/**
 * Content-addressed file bytes in one Cache Storage cache, keyed by the store URL of the
 * bytes (`<store>/files/<sha256>`): identical bytes are stored once across versions and
 * modules. A blob is written only after its hash was verified, and no page reads a blob
 * until a committed version references it, so a half-staged version can never be served.
 */
import type { FileEntry } from '../src/core/manifest.js';
import { IMMUTABLE_CACHE } from '../src/core/immutableCache.js';
import type { Adapter, BlobCache } from './Adapter.js';
import { downloadVerified } from './download.js';
import { RecentBlobs } from './RecentBlobs.js';

/**
 * Bytes of served files kept in memory (sw/RecentBlobs.ts): several snapshots' worth of a
 * large app's code, small next to what a browser holds for one tab.
 */
const RECENT_BYTES = 16 * 1024 * 1024;

/**
 * The response pages get for `file` of `label` (module@version), with `body` its bytes; its
 * ETag is the bytes' hash, by which the bytes of a copy answered at start are kept in memory too (Driver `startedCopy`).
 */
function answerOf(body: Blob, file: FileEntry, label: string): Response {
  const headers = { 'content-type': file.type, 'cache-control': IMMUTABLE_CACHE, etag: `"${file.sha256}"`, 'x-tranche-module': label };
  return new Response(body, { headers });
}

/** The verified blobs of every staged version. */
export class FileStore {
  private _cache: Promise<BlobCache> | null = null;
  private readonly _recent = new RecentBlobs(RECENT_BYTES);
  /** Reads in flight, so that a burst of requests for one file reads it once. */
  private readonly _reading = new Map<string, Promise<Blob>>();
  /** The listing of stored blobs in flight (`stored`), or null. */
  private _listing: Promise<Set<string>> | null = null;

  /** `cacheName`: this app's files cache (sw/storageNames.ts). */
  constructor(
    private readonly _adapter: Adapter,
    private readonly _storeBase: string,
    private readonly _cacheName: string,
  ) {}

  /** Where the store serves the bytes with this hash (also their key in the cache). */
  urlOf(sha256: string): string {
    return `${this._storeBase}files/${sha256}`;
  }

  /**
   * Hashes of every stored blob. Callers while a listing is under way share it (modules staged
   * together list the cache once, not once each): a blob stored since it started is missing
   * from it, so at worst downloaded again or kept until the next clean-up.
   */
  stored(): Promise<Set<string>> {
    this._listing ??= this._list().finally(() => (this._listing = null));
    return this._listing;
  }

  private async _list(): Promise<Set<string>> {
    const prefix = `${this._storeBase}files/`;
    const keys = await (await this._open()).keys();
    return new Set(
      keys
        .map((k) => k.url)
        .filter((url) => url.startsWith(prefix))
        .map((url) => url.slice(prefix.length)),
    );
  }

  /** Stores bytes whose hash the caller has verified. */
  async put(sha256: string, bytes: ArrayBuffer): Promise<void> {
    await (await this._open()).put(this.urlOf(sha256), new Response(bytes, { headers: { 'content-length': String(bytes.byteLength) } }));
  }

  /** Deletes the blobs with these hashes. */
  async delete(hashes: Iterable<string>): Promise<void> {
    const cache = await this._open();
    await Promise.all(
      [...hashes].map((sha) => {
        this._recent.delete(sha);
        return cache.delete(this.urlOf(sha));
      }),
    );
  }

  /**
   * The response for one file of a committed version, with the record's content type and a
   * header naming module@version. Recently served bytes come from memory; a blob missing from
   * the cache (evicted by hand or by the browser) is fetched again from the store and verified,
   * never served unchecked.
   */
  async respond(file: FileEntry, label: string): Promise<Response> {
    return this.recalled(file, label) ?? answerOf(await this._read(file, label), file, label);
  }

  /** The response for `file` of `label` from the bytes kept in memory, or null. */
  recalled(file: FileEntry, label: string): Response | null {
    const blob = this._recent.get(file.sha256);
    return blob ? answerOf(blob, file, label) : null;
  }

  /** Keeps `blob`, the verified bytes with hash `sha256`, in memory. */
  keep(sha256: string, blob: Blob): void {
    this._recent.set(sha256, blob);
  }

  /**
   * The same response made from the stored blob, without keeping its bytes in memory (copying
   * a version's files must not push out what pages load); downloaded again when it went missing.
   */
  async storedResponse(file: FileEntry, label: string): Promise<Response> {
    const hit = await (await this._open()).match(this.urlOf(file.sha256));
    return answerOf(hit ? await hit.blob() : await this._read(file, label), file, label);
  }

  private _read(file: FileEntry, label: string): Promise<Blob> {
    let reading = this._reading.get(file.sha256);
    if (!reading) {
      reading = this._load(file, label).finally(() => this._reading.delete(file.sha256));
      this._reading.set(file.sha256, reading);
    }
    return reading;
  }

  private async _load(file: FileEntry, label: string): Promise<Blob> {
    const hit = await (await this._open()).match(this.urlOf(file.sha256));
    let blob: Blob;
    if (hit) blob = await hit.blob();
    else {
      const bytes = await downloadVerified(this._adapter, this.urlOf(file.sha256), file.sha256, `${label} ${file.path}`);
      await this.put(file.sha256, bytes);
      blob = new Blob([bytes]);
    }
    this._recent.set(file.sha256, blob);
    return blob;
  }

  private _open(): Promise<BlobCache> {
    this._cache ??= this._adapter.openCache(this._cacheName);
    return this._cache;
  }
}
