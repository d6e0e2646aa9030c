/**
 * Putting module versions into a page's HTML: an import map from each module's bare specifier
 * to its versioned entry URL (and `<module>/` to its version directory), and optionally the
 * page's snapshot as JSON (`<script type="application/json" id="tranche-snapshot">`). Both go
 * first in `<head>`, before any module script can resolve a specifier.
 *
 * Two callers share this: the worker injects each page load's snapshot, and a server injects
 * the manifest's stable versions into the shell for visits without the worker (first visit,
 * kill switch). When the HTML already carries an import map (the server's, or the app's own),
 * the two are merged into one, the injected entries winning: the HTML's map stays the fallback
 * for modules the worker has nothing staged for, and the browser has no conflicting rules to
 * drop (Chromium warns about each one).
 */
import { SNAPSHOT_ELEMENT_ID, type Snapshot } from './protocol.js';
import { versionDirUrl } from './moduleUrl.js';

/** An import map (`scopes` and `integrity` are kept when merging, never produced). */
export interface ImportMap {
  imports: Record<string, string>;
  scopes?: unknown;
  integrity?: unknown;
}

/**
 * The import map of `snapshot.modules` (module -> version) under `moduleBase` (a URL or path
 * ending with `/`); `entryOf` gives a module version's entry file path, or null to leave the
 * module out.
 */
export function importMapOf(
  snapshot: Pick<Snapshot, 'modules'>,
  moduleBase: string,
  entryOf: (module: string, version: string) => string | null,
): ImportMap {
  const imports: Record<string, string> = {};
  for (const [module, version] of Object.entries(snapshot.modules)) {
    const entry = entryOf(module, version);
    if (entry === null) continue;
    const dir = versionDirUrl(moduleBase, module, version);
    imports[module] = dir + entry;
    imports[`${module}/`] = dir;
  }
  return { imports };
}

/** JSON safe inside a `<script>` element: no `</script>` or `<!--` can end or alter it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const HEAD = /<head(?:\s[^>]*)?>/i;
const HTML = /<html(?:\s[^>]*)?>/i;
const DOCTYPE = /^\s*<!doctype[^>]*>/i;
// A CSP with nonces allows only scripts carrying the page's nonce: reuse the one the HTML has.
const NONCE = /<script\b[^>]*?\snonce=["']?([^"'\s>]+)/i;
const IMPORT_MAP = /<script\b[^>]*\stype=["']?importmap["']?[^>]*>([\s\S]*?)<\/script\s*>/i;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `html` without its import map, and `importMap` merged over it; both unchanged when the HTML
 * has none or one that is not a JSON object (the browser then reports it; leave it be).
 */
function mergeExisting(html: string, importMap: ImportMap): { html: string; importMap: ImportMap } {
  const match = IMPORT_MAP.exec(html);
  if (!match) return { html, importMap };
  let existing: unknown;
  try {
    existing = JSON.parse(match[1]!);
  } catch {
    return { html, importMap };
  }
  if (!isRecord(existing) || (existing.imports !== undefined && !isRecord(existing.imports))) return { html, importMap };
  return {
    html: html.slice(0, match.index) + html.slice(match.index + match[0].length),
    importMap: { ...existing, imports: { ...(existing.imports as Record<string, string> | undefined), ...importMap.imports } },
  };
}

/**
 * `page` with the import map (merged with the page's own, if any), and the snapshot unless it
 * is null (a page no worker served has none), inserted at the start of `<head>`.
 */
export function injectIntoHtml(page: string, snapshot: Snapshot | null, injected: ImportMap): string {
  const nonce = NONCE.exec(page)?.[1];
  const { html, importMap } = mergeExisting(page, injected);
  const attr = nonce ? ` nonce="${nonce}"` : '';
  const tags =
    `<script type="importmap"${attr}>${scriptJson(importMap)}</script>` +
    (snapshot ? `<script type="application/json" id="${SNAPSHOT_ELEMENT_ID}">${scriptJson(snapshot)}</script>` : '');
  for (const anchor of [HEAD, HTML, DOCTYPE]) {
    const match = anchor.exec(html);
    if (match) {
      const at = match.index + match[0].length;
      return html.slice(0, at) + tags + html.slice(at);
    }
  }
  return tags + html;
}

/**
 * The script a shell's HTML loads first (from the store, `<store>importmap.js`) on page loads
 * no worker serves, such as a first visit: it adds the import map of the manifest's stable
 * versions. Publishing writes it beside the manifest, so any static host serves it.
 */
export const STABLE_IMPORT_MAP_FILE = 'importmap.js';

/**
 * The text of {@link STABLE_IMPORT_MAP_FILE} for `importMap`, whose URLs (imports' targets and
 * integrity's keys) are relative to the script itself: a classic script that resolves them
 * against its own URL, wherever the store is served, and inserts the map right after itself,
 * unless the worker already injected this page load's own map (the page then has a snapshot,
 * and a second map would only add conflicting rules).
 */
export function stableImportMapScript(importMap: ImportMap, sequence: number): string {
  return `// tranche: the import map of the stable versions (manifest sequence ${sequence}), for page loads no service worker serves.
(function () {
  if (document.getElementById(${JSON.stringify(SNAPSHOT_ELEMENT_ID)})) return;
  var script = document.currentScript;
  var given = ${scriptJson(importMap)};
  var map = { imports: {}, integrity: {} };
  for (var name in given.imports) map.imports[name] = new URL(given.imports[name], script.src).href;
  for (var url in given.integrity || {}) map.integrity[new URL(url, script.src).href] = given.integrity[url];
  var element = document.createElement('script');
  element.type = 'importmap';
  element.textContent = JSON.stringify(map);
  script.after(element);
})();
`;
}
