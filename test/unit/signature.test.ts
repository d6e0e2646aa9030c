/**
 * Manifest signatures (docs/manifest.md, "Signature envelope").
 *
 * The signed bytes are exactly the UTF-8 encoding of "tranche-manifest-v1\n" (20 bytes, ending
 * in one line feed) followed by the UTF-8 encoding of the envelope's `payload` string. The first
 * test pins that with an independent signer (node:crypto) and the RFC 8037 test key.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  keyIdOf,
  signManifest,
  trustKeys,
  verifyManifest,
  type Ed25519Jwk,
  type TrustedKeys,
} from '../../src/core/signature.js';
import type { Manifest, SignedEnvelope } from '../../src/core/manifest.js';
import { caught, validManifest } from '../support/documents.js';

/** RFC 8037 appendix A.1/A.2: an Ed25519 key published for tests. */
const RFC8037: Ed25519Jwk = {
  kty: 'OKP',
  crv: 'Ed25519',
  d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
};
const SIGNED_PREFIX = 'tranche-manifest-v1\n';

/** Signs `payload` as tranche does, but with node:crypto rather than the code under test. */
function signRaw(payload: string, jwk: Ed25519Jwk): string {
  return sign(null, Buffer.from(SIGNED_PREFIX + payload, 'utf8'), createPrivateKey({ key: { ...jwk }, format: 'jwk' })).toString(
    'base64url',
  );
}

type Pair = Awaited<ReturnType<typeof generateKeyPair>>;
let a: Pair;
let b: Pair;
let trustA: TrustedKeys;

beforeAll(async () => {
  [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  trustA = await trustKeys([a.publicJwk]);
});

/** A manifest with a non-ASCII seed, so the payload's UTF-8 encoding matters. */
function manifest(): Manifest {
  const m = validManifest();
  m.modules.header!.seed = 'グループ';
  return m;
}

describe('signing', () => {
  it('signs "tranche-manifest-v1\\n" + the UTF-8 payload, as node:crypto computes it', async () => {
    const envelope = await signManifest(manifest(), RFC8037);
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: RFC8037.x }, format: 'jwk' });
    const signature = Buffer.from(envelope.signature, 'base64url');
    expect(signature).toHaveLength(64);
    expect(verify(null, Buffer.from(SIGNED_PREFIX + envelope.payload, 'utf8'), publicKey, signature)).toBe(true);
    expect(verify(null, Buffer.from(envelope.payload, 'utf8'), publicKey, signature)).toBe(false);
    expect(envelope.signature).toBe(signRaw(envelope.payload, RFC8037)); // Ed25519 is deterministic
    expect(JSON.parse(envelope.payload)).toEqual({ ...manifest(), keyId: envelope.keyId });
  });

  it('derives stable key ids: the first 16 base64url characters of SHA-256 over the raw public key', async () => {
    const expected = createHash('sha256').update(Buffer.from(RFC8037.x, 'base64url')).digest('base64url').slice(0, 16);
    expect(expected).toBe('If4x36FUomFia_hU');
    expect(await keyIdOf(RFC8037)).toBe(expected);
    expect(await keyIdOf({ kty: 'OKP', crv: 'Ed25519', x: RFC8037.x })).toBe(expected);
    expect((await signManifest(manifest(), RFC8037)).keyId).toBe(expected);
    expect([a.keyId, await keyIdOf(a.publicJwk), await keyIdOf(a.privateJwk), a.publicJwk.kid]).toEqual(Array(4).fill(a.keyId));
    expect(a.keyId).not.toBe(b.keyId);
  });

  it('refuses a public key, naming the file it came from', async () => {
    const err = await caught(() => signManifest(manifest(), a.publicJwk, 'keys/public.jwk'));
    expect(err.name).toBe('invalid-key');
    expect(err.message).toBe('keys/public.jwk: not a usable Ed25519 key: this is a public key; signing needs the private key (with "d")');
  });

  it('refuses a key whose x is not 32 base64url bytes, and names which trusted key is bad', async () => {
    const signErr = await caught(() => signManifest(manifest(), { ...a.privateJwk, x: '!!!' }, 'keys/private.jwk'));
    expect(signErr.name).toBe('invalid-key');
    expect(signErr.message).toBe('keys/private.jwk: not a usable Ed25519 key: expected "x" to be 32 bytes as 43 base64url characters');
    const trustErr = await caught(() => trustKeys([a.publicJwk, { ...b.publicJwk, x: 'AAAA' }]));
    expect(trustErr.message).toMatch(/^trusted key #2: /);
  });

  it('refuses to sign an invalid manifest', async () => {
    const bad = manifest();
    bad.modules.cart!.rollouts[0]!.percent = 150;
    expect((await caught(() => signManifest(bad, a.privateJwk))).name).toBe('invalid-document');
  });
});

