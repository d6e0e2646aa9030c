/**
 * The app's HTML for navigations: from the network, with the last good copy kept for when the
 * network is down or too slow. The copy is plain app HTML (never a page's injected snapshot),
 * so any page load can be served from it with a fresh snapshot.
 */
import type { Adapter } from './Adapter.js';
import type { ResolvedNavigation } from './options.js';

/** Cache holding the last good HTML per navigation URL (or the one shell URL). */
export const SHELL_CACHE = 'tranche-shell-v1';
/** Query parameter of QA overrides; stripped from the key of the cached copy. */
export const OVERRIDE_PARAM = 'tranche';

/** Whether a response is HTML the worker may inject a snapshot into. */
export function isInjectable(response: Response): boolean {
  return response.ok && response.type !== 'opaqueredirect' && (response.headers.get('content-type') ?? '').toLowerCase().includes('text/html');
}

/** Fetches app HTML, network first with a timed fallback to the cached copy. */
export class Shell {
  constructor(private readonly _adapter: Adapter, private readonly _nav: ResolvedNavigation) {}

  /** The HTML for navigation `request`, or null when neither the network nor the cache has it. */
  async fetch(request: Request): Promise<Response | null> {
    const key = this._cacheKey(request.url);
    const cache = await this._adapter.openCache(SHELL_CACHE);
    const network = this._fromNetwork(request).then(async (response) => {
      // Failing to keep a copy (quota) must not fail the page load.
      if (isInjectable(response)) await cache.put(key, response.clone()).catch(() => undefined);
      return response;
    });
    const cached = await cache.match(key);
    if (!cached) return network.catch(() => null);
    let timer: unknown;
    const late = new Promise<null>((resolve) => (timer = this._adapter.setTimeout(() => resolve(null), this._nav.networkTimeoutMs)));
    const first = await Promise.race([network.catch(() => null), late]);
    this._adapter.clearTimeout(timer);
    // A 5xx during a deploy is no better than being offline: the last good page is.
    return first && first.status < 500 ? first : cached;
  }

  private _fromNetwork(request: Request): Promise<Response> {
    if (this._nav.shellUrl) return this._adapter.fetch(this._nav.shellUrl, { credentials: 'same-origin' });
    return this._adapter.fetch(request);
  }

  private _cacheKey(url: string): string {
    if (this._nav.shellUrl) return this._nav.shellUrl;
    const parsed = new URL(url);
    parsed.searchParams.delete(OVERRIDE_PARAM);
    parsed.hash = '';
    return parsed.href;
  }
}
