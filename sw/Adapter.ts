/**
 * The platform, as the worker logic sees it. Everything the runtime needs from the browser
 * comes through this one seam, so the Driver runs unchanged under Node unit tests (with fakes,
 * test/support/fakePlatform.ts) and for real in a service worker (sw/browserAdapter.ts).
 * The types here exist in both the DOM and WebWorker libs on purpose: files that import only
 * this seam type-check in either.
 */

/** The few Cache methods tranche uses; a real `Cache` satisfies it. */
export interface BlobCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean>;
  keys(): Promise<ReadonlyArray<{ readonly url: string }>>;
}

/** A page or worker the service worker controls; a real `Client` satisfies it. */
export interface ClientLike {
  readonly id: string;
  readonly type: string;
  readonly url: string;
  postMessage(message: unknown): void;
}

/** Storage use as `navigator.storage.estimate()` reports it (bytes). */
export interface StorageEstimateLike {
  usage?: number;
  quota?: number;
}

/** The platform seam. */
export interface Adapter {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `fn` after `ms`; timers die with the worker, so nothing may rely on them firing. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Resolves in a later task, whatever the clock: work that must not delay the answer being
   * built now (keeping copies, persisting a snapshot) waits for it.
   */
  nextTask(): Promise<void>;
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
  openCache(name: string): Promise<BlobCache>;
  deleteCache(name: string): Promise<boolean>;
  /** The IndexedDB factory (`indexedDB` in a worker, fake-indexeddb in tests). */
  readonly indexedDB: IDBFactory;
  /** Every client of this origin the worker can see, windows and workers, controlled or not. */
  clients(): Promise<readonly ClientLike[]>;
  storageEstimate(): Promise<StorageEstimateLike>;
  /** Unregisters this service worker. */
  unregister(): Promise<boolean>;
  /** A random UUID (anonymous client ids, snapshot nonces). */
  randomId(): string;
}