describe('verifying', () => {
  let envelope: SignedEnvelope;
  beforeAll(async () => {
    envelope = await signManifest(manifest(), a.privateJwk);
  });
  /** The envelope as a client reads it: parsed from the served JSON. */
  const served = (changes: Partial<SignedEnvelope> = {}): unknown => JSON.parse(JSON.stringify({ ...envelope, ...changes }));

  it('round-trips: returns the manifest that was signed', async () => {
    expect(await verifyManifest(served(), { trusted: trustA })).toEqual({ ...manifest(), keyId: a.keyId });
  });

  it('rejects a payload changed by one character', async () => {
    const payload = envelope.payload.replace('"sequence":42', '"sequence":43');
    expect(payload).not.toBe(envelope.payload);
    const err = await caught(() => verifyManifest(served({ payload }), { trusted: trustA }));
    expect(err.name).toBe('bad-signature');
    expect(err.message).toBe(`manifest signature does not verify with key ${a.keyId}: the payload was altered or signed by another key`);
  });

  it('rejects a signature made by another key that claims the trusted key id', async () => {
    const payload = envelope.payload; // names a.keyId, signed below with b
    const err = await caught(() => verifyManifest(served({ signature: signRaw(payload, b.privateJwk) }), { trusted: trustA }));
    expect(err.name).toBe('bad-signature');
  });

  it('rejects an unknown key id, listing the trusted ones', async () => {
    const err = await caught(async () => verifyManifest(await signManifest(manifest(), b.privateJwk), { trusted: trustA }));
    expect(err.name).toBe('unknown-key');
    expect(err.message).toBe(`manifest is signed with key ${b.keyId}, which is not trusted (trusted: ${a.keyId})`);
  });

  it('rejects a manifest without a signature', async () => {
    const { signature: _, ...unsigned } = envelope;
    const err = await caught(() => verifyManifest(unsigned, { trusted: trustA }));
    expect(err.name).toBe('missing-signature');
  });

  it('rejects a payload that names another key than its envelope', async () => {
    const payload = JSON.stringify({ ...JSON.parse(envelope.payload), keyId: b.keyId });
    const err = await caught(() => verifyManifest(served({ payload, signature: signRaw(payload, a.privateJwk) }), { trusted: trustA }));
    expect(err.name).toBe('key-mismatch');
    expect(err.message).toBe(`manifest envelope names key ${a.keyId} but its payload names ${b.keyId}`);
  });

  it('rejects a replayed sequence (equal or lower) and accepts a newer one', async () => {
    for (const lastSequence of [42, 50]) {
      const err = await caught(() => verifyManifest(served(), { trusted: trustA, lastSequence }));
      expect(err.name).toBe('stale-sequence');
      expect(err.message).toBe(
        `manifest sequence 42 is not greater than the last accepted ${lastSequence} (replayed or rolled-back manifest)`,
      );
    }
    expect((await verifyManifest(served(), { trusted: trustA, lastSequence: 41 })).sequence).toBe(42);
  });

  it('rejects a manifest at or after its expiry and accepts it before', async () => {
    const expires = Date.parse(manifest().expires!);
    for (const now of [new Date(expires), new Date(expires + 1)]) {
      const err = await caught(() => verifyManifest(served(), { trusted: trustA, now }));
      expect(err.name).toBe('expired');
      expect(err.message).toBe(`manifest expired at ${manifest().expires} (now ${now.toISOString()})`);
    }
    expect((await verifyManifest(served(), { trusted: trustA, now: new Date(expires - 1) })).expires).toBe(manifest().expires);
  });

  it('accepts manifests signed by either key while both are trusted (rotation)', async () => {
    const both = await trustKeys([a.publicJwk, b.publicJwk]);
    const byB = await signManifest({ ...manifest(), sequence: 43 }, b.privateJwk);
    expect((await verifyManifest(served(), { trusted: both, lastSequence: 41 })).keyId).toBe(a.keyId);
    expect((await verifyManifest(byB, { trusted: both, lastSequence: 42 })).keyId).toBe(b.keyId);
  });
});
