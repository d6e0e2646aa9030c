/**
 * The HTTP server of the worker's browser tests, on 127.0.0.1 at a free port. It serves the
 * test app's shell at every page path, the worker bundle at /sw.js (with the test's config
 * prepended), the page client at /tranche.js (immutable, as a built app's hashed asset: it
 * loads from the HTTP cache when the server is down) and a release store at /store/
 * (tranche/node's storeHandler). Module URLs (/modules/…) are not on this "network": only the
 * worker can answer them. Tests can watch
 * every request, answer any of them themselves (cut a body halfway, send wrong bytes, hold a
 * response) or take the server down.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { IMMUTABLE_CACHE } from '../../src/core/immutableCache.js';
import { storeHandler } from '../../src/release/index.js';
import type { SwTestConfig } from '../browser/fixtures/swTestConfig.js';
import { SW_BUNDLE } from './buildSwBundle.js';
import { clientBundle } from './clientPages.js';

export type { SwTestConfig };

/** A test's hand on one request: return true when it answered it. */
export type ServerHook = (req: IncomingMessage, res: ServerResponse, path: string) => boolean | Promise<boolean>;

/**
 * The app every test page is: it runs the page client (`window.tranche`; it neither reports
 * errors nor reloads on a rollback, so a test sees the worker alone decide), imports each module
 * of its snapshot, renders it, and then vouches for its page load with the client's `ready()`
 * (a load that never does counts as a boot failure, docs/fallback.md). A refused `ready()` is
 * kept in `data-ready-failed`.
 */
export const APP_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>tranche test app</title></head>
<body><div id="out"></div>
<script type="module">
  import { Tranche } from '/tranche.js';
  const tranche = new Tranche('/sw.js', { timeoutMs: 30000, captureErrors: false, reloadOnRollback: false });
  window.tranche = tranche;
  tranche.register({ immediate: true });
  const element = document.getElementById('tranche-snapshot');
  window.snapshot = element ? JSON.parse(element.textContent) : null;
  const out = document.getElementById('out');
  for (const name of Object.keys(window.snapshot?.modules ?? {})) (await import(name)).render(out);
  document.body.dataset.booted = 'yes';
  tranche.ready().catch((err) => (document.body.dataset.readyFailed = String(err)));
</script>
</body></html>`;

/** A running test server. */
export interface SwTestServer {
  readonly origin: string;
  /** Path and query of every request received, in order. */
  readonly requests: string[];
  hook: ServerHook | null;
  /** While true, every connection is dropped: the browser sees the network down. */
  down: boolean;
  config: SwTestConfig;
  /** How many requests had a path starting with `prefix`. */
  count(prefix: string): number;
  close(): Promise<void>;
}

/** Starts a server for `storeDir`. */
export async function startSwServer(storeDir: string, config: SwTestConfig): Promise<SwTestServer> {
  const bundle = await readFile(SW_BUNDLE, 'utf8');
  const client = await clientBundle();
  const requests: string[] = [];
  const store = storeHandler(storeDir, { mount: '/store/' });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    if (server.down) return void req.socket.destroy();
    if (server.hook && (await server.hook(req, res, url.pathname))) return;
    if (url.pathname === '/sw.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-cache' });
      return void res.end(`self.TRANCHE_TEST = ${JSON.stringify(server.config)};\n${bundle}`);
    }
    if (url.pathname === '/tranche.js')
      return void res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': IMMUTABLE_CACHE }).end(client);
    if (url.pathname.startsWith('/modules/'))
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('module files are not on the network');
    if (await store.handle(req, res)) return;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(APP_HTML);
  };
  const http = createServer((req, res) => void handle(req, res).catch(() => req.socket.destroy()));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const server: SwTestServer = {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    requests,
    hook: null,
    down: false,
    config,
    count: (prefix) => requests.filter((r) => r.startsWith(prefix)).length,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  return server;
}
