/**
 * What an app passes to `installTranche`, and the same options resolved once (absolute URLs,
 * defaults filled in, each value checked) into `ResolvedOptions` for the rest of the runtime.
 */
import { TrancheError } from '../src/core/TrancheError.js';
import { optionProblem } from '../src/core/optionProblem.js';
import { isPathPrefix } from '../src/core/moduleUrl.js';
import { PACKAGE_NAME, isVersion } from '../src/core/names.js';
import { DEFAULT_MODULE_PREFIX } from '../src/core/attribution.js';
import type { RolledBackEvent } from '../src/core/clientMessages.js';
import { resolveFallbackPolicy, type FallbackPolicyOptions, type ResolvedFallbackPolicy } from '../src/core/fallbackPolicy.js';
import type { Snapshot, WorkerEvent } from '../src/core/protocol.js';
import { MAX_BATCH_EVENTS } from '../src/core/telemetry.js';
import { defaultNamespace, storageNames, type StorageNames } from './storageNames.js';

/** The exposure event: a page load was pinned to a snapshot. Goes to `onEvent` only, never to pages. */
export interface SnapshotPinnedEvent {
  type: 'SNAPSHOT_PINNED';
  clientId: string;
  snapshot: Snapshot;
}
/** A page load called `ready()`: its snapshot's versions booted healthily. For `onEvent` only. */
export interface PageReadyEvent {
  type: 'PAGE_READY';
  clientId: string;
  snapshot: Snapshot;
}
/** Errors of one module@version (null: unattributed) in one report from a page. */
export interface ErrorCount {
  module: string | null;
  version: string | null;
  count: number;
}
/**
 * A page reported errors. Entries naming a version the page does not run, and errors the page
 * only counted (`dropped`), are counted as unattributed. For `onEvent` only.
 */
export interface ErrorsReportedEvent {
  type: 'ERRORS_REPORTED';
  clientId: string;
  counts: ErrorCount[];
}
/** Every event broadcast to pages: the worker protocol's and `ROLLED_BACK`. */
export type BroadcastEvent = WorkerEvent | RolledBackEvent;
/** Everything `onEvent` receives: what pages are told, plus exposures, healthy boots and error reports. */
export type WorkerHookEvent = BroadcastEvent | SnapshotPinnedEvent | PageReadyEvent | ErrorsReportedEvent;

/** Where and how often the worker sends telemetry batches (src/core/telemetry.ts). */
export interface TelemetryOptions {
  /** The collector endpoint batches are POSTed to as JSON, resolved against the worker's location. */
  url: string;
  /**
   * How long stored events wait before they are sent as batches; also the first retry delay
   * of a batch that could not be sent (doubling with each failure, up to one hour).
   * @default 10000 (10 seconds)
   */
  batchIntervalMs?: number;
  /**
   * Most events per batch (at most 500, what a collector accepts).
   * @default 100
   */
  maxBatchEvents?: number;
}

/** How the worker serves app navigations (the HTML it injects each page's snapshot into). */
export interface NavigationOptions {
  /**
   * One URL the app's HTML always comes from (a single-page app's shell, e.g. `'/'`),
   * resolved against the worker's location.
   * @default undefined: each navigation's own URL
   */
  shellUrl?: string;
  /**
   * Which same-origin navigations are app pages the worker serves.
   * @default every navigation inside the worker's scope; never one under `modulePrefix` or the
   * store's `records/`, `files/`, `keys/` and `manifest.json`
   */
  match?: (url: URL) => boolean;
  /**
   * Where the HTML comes from. `'stale-while-revalidate'`: the last good copy at once, refreshed
   * from the network after the answer (and for every kept copy when a new worker installs), so a
   * page gets a changed HTML one navigation late; only a page with no copy waits for the
   * network. `'network-first'`: the network, the copy only when it is down, slow (see
   * `networkTimeoutMs`) or answers 5xx; every navigation then waits for the server.
   * @default 'stale-while-revalidate'
   */
  strategy?: 'stale-while-revalidate' | 'network-first';
  /**
   * With `strategy: 'network-first'`, how long a navigation waits for the network before the
   * cached copy of the HTML is served (only when there is one; without a copy it waits for the
   * network).
   * @default 4000
   */
  networkTimeoutMs?: number;
}

