/**
 * Serving a release store over HTTP from Node, for the app's own server:
 *
 * - the store's documents under a mount path (`/tranche/` by default), as the service worker
 *   fetches them: `manifest.json` (`no-cache`: it changes), `records/**` and `files/**`
 *   (immutable: never rewritten), `keys/*.jwk` (public keys, for `verify`), and what a page no
 *   worker serves loads (firstVisit.ts): `importmap.js` (`no-cache`) and the stable versions'
 *   files by name, `modules/<module>/<version>/<path>` (through the version's record, like
 *   module URLs). Nothing else: no dot file (the lock, temp files), no `history.jsonl`
 *   (operator data), nothing outside;
 * - module URLs `<modulePrefix><module>/<version>/<path>` resolved through the version's
 *   release record, so the app runs from the network when no worker serves it (a first visit,
 *   after the kill switch, a module the worker has not staged yet). Unversioned module URLs
 *   `<modulePrefix><module>/<path>` get the stable version's file, as such a page runs stable.
 *   Bytes are served only when they hash to the record's SHA-256 (else a 500 naming them), so a
 *   tampered store never reaches a page that no worker checks for;
 * - the import map of the manifest's stable versions, for the server to inject into the
 *   shell's HTML (`injectIntoHtml(html, null, map)`), which is what makes that network path
 *   start.
 *
 * Paths are checked with the same rules as release paths (src/core/paths.ts) after URL
 * normalisation, and module URLs are read by the worker's own parser (src/core/moduleUrl.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STABLE_IMPORT_MAP_FILE, importMapOf, type ImportMap } from '../core/importMap.js';
import { DEFAULT_MODULE_PREFIX } from '../core/attribution.js';
import { IMMUTABLE_CACHE } from '../core/immutableCache.js';
import { assertSha256 } from '../core/integrity.js';
import { releaseKey, type ReleaseRecord } from '../core/manifest.js';
import { isPathPrefix, parseModuleUrl, type ModuleUrl } from '../core/moduleUrl.js';
import { unsafePathReason } from '../core/paths.js';
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import { optionProblem } from '../core/optionProblem.js';
import { isPrivateJwk } from './keys.js';
import { readCurrentManifest } from './publish.js';
import { checkRecordPath, readRecord } from './release.js';
import { DirectoryBackend } from './DirectoryBackend.js';
import type { StoreBackend } from './StoreBackend.js';
import { MODULES_TREE, blobPath, cacheControlOf, documentKind, recordPath } from './storeLayout.js';

/** Options of {@link storeHandler}. */
export interface StoreHandlerOptions {
  /**
   * URL path the store is served under; the worker's `manifestUrl` is `<mount>manifest.json`.
   * @default '/tranche/'
   */
  mount?: string;
  /**
   * Path prefix of module URLs; must equal the worker's `modulePrefix`.
   * @default '/modules/'
   */
  modulePrefix?: string;
}

/** A store served over HTTP. */
export interface StoreHandler {
  /**
   * Answers `req` when its path is under the mount or the module prefix and resolves true;
   * resolves false, without touching `res`, for any other path (the caller's to answer).
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** The import map of the current manifest's stable versions (empty before the first publish). */
  stableImportMap(): Promise<ImportMap>;
}

// URLs are only used for their paths: any origin does for parsing.
const ORIGIN = 'http://store.invalid';

