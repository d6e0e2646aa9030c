/**
 * A page's HTML response with its snapshot and import map injected (src/core/importMap.ts
 * builds both, shared with servers that inject the stable versions).
 */
import { injectIntoHtml, type ImportMap } from '../src/core/importMap.js';
import type { Snapshot } from '../src/core/protocol.js';

/** A copy of an HTML response with the snapshot injected. */
export async function injectIntoResponse(response: Response, snapshot: Snapshot, importMap: ImportMap): Promise<Response> {
  const html = injectIntoHtml(await response.text(), snapshot, importMap);
  const headers = new Headers(response.headers);
  // The body changed and is no longer compressed; the page's HTML is per load, never cached.
  for (const name of ['content-length', 'content-encoding', 'etag', 'last-modified']) headers.delete(name);
  headers.set('cache-control', 'no-store');
  return new Response(html, { status: response.status, statusText: response.statusText, headers });
}
