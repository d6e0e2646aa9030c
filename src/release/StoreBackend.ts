/**
 * The one seam between the release verbs and where a store's bytes live, as the worker's Adapter
 * is between the worker and the browser. Every verb (release, publish, verify, history, keys, the
 * store handler, copy) reads and writes through it; a local directory (DirectoryBackend) and an
 * S3-compatible bucket (S3Backend) implement it. Paths are store-relative (storeLayout.ts).
 *
 * What a backend promises, which is what the verbs' crash consistency rests on:
 * - `put` replaces a document atomically: a reader sees the old bytes or the new, never a mix.
 *   With `durable`, the new bytes survive a crash once it resolves (a blob is written without,
 *   see ingest.ts). With `replaces`, it is conditional: it fails with `conflict` unless the
 *   document still holds exactly those bytes (`null`: unless there is none).
 * - `create` writes a document only if there is none, durably; false when one was there.
 * - `append` adds a line durably, after cutting a torn last line left by a crash.
 * - `list` names only complete documents (never a temp file of a killed writer).
 * - `read` never follows a link out of the store: it fails with `unsafe-path` (storeHandler
 *   answers 404, `verify` reports it).
 * - `exclusive` runs its function as the store's only writer; under it, the mutating verbs write
 *   history, then keys and records, then the manifest last, so a crash anywhere leaves a store
 *   `verify` accepts.
 */

/** Options of {@link StoreBackend.put}. */
export interface PutOptions {
  /** Survive a crash once resolved (fsync, or the server's acknowledgement). @default true */
  durable?: boolean;
  /** Replace only if the document still holds these bytes; `null`: only if there is none. */
  replaces?: Uint8Array | null;
  /** The Content-Type to serve it with (a file's type from its record). @default the kind's type */
  type?: string;
}

/** Where a store's documents live. */
export interface StoreBackend {
  /** Where the store is, for messages: a directory, or `s3://bucket/prefix`. */
  readonly location: string;
  /** Where the document at `path` is, for messages: a file path or an object URL. */
  where(path: string): string;
  /** The bytes at `path`, or null when there is no such document. */
  read(path: string): Promise<Uint8Array | null>;
  /** The size of the document at `path`, or null when there is none. */
  size(path: string): Promise<number | null>;
  /** The paths of every document under `prefix` (e.g. `records/`), sorted. */
  list(prefix: string): Promise<string[]>;
  /** The size of every document under `prefix`, by path: one listing where a bucket's gives sizes. */
  sizes(prefix: string): Promise<Map<string, number>>;
  put(path: string, data: string | Uint8Array, options?: PutOptions): Promise<void>;
  create(path: string, data: string | Uint8Array): Promise<boolean>;
  append(path: string, line: string): Promise<void>;
  exclusive<T>(fn: () => Promise<T>, timeoutMs?: number): Promise<T>;
  /**
   * What `read` refuses to follow, one line each naming its path (a directory's symbolic links
   * that lead out of the store), for `verify`. A bucket has none and leaves it out.
   */
  unsafeEntries?(): Promise<string[]>;
}

/** `bytes` decoded as UTF-8. */
export function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** The text of the document at `path` (UTF-8), or null when there is none. */
export async function readText(backend: StoreBackend, path: string): Promise<string | null> {
  const bytes = await backend.read(path);
  return bytes === null ? null : utf8(bytes);
}
