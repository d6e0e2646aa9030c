/**
 * A fake service worker global scope for the worker's unit tests: tranche's listeners are added
 * to it by the real entry point (sw/install.ts, which `installTranche` runs on `self`), and a
 * test dispatches install, activate, fetch and message events to them as the browser would,
 * waiting for what each event was kept alive for.
 */
import type { FetchEventLike, LifecycleEvent, MessageEventLike, WorkerScope } from '../../sw/install.js';
import { ORIGIN } from './fakePlatform.js';

type Listener = (event: never) => void;

/** A message posted to the worker, and what came back. */
export interface PostedMessage {
  readonly replies: unknown[];
  readonly reply: Promise<unknown>;
  keptAlive: boolean;
}

/** The scope and what the browser would do with it. */
export class FakeScope implements WorkerScope {
  readonly registration = { scope: `${ORIGIN}/` };
  /** How many times the worker asked to skip waiting / claim the open pages. */
  skippedWaiting = 0;
  claimed = 0;
  readonly clients = { claim: async () => void this.claimed++, get: (id: string) => this._page(id).created };
  /** What the last fetch event was kept alive for. */
  fetchKeptFor: Promise<unknown>[] = [];
  private readonly _listeners = new Map<string, Listener[]>();
  /** Pages by client id: `clients.get` waits for one still loading, as a browser's does. */
  private readonly _pages = new Map<string, { created: Promise<{ id: string }>; create: () => void }>();

  async skipWaiting(): Promise<void> {
    this.skippedWaiting++;
  }

  /** The page `id` (a navigation's `resultingClientId`) is created: it is a client now. */
  createPage(id: string): void {
    this._page(id).create();
  }

  private _page(id: string): { created: Promise<{ id: string }>; create: () => void } {
    let page = this._pages.get(id);
    if (!page) {
      let create = (): void => undefined;
      const created = new Promise<{ id: string }>((resolve) => (create = () => resolve({ id })));
      page = { created, create };
      this._pages.set(id, page);
    }
    return page;
  }

  addEventListener(type: string, listener: Listener): void {
    this._listeners.set(type, [...(this._listeners.get(type) ?? []), listener]);
  }

  /** Dispatches `install` and resolves once what it waited for is done (rejects as the install would fail). */
  install(): Promise<void> {
    return this._lifecycle('install');
  }

  /** Dispatches `activate` and resolves once what it waited for is done. */
  activate(): Promise<void> {
    return this._lifecycle('activate');
  }

  /**
   * Dispatches a fetch event for `request` from client `clientId` (a navigation's new client:
   * `resultingClientId`). Returns the worker's answer, or null when no listener answered (the
   * browser goes to the network).
   */
  fetch(request: Request, clientId = '', resultingClientId = ''): Promise<Response> | null {
    let answer: Promise<Response> | null = null;
    const kept: Promise<unknown>[] = [];
    this.fetchKeptFor = kept;
    const event: FetchEventLike = {
      request,
      clientId,
      resultingClientId,
      respondWith: (response) => void (answer = response),
      waitUntil: (work) => void kept.push(work),
    };
    this._dispatch('fetch', event);
    return answer;
  }

  /**
   * Posts `data` from client `clientId` with a reply port, as `ServiceWorker.postMessage` does.
   * `replies` is what the worker posted on the port so far, `reply` the first of them; `keptAlive`
   * whether the listener kept the worker alive for the message (it does for every page message).
   */
  post(data: unknown, clientId = 'page-1'): PostedMessage {
    const replies: unknown[] = [];
    let replied: (reply: unknown) => void = () => undefined;
    const reply = new Promise<unknown>((resolve) => (replied = resolve));
    const posted: PostedMessage = { replies, reply, keptAlive: false };
    const port = {
      postMessage: (message: unknown) => {
        replies.push(message);
        replied(message);
      },
    };
    const event: MessageEventLike = {
      data,
      source: { id: clientId, postMessage: () => replies.push(new Error('replied to the client, not to the port')) },
      ports: [port],
      waitUntil: () => void (posted.keptAlive = true),
    };
    this._dispatch('message', event);
    return posted;
  }

  /** Posts `data` from client `clientId` (see `post`) and resolves to the worker's reply. */
  ask(data: unknown, clientId = 'page-1'): Promise<unknown> {
    return this.post(data, clientId).reply;
  }

  private async _lifecycle(type: 'install' | 'activate'): Promise<void> {
    const kept: Promise<unknown>[] = [];
    const event: LifecycleEvent = { waitUntil: (work) => void kept.push(work) };
    this._dispatch(type, event);
    await Promise.all(kept);
  }

  private _dispatch(type: string, event: unknown): void {
    for (const listener of this._listeners.get(type) ?? []) listener(event as never);
  }
}
