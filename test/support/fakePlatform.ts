/**
 * A fake service-worker platform for Node unit tests of the worker logic (sw/Adapter.ts).
 * It serves a release store directory over a fake origin, keeps Cache Storage and IndexedDB
 * (fake-indexeddb) across simulated worker restarts, moves time only when told, and lets a
 * test intercept any request (cut it, corrupt it, count it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
// idb checks values with `instanceof IDBRequest` and friends: the fake's classes must be global.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import type { Adapter, BlobCache, ClientLike, StorageEstimateLike } from '../../sw/Adapter.js';
import { MAX_TIMER_MS } from '../../sw/clock.js';
import { storageNames } from '../../sw/storageNames.js';

/** The fake origin; the store is served under `/store/`. */
export const ORIGIN = 'https://app.test';
export const STORE_URL = `${ORIGIN}/store/`;
export const MANIFEST_URL = `${STORE_URL}manifest.json`;

/** A test's hook on a request: return a Response (or throw) to replace what the store serves. */
export type RequestHook = (url: URL, init: RequestInit | undefined) => Response | undefined | Promise<Response | undefined>;

class FakeCache implements BlobCache {
  readonly entries = new Map<string, { body: ArrayBuffer; headers: [string, string][] }>();
  constructor(private readonly _platform: FakePlatform) {}
  async match(url: string): Promise<Response | undefined> {
    const hit = this.entries.get(url);
    return hit && new Response(hit.body.slice(0), { headers: hit.headers });
  }
  async put(url: string, response: Response): Promise<void> {
    const body = await response.arrayBuffer();
    this._platform.onCachePut?.(url);
    this.entries.set(url, { body, headers: [...response.headers] });
  }
  async delete(url: string): Promise<boolean> {
    return this.entries.delete(url);
  }
  async keys(): Promise<{ url: string }[]> {
    return [...this.entries.keys()].map((url) => ({ url }));
  }
}

/** A posted message log per fake client. */
export interface FakeClient extends ClientLike {
  messages: unknown[];
}

/** The fake platform: one per test, shared by every Driver "restart" in it. */
export class FakePlatform implements Adapter {
  readonly indexedDB = new IDBFactory();
  readonly caches = new Map<string, FakeCache>();
  /** Every URL fetched, in order. */
  readonly requests: string[] = [];
  readonly clientList: FakeClient[] = [];
  hook: RequestHook | null = null;
  onCachePut: ((url: string) => void) | null = null;
  estimate: StorageEstimateLike = { usage: 0, quota: 1e9 };
  unregistered = false;
  /** How many timers have fired. */
  timersFired = 0;
  private _time = Date.now();
  private _timers: { id: number; at: number; fn: () => void }[] = [];
  private _nextTimer = 1;
  private _ids = 0;

  constructor(private readonly _storeDir: string) {}

  now(): number {
    return this._time;
  }
  /**
   * As a browser's: a delay above 2^31−1 ms (or not a number) runs at once, which is what makes
   * an unclamped long delay a busy loop.
   */
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this._nextTimer++;
    this._timers.push({ id, at: this._time + (ms <= MAX_TIMER_MS ? Math.max(0, ms) : 0), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this._timers = this._timers.filter((t) => t.id !== handle);
  }
  /** A real task later: it does not wait for the fake clock. */
  nextTask(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const until = this._time + ms;
    for (;;) {
      const due = this._timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this._timers = this._timers.filter((t) => t !== due);
      this._time = Math.max(this._time, due.at);
      this.timersFired++;
      due.fn();
    }
    this._time = until;
  }
  /**
   * The device clock jumps by `ms` (either way) without time passing: timers, which run on a
   * monotonic clock, still fire after the delay they were given.
   */
  jumpClock(ms: number): void {
    this._time += ms;
    for (const timer of this._timers) timer.at += ms;
  }

  async fetch(input: Request | string, init?: RequestInit): Promise<Response> {
    const url = new URL(typeof input === 'string' ? input : input.url);
    this.requests.push(url.href);
    const hooked = await this.hook?.(url, init);
    if (hooked) return hooked;
    if (!url.href.startsWith(STORE_URL)) return new Response('not found', { status: 404 });
    const path = decodeURIComponent(url.pathname.slice(new URL(STORE_URL).pathname.length));
    try {
      return new Response(await readFile(join(this._storeDir, ...path.split('/'))));
    } catch {
      return new Response('not found', { status: 404 });
    }
  }

  async openCache(name: string): Promise<BlobCache> {
    let cache = this.caches.get(name);
    if (!cache) this.caches.set(name, (cache = new FakeCache(this)));
    return cache;
  }
  async deleteCache(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }
  async clients(): Promise<readonly ClientLike[]> {
    return this.clientList;
  }
  /** Opens a fake window (or worker) client that records what is posted to it. */
  addClient(id: string, type = 'window'): FakeClient {
    const client: FakeClient = { id, type, url: `${ORIGIN}/`, messages: [], postMessage: (m) => client.messages.push(m) };
    this.clientList.push(client);
    return client;
  }
  removeClient(id: string): void {
    const at = this.clientList.findIndex((c) => c.id === id);
    if (at >= 0) this.clientList.splice(at, 1);
  }
  async storageEstimate(): Promise<StorageEstimateLike> {
    return this.estimate;
  }
  async unregister(): Promise<boolean> {
    this.unregistered = true;
    return true;
  }
  randomId(): string {
    return `id-${++this._ids}-${Math.random().toString(36).slice(2)}`;
  }

  /** URLs of blobs in the files cache. */
  storedFiles(): string[] {
    return [...(this.caches.get(storageNames('').filesCache)?.entries.keys() ?? [])];
  }
  /** How many times `url` (ignoring the query) was fetched. */
  fetchCount(url: string): number {
    return this.requests.filter((r) => r.split('?')[0] === url).length;
  }
}