/** Options of `installTranche`. Only `manifestUrl` and `publicKeys` are required. */
export interface TrancheWorkerOptions {
  /**
   * URL of the store's signed `manifest.json`, resolved against the worker's location.
   * Release records and files are fetched relative to it (`records/…`, `files/<sha256>`).
   */
  manifestUrl: string;
  /** Public keys (Ed25519 JWKs) whose signatures are trusted; list several during a key rotation. */
  publicKeys: readonly unknown[];
  /**
   * How often a running worker fetches the manifest. It also does so at start, on
   * navigations (see `navigationCheckThrottleMs`) and when a page asks.
   * @default 300000 (5 minutes)
   */
  checkIntervalMs?: number;
  /**
   * Least time between two manifest checks triggered by navigations.
   * @default 60000 (1 minute)
   */
  navigationCheckThrottleMs?: number;
  /**
   * Previous good versions kept per module, besides the current one and any version an open
   * page still runs.
   * @default 2
   */
  retainVersions?: number;
  /**
   * Path prefix of module URLs: `<prefix><module>/<version>/<file>`. Must start and end with `/`.
   * @default '/modules/'
   */
  modulePrefix?: string;
  /**
   * Navigation handling, or `false` when the app serves its HTML itself (pages then read their
   * snapshot by requesting unversioned module URLs, which pin one on first use).
   * @default {} (see NavigationOptions)
   */
  navigation?: false | NavigationOptions;
  /**
   * How long a QA override (`?tranche=cart@2.0.0` or `SET_OVERRIDE`) stays in force.
   * @default 86400000 (24 hours)
   */
  overrideTtlMs?: number;
  /**
   * Wait before retrying a failed staging; doubles with each consecutive failure of the same
   * version, up to one hour.
   * @default 30000 (30 seconds)
   */
  retryDelayMs?: number;
  /**
   * How long after the last manifest check that succeeded (the manifest accepted or found
   * unchanged) the worker still serves its stored versions. Past it (offline that long, or a
   * manifest rejected that long), navigations and module requests go to the network until a
   * check succeeds again, as Angular's `applicationMaxAge` does: a client never runs code older
   * than this without the store's word that it is still what it should run.
   * @default 2592000000 (30 days)
   */
  maxManifestAgeMs?: number;
  /**
   * The name this app's worker keeps its state under (IndexedDB database `tranche:<namespace>`,
   * caches `tranche-files-v1:<namespace>` and `tranche-shell-v1:<namespace>`), so that several
   * apps on one origin never touch each other's (docs/service-worker.md, "Several apps on one
   * origin"). At most 200 characters.
   * @default '' (the names without a suffix) for a worker whose scope is the origin's root, else
   * the scope's path, such as '/shop/'
   */
  namespace?: string;
  /**
   * How a new version of this worker (the app was redeployed and its worker script changed)
   * takes over. `true`: as soon as it has installed (`skipWaiting()`), it controls every open
   * page of its scope (`clients.claim()`, which also controls a first visit's page at once).
   * Open pages keep the snapshot they were pinned to, so they keep working, and each page's
   * `Tranche` dispatches `worker-updated`. `false`: the browser's default, the new worker waits
   * until no page runs the old one (unless the app's own code calls `skipWaiting()`).
   * @default true
   */
  takeOver?: boolean;
  /**
   * Telemetry hook: called with every event pages are told about, plus one `SNAPSHOT_PINNED`
   * (exposure) per page load. Called synchronously; what it throws or rejects is ignored, so
   * it can never stall a fetch or the worker. Hand slow work (network) to a queue.
   * @default undefined
   */
  onEvent?: (event: WorkerHookEvent) => void | Promise<void>;
  /**
   * Thresholds of automatic fallback: when a module version counts as failed on this client
   * (docs/fallback.md). Each field has its own default.
   * @default {} (bootTimeoutMs 10000, runtimeErrors 3, runtimeWindowMs 60000, retryAfterMs 86400000)
   */
  fallback?: FallbackPolicyOptions;
  /**
   * Sends telemetry batches (exposures, healthy boots, error counts, rollbacks, staging failures,
   * rejected manifests) to a collector. Off unless given.
   * @default undefined (off)
   */
  telemetry?: TelemetryOptions;
  /**
   * The app shell's own files (its scripts and styles) to precache with workbox-precaching
   * when the worker installs, and to answer from that cache: `[{ url, revision }]`, `url`
   * relative to the worker script. The shell's HTML is not needed: navigation handling keeps
   * its own copy of the last good HTML. `false`: precache nothing.
   * @default the list `trancheApp()` (tranche/vite) injects where tranche/sw reads
   * `self.__WB_MANIFEST`; none when the worker was built otherwise
   */
  precache?: readonly PrecacheEntry[] | false;
  /**
   * The versions of the shared dependencies the shell's import map provides (package -> version,
   * `{ react: '19.2.0' }`): a module version whose `requiresShared` range they miss is never
   * assigned; the module keeps or falls back to a version they meet (docs/manifest.md, "Shared
   * dependencies"). Unchecked when unknown.
   * @default what `trancheApp()` (tranche/vite) injects where tranche/sw reads `self.__TRANCHE_SHARED`;
   * unknown when the worker was built otherwise
   */
  shared?: Readonly<Record<string, string>>;
}

