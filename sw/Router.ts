/**
 * Which requests the worker answers, and how. Module files are answered from the requesting
 * client's snapshot; app navigations get the app's HTML with a fresh snapshot injected.
 * A version not committed here is served only as bytes checked against its release record.
 * Everything else is left to the network.
 */
import { releaseKey, type FileEntry, type ReleaseRecord } from '../src/core/manifest.js';
import { isTrancheError } from '../src/core/TrancheError.js';
import type { Adapter } from './Adapter.js';
import type { Driver } from './Driver.js';
import { importMapOf } from '../src/core/importMap.js';
import { parseModuleUrl, type ModuleUrl } from '../src/core/moduleUrl.js';
import { injectIntoPage, injectIntoResponse } from './inject.js';
import type { ResolvedOptions } from './options.js';
import { OVERRIDE_PARAM, Shell, isInjectable } from './Shell.js';

/**
 * How long a navigation with `?tranche=` waits for the forced versions to stage, so that QA
 * sees them on that very load; past it the page loads with what is current and the override
 * applies to a later load.
 */
const OVERRIDE_STAGING_WAIT_MS = 15_000;
/**
 * How long a navigation waits for a fallback version that is still being staged (a module
 * whose failed version was replaced by a stable one never stored here), so the page reloading
 * after `ROLLED_BACK` gets it; past it the page loads without that module.
 */
const RECOVERY_STAGING_WAIT_MS = 15_000;

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}

/** Answers fetch events. */
export class Router {
  private readonly _shell: Shell | null;
  /** Path -> file per committed record, built on first use (records are immutable). */
  private readonly _filesByRecord = new WeakMap<ReleaseRecord, Map<string, FileEntry>>();

  constructor(
    private readonly _options: ResolvedOptions,
    private readonly _adapter: Adapter,
    private readonly _driver: Driver,
  ) {
    this._shell =
      _options.navigation &&
      new Shell(
        _adapter,
        _options.navigation,
        _options.storage.shellCache,
        (work) => _driver.track(work),
        (servedTo) => _driver.emit({ type: 'SHELL_UPDATED' }, servedTo),
      );
  }

  /**
   * Install: refreshes the app's HTML copies, so this worker starts on the HTML of its own build.
   * Resolves to true when the HTML changed: the pages this worker may take over run an older one.
   */
  async prepare(): Promise<boolean> {
    return (await this._shell?.refreshAll()) ?? false;
  }

  /**
   * The response to `request`, or null when the worker must not call `respondWith` (the
   * request is not tranche's). Decided synchronously, as `respondWith` requires.
   */
  handle(request: Request, clientId: string, resultingClientId: string): Promise<Response> | null {
    // Only reads are ours; the kill switch, and a manifest unconfirmed for too long, hand everything back to the network.
    if (request.method !== 'GET') return null;
    if (!this._driver.serving) {
      this._driver.checkIfDue();
      return null;
    }
    if (request.mode === 'navigate') {
      const nav = this._options.navigation;
      if (!nav || !nav.match(new URL(request.url))) return null;
      // Whatever breaks in tranche, the page still loads from the network.
      return this._navigate(request, resultingClientId).catch(() => this._adapter.fetch(request));
    }
    const parsed = parseModuleUrl(request.url, this._options.moduleBase);
    if (!parsed) return null;
    return this._driver.answering(this._module(request, parsed, clientId, resultingClientId));
  }

  private async _navigate(request: Request, resultingClientId: string): Promise<Response> {
    await this._driver.loaded;
    if (!this._driver.serving) return this._adapter.fetch(request);
    const query = new URL(request.url).searchParams.get(OVERRIDE_PARAM);
    const overrideErrors = query === null ? [] : await this._applyOverrides(query);
    this._driver.checkIfDue();
    await this._driver.settleRecovering(RECOVERY_STAGING_WAIT_MS);
    const page = await this._shell!.fetch(request, resultingClientId);
    if (!page) return Response.error();
    const fromNetwork = page instanceof Response;
    if (fromNetwork && !isInjectable(page)) return page;
    const snapshot = await this._driver.pinSnapshot(resultingClientId, overrideErrors);
    const importMap = importMapOf(snapshot, this._options.moduleBase, (m, v) => this._driver.servable(m, v)?.record.entry ?? null);
    return fromNetwork ? injectIntoResponse(page, snapshot, importMap) : injectIntoPage(page, snapshot, importMap);
  }

