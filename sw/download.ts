/**
 * Downloads whose bytes must hash to a value from the signed root. A mismatch is first taken
 * for a stale copy (a CDN edge or a non-atomic deploy, angular #34636 #40070): the bytes are
 * asked for once more past every cache before the download counts as an integrity failure.
 */
import { TrancheError } from '../src/core/TrancheError.js';
import { assertSha256, sha256Hex } from '../src/core/integrity.js';
import type { Adapter } from './Adapter.js';

/** Query parameter that makes the second request miss any cache keyed by URL. */
const CACHE_BUST_PARAM = 'tranche-bust';

async function download(adapter: Adapter, url: string, init: RequestInit): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await adapter.fetch(url, { ...init, credentials: 'same-origin' });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new TrancheError('download', { url, reason: (err as Error).message || 'network error' });
  }
  if (!response.ok) throw new TrancheError('download', { url, reason: `HTTP ${response.status}` });
  try {
    return await response.arrayBuffer();
  } catch (err) {
    throw new TrancheError('download', { url, reason: `the body ended early (${(err as Error).message || 'connection closed'})` });
  }
}

/**
 * The bytes at `url`, checked against `sha256` (hex); `what` names them in errors. Throws
 * `download` or, after the one refetch, `integrity`.
 */
export async function downloadVerified(
  adapter: Adapter,
  url: string,
  sha256: string,
  what: string,
  signal?: AbortSignal,
): Promise<ArrayBuffer> {
  const first = await download(adapter, url, { signal: signal ?? null });
  if ((await sha256Hex(first)) === sha256) return first;
  const busted = new URL(url);
  busted.searchParams.set(CACHE_BUST_PARAM, String(adapter.now()));
  const second = await download(adapter, busted.href, { cache: 'reload', signal: signal ?? null });
  await assertSha256(second, sha256, what);
  return second;
}