/** One file to precache: its URL (relative to the worker script) and a revision that changes with its bytes. */
export interface PrecacheEntry {
  url: string;
  /** null when the URL itself changes with the bytes (a hashed file name). */
  revision: string | null;
}

/** Telemetry options with every default applied (`url` absolute). */
export type ResolvedTelemetry = Required<TelemetryOptions>;

/** Navigation options with every default applied. */
export interface ResolvedNavigation {
  shellUrl: string | null;
  match: (url: URL) => boolean;
  strategy: NonNullable<NavigationOptions['strategy']>;
  networkTimeoutMs: number;
}

/** Options resolved once: URLs absolute, defaults in place. */
export interface ResolvedOptions {
  manifestUrl: string;
  publicKeys: readonly unknown[];
  checkIntervalMs: number;
  navigationCheckThrottleMs: number;
  retainVersions: number;
  /** Absolute URL of the module prefix, ending with `/`. */
  moduleBase: string;
  /** Absolute URL of the store (the manifest's directory), ending with `/`. */
  storeBase: string;
  navigation: ResolvedNavigation | null;
  overrideTtlMs: number;
  retryDelayMs: number;
  onEvent: ((event: WorkerHookEvent) => void | Promise<void>) | null;
  fallback: ResolvedFallbackPolicy;
  telemetry: ResolvedTelemetry | null;
  /** The names of this app's IndexedDB database and caches, from its namespace. */
  storage: StorageNames;
  maxManifestAgeMs: number;
  precache: readonly PrecacheEntry[];
  takeOver: boolean;
  /** The shell's shared dependencies' versions; null: unknown (unchecked). */
  shared: Readonly<Record<string, string>> | null;
}

function invalid(option: string, expected: string, got: unknown): never {
  throw new TrancheError('invalid-option', { where: 'installTranche()', problems: [optionProblem(option, expected, got)] });
}

function resolveUrl(option: string, value: string, scope: string): URL {
  try {
    return new URL(value, scope);
  } catch {
    invalid(option, 'a URL', value);
  }
}