  /**
   * `?tranche=cart@2.0.0,search@1.1.0` forces versions, `cart@` releases one module, `clear`
   * releases all. Returns each refused item with its reason (shown in the page's snapshot).
   */
  private async _applyOverrides(query: string): Promise<string[]> {
    const errors: string[] = [];
    const forced: string[] = [];
    for (const item of query
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const at = item.lastIndexOf('@');
      try {
        if (item === 'clear') {
          await this._driver.clearOverrides();
          // Every module may go back to its assignment: the page waits for those commits too.
          forced.push(...this._driver.moduleNames());
        } else if (at < 1) errors.push(`${item}: expected <module>@<version>, <module>@ or clear`);
        else {
          const [module, version] = [item.slice(0, at), item.slice(at + 1)];
          await this._driver.setOverride(module, version || null);
          forced.push(module);
        }
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    await this._driver.settle(forced, OVERRIDE_STAGING_WAIT_MS);
    return errors;
  }

  /**
   * The record's file at `path`. Indexed once per record, since this runs on every module
   * request and a release may list thousands of files.
   */
  private _fileOf(record: ReleaseRecord, path: string): FileEntry | undefined {
    let byPath = this._filesByRecord.get(record);
    if (!byPath) this._filesByRecord.set(record, (byPath = new Map(record.files.map((f) => [f.path, f]))));
    return byPath.get(path);
  }

  /**
   * A module file. A versioned URL (what import maps name) is answered from its copy by a worker
   * started for it, else needs only the worker's condition and the version's row, which such a
   * worker reads before the rest of its state (sw/Driver.ts); one without a version, or a dedicated worker's script, needs the client's
   * snapshot, and with it the whole state.
   */
  private async _module(request: Request, parsed: ModuleUrl, clientId: string, resultingClientId: string): Promise<Response> {
    const versioned = parsed.version !== null && request.destination !== 'worker';
    // A worker started for this request answers from the file's copy, before it opens its database.
    const copy = versioned ? await this._driver.startedCopy(request.url) : null;
    if (copy) return copy;
    // The version's row is read beside the condition: a started worker's first answer waits for both at once.
    const named = versioned ? this._driver.committed(parsed.module, parsed.version!) : null;
    named?.catch(() => undefined); // awaited below, unless the worker does not serve
    await this._driver.opened();
    if (!this._driver.serving) return this._adapter.fetch(request);
    // A dedicated worker's script: the worker runs its creator's snapshot from now on.
    const inherited =
      request.destination === 'worker' && resultingClientId ? await this._driver.inheritSnapshot(clientId, resultingClientId) : null;
    const version =
      parsed.version ??
      (inherited ?? (await this._driver.snapshotFor(clientId))).modules[parsed.module] ??
      this._driver.stableVersion(parsed.module);
    if (!version) return text(404, `tranche: module ${parsed.module} has no version for this page (none in its snapshot or the manifest)`);
    const label = releaseKey(parsed.module, version);
    const row = await (named ?? this._driver.committed(parsed.module, version));
    // Not committed here (still staging, never assigned): from the store, checked against the record.
    if (!row) return this._unstaged(parsed, version);
    const file = this._fileOf(row.record, parsed.path);
    if (!file) return text(404, `tranche: ${label} has no file ${parsed.path} (its release record lists every file)`);
    try {
      return await this._driver.respond(parsed.module, version, file);
    } catch (err) {
      // Stored bytes went missing (and, when the store now serves others, the version failed here).
      return text(504, `tranche: ${label} ${parsed.path} is not stored and could not be downloaded again: ${(err as Error).message}`);
    }
  }

  private async _unstaged(parsed: ModuleUrl, version: string): Promise<Response> {
    try {
      return await this._driver.respondUnstaged(parsed.module, version, parsed.path);
    } catch (err) {
      if (isTrancheError(err, 'not-released') || isTrancheError(err, 'not-found')) return text(404, `tranche: ${err.message}`);
      return text(
        502,
        `tranche: ${releaseKey(parsed.module, version)} ${parsed.path} could not be served verified: ${(err as Error).message}`,
      );
    }
  }
}
