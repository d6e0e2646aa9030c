/**
 * What every tranche HTTP endpoint that changes state shares: reading a bounded body, and the
 * guard that refuses cross-site and wrong-host requests (CSRF, DNS rebinding).
 */
import type { IncomingMessage } from 'node:http';

/** A body past its limit. */
export class BodyTooLarge extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`body of at least ${size} bytes is over the limit of ${limit}`);
  }
}

// A body this far past its limit is not drained to answer politely: the connection is dropped.
const DRAIN_LIMIT_FACTOR = 16;

/**
 * The request body, rejected with BodyTooLarge past `limit` bytes. An oversized body is still
 * read to its end (up to a bound) before the refusal, so the client gets to read the 413.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit * DRAIN_LIMIT_FACTOR) req.destroy();
    });
    req.on('end', () => (size > limit ? reject(new BodyTooLarge(size, limit)) : resolve(Buffer.concat(chunks))));
    // Dropped (by us past the drain bound, or by the client): nobody is left to answer.
    req.on('close', () => reject(new BodyTooLarge(size, limit)));
    req.on('error', reject);
  });
}

/** Who may send state-changing requests. */
export interface RequestGuardOptions {
  /**
   * Origins (`https://app.example`) allowed besides the server's own, e.g. an app whose workers
   * post telemetry to a collector on another origin.
   * @default []
   */
  allowedOrigins?: readonly string[];
  /**
   * `Host` values (`name` or `name:port`) the server answers to. Anything else is refused, so a
   * page on a rebound DNS name cannot reach it.
   * @default loopback names only: 127.0.0.1, localhost, [::1] (any port)
   */
  allowedHosts?: readonly string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function hostAllowed(host: string, allowed: readonly string[] | undefined): boolean {
  const name = host.replace(/:\d+$/, '').toLowerCase();
  if (!allowed) return LOOPBACK.has(name);
  return allowed.some((a) => a.toLowerCase() === host.toLowerCase() || a.toLowerCase() === name);
}

/** True when `origin` (an `Origin` header) is one of `allowed`. */
export function originAllowed(origin: string, allowed: readonly string[] = []): boolean {
  return allowed.some((a) => a.replace(/\/$/, '').toLowerCase() === origin.toLowerCase());
}

/**
 * Why a request must be refused because of its `Host` (answer 403 with it), or null: a name the
 * server does not answer to is a page on a rebound DNS name (DNS rebinding) reaching it.
 */
export function wrongHostProblem(req: IncomingMessage, allowedHosts?: readonly string[]): string | null {
  const host = req.headers.host ?? '';
  return hostAllowed(host, allowedHosts) ? null : `Host ${JSON.stringify(host)} is not one this server answers to`;
}

/**
 * Why a state-changing request must be refused (answer 403 with it), or null when it may run:
 * its `Host` is not one the server answers to (wrongHostProblem); its body is not declared JSON
 * (a form or a no-cors fetch cannot declare it, and a cross-origin fetch that does needs a CORS
 * preflight the server does not grant); or a browser sent it from another origin that is not
 * allowed. Requests without `Origin` (curl, scripts) are not a browser's and pass the origin
 * check, unless `Sec-Fetch-Site` says a browser sent them from another site.
 */
export function crossSiteProblem(req: IncomingMessage, { allowedOrigins, allowedHosts }: RequestGuardOptions = {}): string | null {
  const wrongHost = wrongHostProblem(req, allowedHosts);
  if (wrongHost) return wrongHost;
  const host = req.headers.host ?? '';
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return `content-type ${JSON.stringify(type)}: expected application/json`;
  const origin = req.headers.origin;
  if (origin === undefined) {
    const site = req.headers['sec-fetch-site'];
    return site === 'cross-site' || site === 'same-site' ? `${site} request without an Origin refused` : null;
  }
  let sameOrigin = false;
  try {
    sameOrigin = new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    // "null" (a sandboxed or file page) and anything unparsable are not the server's origin
  }
  if (sameOrigin || originAllowed(origin, allowedOrigins)) return null;
  const others = allowedOrigins?.length ? `, ${allowedOrigins.join(', ')}` : '';
  return `cross-origin request from ${JSON.stringify(origin)} refused (allowed: this server's own origin${others})`;
}
