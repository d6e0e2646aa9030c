/**
 * The `precache` option of `installTranche`: the app shell's scripts and styles, stored by
 * workbox-precaching while the worker installs and answered from there, so a shell whose HTML
 * comes from tranche's own copy (Shell.ts) also finds its assets offline. Precache only, with
 * no workbox route: a route registered for `/` would answer navigations without the page's
 * import map and snapshot.
 *
 * A redeployed shell: the pages of the previous build still import its hashed files lazily after
 * the new worker took over, and the server may no longer have them. Where workbox-precaching
 * deletes every file its new list drops when the worker activates, these files are kept as a
 * retired generation, with the clients (pages, workers) open at that activation, and answered
 * from the cache for as long as one of those clients lives, as Angular's service worker keeps an
 * app version for the clients still on it. The first activation after the last of them closed
 * deletes them. A URL neither listed nor retired goes to the network.
 */
import { PrecacheController } from 'workbox-precaching';
import type { PrecacheEntry } from './options.js';

declare const self: ServiceWorkerGlobalScope;

/** Answers a request the shell's precache holds, or null to leave it to the network. */
export type PrecacheAnswer = (request: Request) => Promise<Response> | null;

/** The files of one retired list and the clients open when it was retired. */
interface Generation {
  clients: string[];
  /** URL -> its key in the precache cache. */
  files: Record<string, string>;
}

/** Where the retired generations are stored: in the precache cache itself, under the worker's scope. */
const RETIRED = '__tranche-retired-precache.json';
/** workbox-precaching's search parameter for a URL's revision in a cache key. */
const REVISION_PARAM = '__WB_REVISION__';
/** Requests that wait, at a worker start, for the retired list to be read: what a page of an older build may import. */
const SHELL_FILES = new Set(['script', 'style']);

/** Precaches `entries` on install, retires what the previous list had on activate; returns what answers GET requests. */
export function installPrecache(entries: readonly PrecacheEntry[]): PrecacheAnswer {
  if (entries.length === 0) return () => null;
  const controller = new PrecacheController();
  controller.addToCacheList([...entries]);
  const cacheName = controller.strategy.cacheName;
  const stored = new URL(RETIRED, self.registration.scope).href;
  /** URL -> cache key of every retired file, once read. */
  let retired: Map<string, string> | null = null;
  const remember = (keys: readonly string[]) => (retired = new Map(keys.map((key) => [urlOf(key), key])));

  // What the cache holds beyond this list: the retired generations and, until this worker's
  // activation retires them, the previous list's files (Chromium may send an activating worker
  // a page's requests before its activate event).
  let reading: Promise<unknown> = self.caches
    .open(cacheName)
    .then(async (cache) => {
      const listed = new Set(controller.getURLsToCacheKeys().values());
      remember((await cache.keys()).map((request) => request.url).filter((key) => key !== stored && !listed.has(key)));
    })
    .catch(() => remember([]));

  async function generationsIn(cache: Cache): Promise<Generation[]> {
    const response = await cache.match(stored);
    return response ? ((await response.json()) as Generation[]) : [];
  }

  /** Keeps the generations a live client may still use, retires what this list dropped, deletes the rest. */
  async function retire(): Promise<void> {
    const cache = await self.caches.open(cacheName);
    const listed = new Set(controller.getURLsToCacheKeys().values());
    const open = new Set((await self.clients.matchAll({ includeUncontrolled: true, type: 'all' })).map((c) => c.id));
    const generations = await generationsIn(cache);
    const kept = generations.filter((g) => g.clients.some((id) => open.has(id)));
    const keep = new Set([stored, ...listed, ...kept.flatMap((g) => Object.values(g.files))]);
    const dropped = (await cache.keys()).filter((request) => !keep.has(request.url));
    // The previous list's files: what no generation holds (those of generations whose clients are gone go).
    const expired = new Set(generations.flatMap((g) => Object.values(g.files)));
    const previous = dropped.filter((request) => !expired.has(request.url));
    if (previous.length && open.size)
      kept.push({ clients: [...open], files: Object.fromEntries(previous.map((request) => [urlOf(request.url), request.url])) });
    await cache.put(stored, new Response(JSON.stringify(kept), { headers: { 'content-type': 'application/json' } }));
    const files = kept.flatMap((g) => Object.values(g.files));
    remember(files);
    await Promise.all(dropped.filter((request) => !files.includes(request.url)).map((request) => cache.delete(request)));
  }

  /** A retired file from the cache (the network if it went missing), or null when `url` is not retired. */
  function fromRetired(request: Request): Promise<Response> | null {
    const key = retired?.get(request.url);
    if (!key) return null;
    return self.caches.match(key, { cacheName }).then((cached) => cached ?? fetch(request));
  }

  self.addEventListener('install', (event) => void controller.install(event));
  self.addEventListener('activate', (event) => {
    // After the first read, which would otherwise undo what this activation retires. On a failure
    // the files stay, answered as before, and the next activation retires them.
    reading = reading.then(retire).catch((err) => console.error('tranche: retiring the previous precache list failed:', err));
    event.waitUntil(reading);
  });

  return (request) => {
    if (request.mode === 'navigate' || request.method !== 'GET') return null;
    if (controller.getCacheKeyForURL(request.url)) return controller.matchPrecache(request).then((cached) => cached ?? fetch(request));
    if (retired) return fromRetired(request);
    // The worker just started and has not read its retired list yet: a page's script waits for it.
    if (!SHELL_FILES.has(request.destination) || new URL(request.url).origin !== self.location.origin) return null;
    return reading.then(() => fromRetired(request) ?? fetch(request));
  };
}

/** The URL a precache cache key stands for. */
function urlOf(cacheKey: string): string {
  const url = new URL(cacheKey);
  url.searchParams.delete(REVISION_PARAM);
  return url.href;
}
