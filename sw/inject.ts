/**
 * A page's HTML with its snapshot and import map injected (src/core/importMap.ts builds both,
 * shared with servers that inject the stable versions). The worker keeps the app's HTML as an
 * `HtmlPage` (sw/Shell.ts), so a navigation answered from it reads no body at all.
 */
import { injectIntoHtml, type ImportMap } from '../src/core/importMap.js';
import type { Snapshot } from '../src/core/protocol.js';

/** An HTML page as text, with the status and headers it was served with. */
export interface HtmlPage {
  body: string;
  status: number;
  statusText: string;
  headers: [string, string][];
}

/** The page `response` carries, given its body text. */
export function htmlPage(body: string, { status, statusText, headers }: Response): HtmlPage {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return { body, status, statusText, headers: pairs };
}

/** The response for `page` with the snapshot injected. */
export function injectIntoPage({ body, status, statusText, headers: pairs }: HtmlPage, snapshot: Snapshot, importMap: ImportMap): Response {
  const headers = new Headers(pairs);
  // The body changed and is no longer compressed; the page's HTML is per load, never cached.
  for (const name of ['content-length', 'content-encoding', 'etag', 'last-modified']) headers.delete(name);
  headers.set('cache-control', 'no-store');
  return new Response(injectIntoHtml(body, snapshot, importMap), { status, statusText, headers });
}

/** A copy of an HTML response with the snapshot injected. */
export async function injectIntoResponse(response: Response, snapshot: Snapshot, importMap: ImportMap): Promise<Response> {
  return injectIntoPage(htmlPage(await response.text(), response), snapshot, importMap);
}