/** Serves the store in directory `dir`, or in any backend (see the file comment). */
export function storeHandler(
  dir: string | StoreBackend,
  { mount = '/tranche/', modulePrefix = DEFAULT_MODULE_PREFIX }: StoreHandlerOptions = {},
): StoreHandler {
  for (const [option, value] of [
    ['mount', mount],
    ['modulePrefix', modulePrefix],
  ] as const) {
    if (!isPathPrefix(value))
      throw new TrancheError('invalid-option', {
        where: 'storeHandler()',
        problems: [optionProblem(option, 'a path starting and ending with /', value)],
      });
  }
  const backend = typeof dir === 'string' ? new DirectoryBackend(dir) : dir;
  const records = new RecordCache(backend);
  const moduleBase = ORIGIN + modulePrefix;
  const treeBase = ORIGIN + mount + MODULES_TREE;

  const stableVersions = async (): Promise<Record<string, string>> => {
    const manifest = await readCurrentManifest(backend);
    return Object.fromEntries(Object.entries(manifest?.modules ?? {}).map(([name, mod]) => [name, mod.stable]));
  };

  return {
    async handle(req, res) {
      const pathname = new URL(req.url ?? '/', ORIGIN).pathname;
      const inStore = pathname.startsWith(mount);
      // A stable version's file by name in the store (firstVisit.ts) is served like a module URL.
      const module = parseModuleUrl(ORIGIN + pathname, inStore ? treeBase : moduleBase);
      if (!inStore && !module && !pathname.startsWith(modulePrefix)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(
          req,
          res,
          405,
          { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' },
          `${req.method} ${pathname}: the store is read-only`,
        );
        return true;
      }
      try {
        if (module) await serveModule(req, res, backend, records, module, stableVersions);
        else if (inStore) await serveStorePath(req, res, backend, pathname.slice(mount.length));
        else notFound(req, res, `${pathname} is not a module URL (${modulePrefix}<module>/<version>/<path>)`);
      } catch (err) {
        // A symbolic link out of the store is not in it (DirectoryBackend.read).
        if (isTrancheError(err, 'unsafe-path')) notFound(req, res, err.message);
        else
          send(
            req,
            res,
            500,
            { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
            `tranche store: ${(err as Error).message}`,
          );
      }
      return true;
    },
    async stableImportMap() {
      const stable = await stableVersions();
      const entries = new Map<string, string>();
      for (const [module, version] of Object.entries(stable)) entries.set(module, (await records.get(module, version))?.entry ?? '');
      return importMapOf({ modules: stable }, modulePrefix, (module) => entries.get(module) || null);
    },
  };
}

/** A store document: the manifest, a record, a file, a public key. */
async function serveStorePath(req: IncomingMessage, res: ServerResponse, backend: StoreBackend, relative: string): Promise<void> {
  const refused = unsafePathReason(relative);
  if (refused) return notFound(req, res, `store path ${JSON.stringify(relative)} refused: it ${refused}`);
  const kind = documentKind(relative);
  if (!kind?.served)
    return notFound(
      req,
      res,
      `${relative} is not served (only manifest.json, ${STABLE_IMPORT_MAP_FILE}, records/, files/, keys/ and modules/ are)`,
    );
  const body = await backend.read(relative);
  if (!body) return notFound(req, res, `${relative} is not in the store`);
  if (kind.name === 'key' && isPrivateJwk(body))
    return notFound(req, res, `${relative} is not served: it is a private key (tranche verify says to remove it)`);
  // The worker fetches the manifest past the HTTP cache anyway; no-cache keeps other readers current.
  send(req, res, 200, { 'content-type': kind.type, 'cache-control': cacheControlOf(kind) }, body);
}

/** One file of a module version, found through the version's release record. */
async function serveModule(
  req: IncomingMessage,
  res: ServerResponse,
  backend: StoreBackend,
  records: RecordCache,
  url: ModuleUrl,
  stable: () => Promise<Record<string, string>>,
): Promise<void> {
  // Unversioned: a page the worker does not serve runs the stable versions (its import map says so).
  const version = url.version ?? (await stable())[url.module];
  if (!version) return notFound(req, res, `module ${url.module} has no stable version`);
  const label = releaseKey(url.module, version);
  const record = await records.get(url.module, version);
  if (!record) return notFound(req, res, `${label} is not released`);
  const file = record.files.find((f) => f.path === url.path);
  if (!file) return notFound(req, res, `${label} has no file ${url.path} (its release record lists every file)`);
  const body = await backend.read(blobPath(file.sha256));
  // Missing bytes are a 404 like any missing document; the store is damaged, and verify says where.
  if (!body)
    return notFound(req, res, `files/${file.sha256} (${label} ${file.path}) is not in the store; tranche verify lists what is missing`);
  // Bytes that are not the recorded ones (a damaged or tampered store) are never served: a 500 naming them.
  await assertSha256(body, file.sha256, `files/${file.sha256} (${label} ${file.path})`);
  send(
    req,
    res,
    200,
    {
      'content-type': file.type,
      // A versioned URL names bytes that never change; an unversioned one follows the stable version.
      'cache-control': url.version ? IMMUTABLE_CACHE : 'no-cache',
      'x-tranche-module': label,
    },
    body,
  );
}

/** Release records by module@version: immutable once written, so read each once. */
class RecordCache {
  private readonly _records = new Map<string, ReleaseRecord>();

  constructor(private readonly _backend: StoreBackend) {}

  /** The record of module@version, or null when it is not released. */
  async get(module: string, version: string): Promise<ReleaseRecord | null> {
    const key = releaseKey(module, version);
    const known = this._records.get(key);
    if (known) return known;
    const record = await readRecord(this._backend, recordPath(module, version));
    if (!record) return null;
    checkRecordPath(record, recordPath(module, version));
    this._records.set(key, record);
    return record;
  }
}

function notFound(req: IncomingMessage, res: ServerResponse, why: string): void {
  send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, `tranche store: ${why}`);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array): void {
  // Bytes are served as their recorded type, never as what a browser might sniff.
  res.writeHead(status, { ...headers, 'x-content-type-options': 'nosniff', 'content-length': String(Buffer.byteLength(body)) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
