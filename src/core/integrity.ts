import { TrancheError } from './TrancheError.js';

/** Anything WebCrypto can digest. */
export type Bytes = ArrayBuffer | ArrayBufferView;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (let i = 0; i < view.length; i++) out += HEX[view[i]!];
  return out;
}

/** SHA-256 of `bytes` as 64 lower-case hex digits, by WebCrypto in Node and browsers alike. */
export async function sha256Hex(bytes: Bytes): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

/** Throws an `integrity` error naming `what` unless `bytes` hash to `expected`. */
export async function assertSha256(bytes: Bytes, expected: string, what: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected) throw new TrancheError('integrity', { what, expected, actual });
}
