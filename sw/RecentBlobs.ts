/**
 * The bytes of recently served module files, kept in memory as Blobs. Answering from Cache
 * Storage costs a lookup and streams the body through the worker's JavaScript, which made
 * tranche about 15% slower than a worker that hands `caches.match` results back as they are
 * (`npm run bench`); a response made from a Blob needs neither. What pages load again and
 * again (the current snapshot's files) stays; past the byte budget the least recently served
 * go first.
 */

/** Blobs by key, least recently used first, at most `budget` bytes in all. */
export class RecentBlobs {
  private readonly _blobs = new Map<string, Blob>();
  private _bytes = 0;

  constructor(private readonly _budget: number) {}

  /** The blob under `key`, now the most recently used, or undefined. */
  get(key: string): Blob | undefined {
    const blob = this._blobs.get(key);
    if (blob) {
      this._blobs.delete(key);
      this._blobs.set(key, blob);
    }
    return blob;
  }

  /** Keeps `blob` under `key`, dropping the least recently used past the budget. */
  set(key: string, blob: Blob): void {
    this.delete(key);
    if (blob.size > this._budget) return;
    this._blobs.set(key, blob);
    this._bytes += blob.size;
    for (const oldest of this._blobs.keys()) {
      if (this._bytes <= this._budget) break;
      this.delete(oldest);
    }
  }

  /** Forgets the blob under `key`, if any. */
  delete(key: string): void {
    const blob = this._blobs.get(key);
    if (!blob) return;
    this._blobs.delete(key);
    this._bytes -= blob.size;
  }
}
