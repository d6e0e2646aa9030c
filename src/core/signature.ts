/**
 * Ed25519 signatures over the root manifest, by WebCrypto in Node and browsers alike.
 *
 * The signed bytes are exactly `SIGNING_CONTEXT` followed by the UTF-8 bytes of the envelope's
 * `payload` string (docs/manifest.md, "Signature"). Signing the payload text, not a re-serialised
 * object, means no canonical-JSON rules can make a signer and a verifier disagree.
 */
import { TrancheError } from './TrancheError.js';
import { sha256Hex } from './integrity.js';
import { parseEnvelope, parseJson, parseManifest } from './validate.js';
import { FORMAT, type Manifest, type SignedEnvelope } from './manifest.js';

/** Domain separation: a tranche manifest signature cannot be replayed as any other signature. */
const SIGNING_CONTEXT = 'tranche-manifest-v1\n';
const ED25519 = { name: 'Ed25519' } as const;
const encoder = new TextEncoder();

/** An Ed25519 key as JSON Web Key; `d` is present on private keys only. */
export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d?: string;
  kid?: string;
}

/** Trusted public keys by key id, ready for `verifyManifest`. */
export type TrustedKeys = ReadonlyMap<string, CryptoKey>;

function base64urlEncode(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function checkJwk(jwk: unknown, where: string, needPrivate: boolean): Ed25519Jwk {
  const k = jwk as Partial<Ed25519Jwk> | null;
  if (typeof k !== 'object' || k === null || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string') {
    throw new TrancheError('invalid-key', { where, reason: 'expected a JWK with kty "OKP", crv "Ed25519" and x' });
  }
  if (needPrivate && typeof k.d !== 'string')
    throw new TrancheError('invalid-key', { where, reason: 'this is a public key; signing needs the private key (with "d")' });
  // Checked here because keyIdOf decodes x before WebCrypto sees it, and atob would throw a bare DOMException.
  for (const field of ['x', 'd'] as const) {
    const value = k[field];
    if (value !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(value)) {
      throw new TrancheError('invalid-key', { where, reason: `expected "${field}" to be 32 bytes as 43 base64url characters` });
    }
  }
  return k as Ed25519Jwk;
}

/** The key id of a public key: the first 16 base64url characters of SHA-256 over its 32 raw bytes. */
export async function keyIdOf(jwk: Ed25519Jwk): Promise<string> {
  const hex = await sha256Hex(base64urlDecode(jwk.x));
  const bytes = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
  return base64urlEncode(bytes).slice(0, 16);
}

/** A new Ed25519 key pair as JWKs, each carrying its key id in `kid`. */
export async function generateKeyPair(): Promise<{ privateJwk: Ed25519Jwk; publicJwk: Ed25519Jwk; keyId: string }> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const priv = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as Ed25519Jwk;
  const keyId = await keyIdOf(priv);
  return {
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x: priv.x, d: priv.d!, kid: keyId },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: priv.x, kid: keyId },
    keyId,
  };
}

/** Imports public keys (JWKs) into a key-id map. `where` names each key in errors. */
export async function trustKeys(jwks: readonly unknown[], where = 'trusted key'): Promise<TrustedKeys> {
  const map = new Map<string, CryptoKey>();
  for (const [i, jwk] of jwks.entries()) {
    const label = jwks.length > 1 ? `${where} #${i + 1}` : where;
    const k = checkJwk(jwk, label, false);
    try {
      map.set(await keyIdOf(k), await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: k.x }, ED25519, false, ['verify']));
    } catch (err) {
      throw new TrancheError('invalid-key', { where: label, reason: (err as Error).message });
    }
  }
  return map;
}

/** Signs `manifest` (whose `keyId` is replaced by the signing key's id) into an envelope. */
export async function signManifest(manifest: Manifest, privateJwk: unknown, where = 'private key'): Promise<SignedEnvelope> {
  const jwk = checkJwk(privateJwk, where, true);
  const keyId = await keyIdOf(jwk);
  const payload = JSON.stringify({ ...manifest, keyId });
  parseManifest(JSON.parse(payload));
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, ED25519, false, ['sign']);
  } catch (err) {
    throw new TrancheError('invalid-key', { where, reason: (err as Error).message });
  }
  const signature = new Uint8Array(await crypto.subtle.sign(ED25519, key, encoder.encode(SIGNING_CONTEXT + payload)));
  return { format: FORMAT, keyId, signature: base64urlEncode(signature), payload };
}

interface ManifestVerifyOptions {
  /** Public keys accepted as signers (several during a key rotation). */
  trusted: TrustedKeys;
  /** The highest sequence accepted before; a manifest must be newer. Omit to accept any. */
  lastSequence?: number;
  /** Reference time for expiry. @default new Date() */
  now?: Date;
}

/**
 * Checks an envelope read from the network and returns its manifest. Rejects, with a coded
 * error, a missing or bad signature, an unknown key, a payload that fails its schema, a
 * sequence not greater than `lastSequence` and an expired manifest.
 */
export async function verifyManifest(
  input: unknown,
  { trusted, lastSequence, now = new Date() }: ManifestVerifyOptions,
): Promise<Manifest> {
  if (typeof input === 'object' && input !== null && !('signature' in input)) throw new TrancheError('missing-signature', {});
  const envelope = parseEnvelope(input);
  const key = trusted.get(envelope.keyId);
  if (!key) throw new TrancheError('unknown-key', { keyId: envelope.keyId, trusted: [...trusted.keys()] });
  let ok: boolean;
  try {
    ok = await crypto.subtle.verify(ED25519, key, base64urlDecode(envelope.signature), encoder.encode(SIGNING_CONTEXT + envelope.payload));
  } catch {
    ok = false;
  }
  if (!ok) throw new TrancheError('bad-signature', { keyId: envelope.keyId });
  const manifest = parseManifest(parseJson(envelope.payload, 'manifest payload'));
  if (manifest.keyId !== envelope.keyId)
    throw new TrancheError('key-mismatch', { envelopeKeyId: envelope.keyId, payloadKeyId: manifest.keyId });
  if (lastSequence !== undefined && manifest.sequence <= lastSequence) {
    throw new TrancheError('stale-sequence', { sequence: manifest.sequence, lastAccepted: lastSequence });
  }
  if (manifest.expires !== undefined && Date.parse(manifest.expires) <= now.getTime()) {
    throw new TrancheError('expired', { expires: manifest.expires, now: now.toISOString() });
  }
  return manifest;
}
