/** SHA-256 by WebCrypto, checked against the FIPS 180-2 examples. */
import { describe, expect, it } from 'vitest';
import { assertSha256, sha256Hex, toHex } from '../../src/core/integrity.js';
import { caught } from '../support/documents.js';

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const bytes = (text: string) => new TextEncoder().encode(text);

describe('integrity', () => {
  it('hashes bytes, buffers and views alike', async () => {
    expect(await sha256Hex(bytes('abc'))).toBe(ABC);
    expect(await sha256Hex(bytes('abc').buffer)).toBe(ABC);
    expect(await sha256Hex(new DataView(bytes('xabcx').buffer, 1, 3))).toBe(ABC);
    expect(await sha256Hex(new Uint8Array(0))).toBe(EMPTY);
  });

  it('writes lower-case hex with leading zeros', () => {
    expect(toHex(Uint8Array.of(0, 1, 0xab, 0xff))).toBe('0001abff');
  });

  it('accepts matching bytes and names what did not match', async () => {
    await assertSha256(bytes('abc'), ABC, 'files/x');
    const err = await caught(() => assertSha256(bytes('abd'), ABC, 'cart@2.0.0 index.js'));
    expect(err.name).toBe('integrity');
    expect(err.message).toMatch(new RegExp(`^cart@2\\.0\\.0 index\\.js: SHA-256 mismatch, expected ${ABC}, got [0-9a-f]{64}$`));
  });
});
