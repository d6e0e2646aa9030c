/**
 * The collector over HTTP: a request handler any Node server can mount, and `startCollector`,
 * the server `tranche collect` runs.
 *
 * | request | answer |
 * | --- | --- |
 * | `POST /api/telemetry` | a worker's batch: 200 `{ accepted, duplicates }`, 400/413 `{ error }` with the reason, 403 cross-site |
 * | `OPTIONS /api/telemetry` | CORS preflight, for workers posting from an allowed origin |
 * | `GET /api/figures?from=&to=` | figures per module@version over a window (epoch ms), for `--metrics <url>` |
 * | `GET /metrics` | Prometheus text exposition |
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { MAX_BATCH_BYTES } from '../core/telemetry.js';
import { BodyTooLarge, crossSiteProblem, originAllowed, readBody, type RequestGuardOptions } from '../release/http.js';
import { openCollector, type Collector, type CollectorOptions, type VersionFigures } from './Collector.js';
import { collectorMetrics } from './metrics.js';

/** What `collectorHandler` serves. */
export interface CollectorHandlerOptions extends RequestGuardOptions {
  collector: Collector;
  /** Serve `GET /metrics`. @default true */
  metrics?: boolean;
}

/** Mount in any Node server: `if (await handler.handle(req, res)) return;`. */
export interface CollectorHandler {
  /** Answers the collector's requests; false (nothing written) for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/** What `GET /api/figures` answers. */
export interface FiguresAnswer {
  from: number;
  to: number;
  figures: VersionFigures[];
}

const TELEMETRY_PATH = '/api/telemetry';
export const FIGURES_PATH = '/api/figures';
const METRICS_PATH = '/metrics';

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

/** A bounded epoch-ms query parameter, or `fallback` when absent; null when unusable. */
function timeParam(params: URLSearchParams, name: string, fallback: number): number | null {
  const text = params.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  return /^\d{1,15}$/.test(text) && Number.isSafeInteger(n) ? n : null;
}

/** The collector's request handler. */
export function collectorHandler({ collector, metrics = true, ...guard }: CollectorHandlerOptions): CollectorHandler {
  let registry: Registry | null = null;
  if (metrics) registry = collectorMetrics(collector);
  const cors = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    return origin && originAllowed(origin, guard.allowedOrigins) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
  };

  const telemetry = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const problem = crossSiteProblem(req, guard);
    if (problem) return json(res, 403, { error: problem });
    let body: Buffer;
    try {
      body = await readBody(req, MAX_BATCH_BYTES);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      if (res.destroyed) return;
      return json(res, 413, { error: err.message }, { connection: 'close', ...cors(req) });
    }
    const result = collector.ingest(body);
    json(res, result.status, result.body, cors(req));
  };

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://collector');
      const method = req.method ?? 'GET';
      if (url.pathname === TELEMETRY_PATH) {
        if (method === 'POST') await telemetry(req, res);
        else if (method === 'OPTIONS' && Object.keys(cors(req)).length) {
          res.writeHead(204, {
            ...cors(req),
            'access-control-allow-methods': 'POST',
            'access-control-allow-headers': 'content-type',
            'access-control-max-age': '600',
          });
          res.end();
        } else json(res, method === 'OPTIONS' ? 403 : 405, { error: `${method} ${TELEMETRY_PATH} is not allowed` });
        return true;
      }
      if (url.pathname === FIGURES_PATH && method === 'GET') {
        const now = collector.now();
        const from = timeParam(url.searchParams, 'from', 0);
        const to = timeParam(url.searchParams, 'to', now + 1);
        if (from === null || to === null) json(res, 400, { error: 'from and to: expected epoch milliseconds' });
        else json(res, 200, { from, to, figures: collector.figures({ from, to }) } satisfies FiguresAnswer);
        return true;
      }
      if (url.pathname === METRICS_PATH && method === 'GET' && registry) {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return true;
      }
      return false;
    },
  };
}

/** How `startCollector` runs. */
export interface StartCollectorOptions extends Omit<CollectorOptions, 'readonly'>, RequestGuardOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
}

/** A running collector server. */
export interface RunningCollector {
  /** `http://<host>:<port>/`; batches go to `<url>api/telemetry`. */
  readonly url: string;
  readonly collector: Collector;
  close(): Promise<void>;
}

/** Starts a collector server (what `tranche collect` runs). */
export async function startCollector({
  port,
  host = '127.0.0.1',
  allowedOrigins,
  allowedHosts,
  ...options
}: StartCollectorOptions): Promise<RunningCollector> {
  const collector = openCollector(options);
  const handler = collectorHandler({ collector, allowedOrigins, allowedHosts });
  const server = createServer((req, res) => {
    handler
      .handle(req, res)
      .then((handled) => {
        if (!handled) json(res, 404, { error: `${req.method} ${req.url} not found` });
      })
      .catch((err: unknown) => {
        console.error(`tranche collect: ${req.method} ${req.url}:`, err);
        if (res.headersSent) res.destroy();
        else json(res, 500, { error: (err as Error).message });
      });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch (err) {
    collector.close();
    throw err;
  }
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`,
    collector,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          collector.close();
          resolve();
        });
      }),
  };
}