/** `value` resolved against the scope, refused unless it is on the worker's own origin: the app's HTML is served as this origin's. */
function sameOrigin(option: string, value: string, scope: string): URL {
  const url = resolveUrl(option, value, scope);
  if (url.origin !== new URL(scope).origin) invalid(option, `a URL on the worker's origin ${new URL(scope).origin}`, value);
  return url;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The manifest's URL: on the worker's origin, or on another one (a CDN or a bucket) over https
 * (http only on loopback, for development). Another origin is safe because nothing it sends is
 * served unchecked: the manifest must be signed by one of `publicKeys`, and every record and file
 * must hash to what the signed manifest says. It needs CORS (docs/cli.md, "A store on another origin").
 */
function manifestLocation(value: string, scope: string): URL {
  const url = resolveUrl('manifestUrl', value, scope);
  if (url.origin === new URL(scope).origin || url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    return url;
  return invalid('manifestUrl', `a URL on the worker's origin ${new URL(scope).origin} or an https URL`, value);
}

function duration(options: TrancheWorkerOptions, key: keyof TrancheWorkerOptions, fallback: number): number {
  const value = options[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) invalid(key, 'an integer >= 0', value);
  return value;
}

/** Checks `options` and fills in defaults; `scope` is the worker's scope URL. */
export function resolveOptions(options: TrancheWorkerOptions, scope: string): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('(options)', 'an object', options);
  if (typeof options.manifestUrl !== 'string' || !options.manifestUrl) invalid('manifestUrl', 'a URL', options.manifestUrl);
  if (!Array.isArray(options.publicKeys) || options.publicKeys.length === 0)
    invalid('publicKeys', 'a non-empty array of JWKs', options.publicKeys);
  const prefix = options.modulePrefix ?? DEFAULT_MODULE_PREFIX;
  if (!isPathPrefix(prefix)) invalid('modulePrefix', 'a path such as /modules/ (starting and ending with /)', prefix);
  const manifestUrl = manifestLocation(options.manifestUrl, scope);
  const moduleBase = new URL(prefix, scope).href;
  const storeBase = new URL('./', manifestUrl).href;
  return {
    manifestUrl: manifestUrl.href,
    publicKeys: options.publicKeys,
    checkIntervalMs: duration(options, 'checkIntervalMs', 300_000),
    navigationCheckThrottleMs: duration(options, 'navigationCheckThrottleMs', 60_000),
    retainVersions: duration(options, 'retainVersions', 2),
    moduleBase,
    storeBase,
    navigation: resolveNavigation(options.navigation, scope, moduleBase, storeBase),
    overrideTtlMs: duration(options, 'overrideTtlMs', 86_400_000),
    retryDelayMs: duration(options, 'retryDelayMs', 30_000),
    onEvent: options.onEvent ?? null,
    fallback: resolveFallbackPolicy(options.fallback),
    telemetry: resolveTelemetry(options.telemetry, scope),
    storage: storageNames(resolveNamespace(options.namespace, scope)),
    maxManifestAgeMs: duration(options, 'maxManifestAgeMs', 30 * 86_400_000),
    precache: resolvePrecache(options.precache),
    takeOver: resolveTakeOver(options.takeOver),
    shared: resolveShared(options.shared),
  };
}

function resolveShared(shared: TrancheWorkerOptions['shared']): Readonly<Record<string, string>> | null {
  if (shared === undefined) return null;
  const ok =
    typeof shared === 'object' &&
    shared !== null &&
    !Array.isArray(shared) &&
    Object.entries(shared).every(([pkg, version]) => PACKAGE_NAME.test(pkg) && typeof version === 'string' && isVersion(version));
  if (!ok) invalid('shared', "an object of package name -> version, such as { react: '19.2.0' }", shared);
  return shared;
}

function resolveTakeOver(takeOver: TrancheWorkerOptions['takeOver']): boolean {
  if (takeOver !== undefined && typeof takeOver !== 'boolean') invalid('takeOver', 'true or false', takeOver);
  return takeOver ?? true;
}

function resolveNamespace(namespace: unknown, scope: string): string {
  if (namespace === undefined) return defaultNamespace(scope);
  // Control characters would make names that are hard to see in devtools, and nothing needs them.
  // eslint-disable-next-line no-control-regex
  if (typeof namespace !== 'string' || namespace.length > 200 || /[\u0000-\u001f\u007f]/.test(namespace))
    invalid('namespace', 'a string of at most 200 characters without control characters', namespace);
  return namespace;
}

function resolvePrecache(precache: TrancheWorkerOptions['precache']): readonly PrecacheEntry[] {
  if (precache === undefined || precache === false) return [];
  const isEntry = (e: unknown): boolean =>
    typeof e === 'object' &&
    e !== null &&
    typeof (e as PrecacheEntry).url === 'string' &&
    (e as PrecacheEntry).url !== '' &&
    ((e as PrecacheEntry).revision === null || typeof (e as PrecacheEntry).revision === 'string');
  if (!Array.isArray(precache) || !precache.every(isEntry))
    invalid('precache', 'an array of { url, revision } (what trancheApp() injects), or false', precache);
  return precache;
}

function resolveTelemetry(telemetry: TrancheWorkerOptions['telemetry'], scope: string): ResolvedTelemetry | null {
  if (telemetry === undefined) return null;
  if (typeof telemetry !== 'object' || telemetry === null) invalid('telemetry', 'an object such as { url: "/telemetry" }', telemetry);
  let url: URL | null = null;
  try {
    url = typeof telemetry.url === 'string' && telemetry.url ? new URL(telemetry.url, scope) : null;
  } catch {
    // reported below
  }
  if (!url || !/^https?:$/.test(url.protocol)) invalid('telemetry.url', 'an http(s) URL', telemetry.url);
  const batchIntervalMs = telemetry.batchIntervalMs ?? 10_000;
  if (!Number.isSafeInteger(batchIntervalMs) || batchIntervalMs < 1)
    invalid('telemetry.batchIntervalMs', 'an integer >= 1', batchIntervalMs);
  const maxBatchEvents = telemetry.maxBatchEvents ?? 100;
  if (!Number.isSafeInteger(maxBatchEvents) || maxBatchEvents < 1 || maxBatchEvents > MAX_BATCH_EVENTS) {
    invalid('telemetry.maxBatchEvents', `an integer from 1 to ${MAX_BATCH_EVENTS}`, maxBatchEvents);
  }
  return { url: url.href, batchIntervalMs, maxBatchEvents };
}

function resolveNavigation(
  nav: TrancheWorkerOptions['navigation'],
  scope: string,
  moduleBase: string,
  storeBase: string,
): ResolvedNavigation | null {
  if (nav === false) return null;
  const given = nav ?? {};
  if (typeof given !== 'object') invalid('navigation', 'false or an object', nav);
  if (given.match !== undefined && typeof given.match !== 'function')
    invalid('navigation.match', 'a function (url: URL) => boolean', given.match);
  const strategy = given.strategy ?? 'stale-while-revalidate';
  if (strategy !== 'stale-while-revalidate' && strategy !== 'network-first')
    invalid('navigation.strategy', "'stale-while-revalidate' or 'network-first'", strategy);
  const networkTimeoutMs = given.networkTimeoutMs ?? 4000;
  if (!Number.isInteger(networkTimeoutMs) || networkTimeoutMs < 0)
    invalid('navigation.networkTimeoutMs', 'an integer >= 0', networkTimeoutMs);
  // The worker never treats module files or the store's documents as app pages, whatever
  // `match` says (the store may sit at the site root, so only its own folders are excluded).
  const storeDirs = ['records/', 'files/', 'keys/'].map((dir) => storeBase + dir);
  const ours = (href: string) =>
    href.startsWith(moduleBase) || storeDirs.some((dir) => href.startsWith(dir)) || href.startsWith(`${storeBase}manifest.json`);
  const match = given.match ?? ((url: URL) => url.href.startsWith(scope));
  return {
    shellUrl: given.shellUrl === undefined ? null : sameOrigin('navigation.shellUrl', given.shellUrl, scope).href,
    match: (url) => !ours(url.href) && match(url),
    strategy,
    networkTimeoutMs,
  };
}
