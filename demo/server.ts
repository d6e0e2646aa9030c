/**
 * The demo's one HTTP server, on loopback:
 *
 * | path | what |
 * | --- | --- |
 * | `/` | the shop's shell (built by trancheApp: it loads the store's stable import map on visits no worker serves) |
 * | `/sw.js`, `/assets/…` | the app's worker and the shell's hashed assets |
 * | `/tranche/…`, `/modules/…` | the release store and module files (tranche/node's storeHandler) |
 * | `POST /api/telemetry`, `/metrics` | the collector (tranche/node's collectorHandler) |
 * | `/dashboard`, `/dashboard/assets/…` | the dashboard page |
 * | `GET /api/state`, `POST /api/actions` | the dashboard's data and its buttons (dashboardApi.ts) |
 *
 * It answers only requests addressed to a loopback name (`Host` 127.0.0.1, localhost or [::1]: a
 * page on a rebound DNS name gets 403), and runs an action only when a page of its own origin
 * posted it as `application/json` (crossSiteProblem): a page on another origin cannot publish.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { IMMUTABLE_CACHE } from '../src/core/immutableCache.js';
import { unsafePathReason } from '../src/core/paths.js';
import { storeHandler, type ReleaseStore } from '../src/release/index.js';
import { contentTypeOf } from '../src/release/contentType.js';
import { BodyTooLarge, crossSiteProblem, readBody, wrongHostProblem } from '../src/release/http.js';
import type { DemoBuild } from './build.js';
import { collectorHandler, type Collector } from '../src/collector/index.js';
import { dashboardAction, dashboardState } from './dashboardApi.js';

/** What the server serves. */
export interface DemoServerOptions {
  build: DemoBuild;
  store: ReleaseStore;
  collector: Collector;
  /** 0 picks a free port. */
  port: number;
}

/** A running demo server. */
export interface DemoServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Largest action body the dashboard sends; anything bigger is not one. */
const MAX_ACTION_BYTES = 16 * 1024;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-store'): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': cache,
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}

/** A hashed asset of a build (`<dir>/assets/<name>`), immutable; false when there is none. */
async function serveAsset(res: ServerResponse, dir: string, name: string): Promise<boolean> {
  if (unsafePathReason(name) !== null) return false;
  const body = await readFile(path.join(dir, 'assets', ...name.split('/'))).catch(() => null);
  if (!body) return false;
  send(res, 200, contentTypeOf(name), body, IMMUTABLE_CACHE);
  return true;
}

/** Starts the demo server on 127.0.0.1. */
export async function startDemoServer({ build, store, collector, port }: DemoServerOptions): Promise<DemoServer> {
  const files = storeHandler(store.backend);
  // The worker posts its batches from this very origin.
  const telemetry = collectorHandler({ collector });
  const shellHtml = await readFile(path.join(build.appDir, 'index.html'), 'utf8');
  const dashboardHtml = await readFile(path.join(build.dashboardDir, 'index.html'));
  const worker = await readFile(path.join(build.appDir, 'sw.js'));

  const routes = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const method = req.method ?? 'GET';
    const wrongHost = wrongHostProblem(req);
    if (wrongHost) return json(res, 403, { error: wrongHost });
    if (await telemetry.handle(req, res)) return;
    if (method === 'POST' && pathname === '/api/actions') {
      const refused = crossSiteProblem(req);
      if (refused) return json(res, 403, { error: refused });
      const result = await dashboardAction(store, (await readBody(req, MAX_ACTION_BYTES)).toString('utf8'));
      return json(res, result.status, result.body);
    }
    if (await files.handle(req, res)) return;
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', `${method} ${pathname} is not allowed`);
    // Without the worker (a first visit, the kill switch) the shell loads the store's importmap.js.
    if (pathname === '/' || pathname === '/index.html') return send(res, 200, 'text/html; charset=utf-8', shellHtml, 'no-cache');
    if (pathname === '/sw.js') return send(res, 200, 'text/javascript; charset=utf-8', worker, 'no-cache');
    if (pathname === '/dashboard' || pathname === '/dashboard/')
      return send(res, 200, 'text/html; charset=utf-8', dashboardHtml, 'no-cache');
    if (pathname === '/api/state') return json(res, 200, await dashboardState(store, collector));
    if (pathname.startsWith('/assets/') && (await serveAsset(res, build.appDir, pathname.slice('/assets/'.length)))) return;
    if (
      pathname.startsWith('/dashboard/assets/') &&
      (await serveAsset(res, build.dashboardDir, pathname.slice('/dashboard/assets/'.length)))
    )
      return;
    send(res, 404, 'text/plain; charset=utf-8', `${pathname} not found`);
  };

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    routes(req, res, pathname).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        return json(res, 413, { error: err.message });
      }
      console.error(`demo server: ${req.method} ${pathname}:`, err);
      json(res, 500, { error: (err as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
