/**
 * The app's HTML for navigations. By default stale-while-revalidate: a navigation is answered
 * at once from the last good copy (in memory, else Cache Storage) and the copy is refreshed from
 * the network after the answer is on its way; only a page with no copy waits for the network.
 * Network-first made every navigation wait for the server, about three times the time to first
 * byte of a worker answering from its cache (`npm run bench`). A new worker (a new app build)
 * refreshes the copies while it installs, so it never starts on HTML from before the build.
 * With `strategy: 'network-first'` the network is asked first and the copy serves when it is
 * down, slower than `networkTimeoutMs` or answering 5xx. The copy is plain app HTML (never a
 * page's injected snapshot), so any page load can be served from it with a fresh snapshot.
 */
import type { Adapter, BlobCache } from './Adapter.js';
import { htmlPage, type HtmlPage } from './inject.js';
import type { ResolvedNavigation } from './options.js';

/** Query parameter of QA overrides; stripped from the key of the cached copy. */
export const OVERRIDE_PARAM = 'tranche';
/**
 * Copies kept in memory (a single-page app has one, its `shellUrl`) and refreshed at install;
 * older ones stay in Cache Storage and are refreshed when next served.
 */
const KEPT_IN_MEMORY = 32;

/** Whether a response is HTML the worker may inject a snapshot into. */
export function isInjectable(response: Response): boolean {
  return (
    response.ok && response.type !== 'opaqueredirect' && (response.headers.get('content-type') ?? '').toLowerCase().includes('text/html')
  );
}

/** Fetches app HTML: its last good copy, refreshed in the background (or network first). */
export class Shell {
  private _cache: Promise<BlobCache> | null = null;
  /** Copies by cache key, least recently served first. */
  private readonly _copies = new Map<string, HtmlPage>();

  /**
   * `cacheName` is this app's cache of the last good HTML per navigation URL (or the one shell
   * URL); `background` keeps the worker alive until the work it is given settles. `changed` is
   * told when a refreshed copy differs from the one pages were served, with the page that got
   * the new HTML already (null: none did).
   */
  constructor(
    private readonly _adapter: Adapter,
    private readonly _nav: ResolvedNavigation,
    private readonly _cacheName: string,
    private readonly _background: (work: Promise<unknown>) => void,
    private readonly _changed: (servedTo: string | null) => void,
  ) {}

  /**
   * The HTML for navigation `request` of the page `clientId`: the copy itself when it answers
   * (nothing to read), else the network's response (any response, HTML or not); null when
   * neither has it.
   */
  async fetch(request: Request, clientId: string): Promise<HtmlPage | Response | null> {
    const key = this._cacheKey(request.url);
    const copy = await this._copy(key);
    if (copy && this._nav.strategy === 'stale-while-revalidate') {
      // A task later: the answer goes out before the refresh takes the thread.
      this._background(
        this._adapter
          .nextTask()
          .then(() => this._announce(this._refresh(request, key), null))
          .catch(() => undefined),
      );
      return copy;
    }
    const network = this._refresh(request, key);
    const response = network.then(({ response }) => response);
    if (!copy) return response.catch(() => null);
    let timer: unknown;
    const late = new Promise<null>((resolve) => (timer = this._adapter.setTimeout(() => resolve(null), this._nav.networkTimeoutMs)));
    const first = await Promise.race([response.catch(() => null), late]);
    this._adapter.clearTimeout(timer);
    // A 5xx during a deploy is no better than being offline: the last good page is.
    const fresh = first && first.status < 500;
    this._background(this._announce(network, fresh ? clientId : null).catch(() => undefined));
    return fresh ? first : copy;
  }

  /**
   * Install: fetches the kept copies again, and the `shellUrl` even before any navigation kept
   * one, so a first visit's next load starts offline (failures keep the old copy). True when one
   * of them changed: the pages this worker takes over run an older HTML.
   */
  async refreshAll(): Promise<boolean> {
    const keys = new Set((await (await this._open()).keys()).map((k) => k.url).slice(-KEPT_IN_MEMORY));
    if (this._nav.shellUrl !== null) keys.add(this._nav.shellUrl);
    const changed = await Promise.all(
      [...keys].map((key) =>
        this._refresh(key, key).then(
          ({ changed }) => changed,
          () => false,
        ),
      ),
    );
    return changed.includes(true);
  }

  /**
   * The network's answer for `request`; good HTML becomes the copy of `key` (in the background),
   * and `changed` says whether it differs from the copy it replaces.
   */
  private async _refresh(request: Request | string, key: string): Promise<{ response: Response; changed: Promise<boolean> }> {
    const response = await this._fromNetwork(request);
    const changed = isInjectable(response) ? this._keep(key, response.clone()) : Promise.resolve(false);
    this._background(changed);
    return { response, changed };
  }

  private async _announce(refresh: ReturnType<Shell['_refresh']>, servedTo: string | null): Promise<void> {
    if (await (await refresh).changed) this._changed(servedTo);
  }

  private async _keep(key: string, response: Response): Promise<boolean> {
    const body = await response.clone().text();
    const before = this._copies.get(key)?.body ?? (await (await (await this._open()).match(key))?.text());
    this._remember(key, htmlPage(body, response));
    // Failing to keep a copy on disk (quota) must not fail anything: the one in memory serves.
    await (await this._open()).put(key, response).catch(() => undefined);
    return before !== undefined && withoutNonces(before) !== withoutNonces(body);
  }

  private async _copy(key: string): Promise<HtmlPage | null> {
    const known = this._copies.get(key);
    if (known) {
      this._remember(key, known);
      return known;
    }
    const cached = await (await this._open()).match(key);
    if (!cached) return null;
    const copy = htmlPage(await cached.text(), cached);
    this._remember(key, copy);
    return copy;
  }

  private _remember(key: string, copy: HtmlPage): void {
    this._copies.delete(key);
    this._copies.set(key, copy);
    for (const oldest of this._copies.keys()) {
      if (this._copies.size <= KEPT_IN_MEMORY) break;
      this._copies.delete(oldest);
    }
  }

  private _fromNetwork(request: Request | string): Promise<Response> {
    // Past the HTTP cache (revalidated): a copy the browser kept must not outlive a deploy.
    const init: RequestInit = { credentials: 'same-origin', cache: 'no-cache' };
    if (this._nav.shellUrl) return this._adapter.fetch(this._nav.shellUrl, init);
    return typeof request === 'string' ? this._adapter.fetch(request, init) : this._adapter.fetch(request);
  }

  private _open(): Promise<BlobCache> {
    this._cache ??= this._adapter.openCache(this._cacheName);
    return this._cache;
  }

  private _cacheKey(url: string): string {
    if (this._nav.shellUrl) return this._nav.shellUrl;
    const parsed = new URL(url);
    parsed.searchParams.delete(OVERRIDE_PARAM);
    parsed.hash = '';
    return parsed.href;
  }
}

/** The HTML without its CSP nonces, which a server may change on every response. */
function withoutNonces(html: string): string {
  return html.replace(/\snonce="[^"]*"/g, '');
}
