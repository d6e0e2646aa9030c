/**
 * Putting a page's snapshot into its HTML: an import map from each module's bare specifier to
 * its versioned entry URL (and `<module>/` to its version directory), plus the snapshot as JSON
 * (`<script type="application/json" id="tranche-snapshot">`). Both go first in `<head>`, before
 * any module script can resolve a specifier. Browsers merge several import maps with the first
 * definition winning, so an import map the app's own HTML carries (for visits without the
 * worker) stays a fallback for modules that have nothing staged yet.
 */
import { SNAPSHOT_ELEMENT_ID, type Snapshot } from '../src/core/protocol.js';

/** An import map. */
export interface ImportMap { imports: Record<string, string> }

/** The import map of a snapshot; `entryOf` gives a module version's entry file path. */
export function importMapOf(snapshot: Snapshot, moduleBase: string, entryOf: (module: string, version: string) => string | null): ImportMap {
  const imports: Record<string, string> = {};
  for (const [module, version] of Object.entries(snapshot.modules)) {
    const entry = entryOf(module, version);
    if (entry === null) continue;
    const dir = `${moduleBase}${module}/${version}/`;
    imports[module] = dir + entry;
    imports[`${module}/`] = dir;
  }
  return { imports };
}

/** JSON safe inside a `<script>` element: no `</script>` or `<!--` can end or alter it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const HEAD = /<head(?:\s[^>]*)?>/i;
const HTML = /<html(?:\s[^>]*)?>/i;
const DOCTYPE = /^\s*<!doctype[^>]*>/i;
// A CSP with nonces allows only scripts carrying the page's nonce: reuse the one the HTML has.
const NONCE = /<script\b[^>]*?\snonce=["']?([^"'\s>]+)/i;

/** `html` with the import map and snapshot inserted at the start of `<head>`. */
export function injectIntoHtml(html: string, snapshot: Snapshot, importMap: ImportMap): string {
  const nonce = NONCE.exec(html)?.[1];
  const attr = nonce ? ` nonce="${nonce}"` : '';
  const tags = `<script type="importmap"${attr}>${scriptJson(importMap)}</script>`
    + `<script type="application/json" id="${SNAPSHOT_ELEMENT_ID}">${scriptJson(snapshot)}</script>`;
  for (const anchor of [HEAD, HTML, DOCTYPE]) {
    const match = anchor.exec(html);
    if (match) {
      const at = match.index + match[0].length;
      return html.slice(0, at) + tags + html.slice(at);
    }
  }
  return tags + html;
}

/** A copy of an HTML response with the snapshot injected. */
export async function injectIntoResponse(response: Response, snapshot: Snapshot, importMap: ImportMap): Promise<Response> {
  const html = injectIntoHtml(await response.text(), snapshot, importMap);
  const headers = new Headers(response.headers);
  // The body changed and is no longer compressed; the page's HTML is per load, never cached.
  for (const name of ['content-length', 'content-encoding', 'etag', 'last-modified']) headers.delete(name);
  headers.set('cache-control', 'no-store');
  return new Response(html, { status: response.status, statusText: response.statusText, headers });
}
