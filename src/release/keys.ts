/**
 * Signing keys: generating a pair, reading a JWK file, and the store's `keys/`: the public keys
 * it trusts to sign its manifests. The first publish trusts its signer; another key is trusted
 * only by `tranche keys add` (ReleaseStore.trustKey), signed by a key already trusted and recorded
 * in history, so a mistyped `--key` is refused instead of publishing what every worker rejects.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrancheError } from '../core/TrancheError.js';
import { generateKeyPair, trustKeys, type Ed25519Jwk, type TrustedKeys } from '../core/signature.js';
import { parseJson } from '../core/validate.js';
import { unlessMissing } from './missing.js';
import { utf8, type StoreBackend } from './StoreBackend.js';
import { KEYS, documentKind, keyPath } from './storeLayout.js';

/** Where `keygen` wrote the pair, and its key id. */
export interface KeygenResult {
  keyId: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

/**
 * Writes a new Ed25519 pair to `<outDir>/private.jwk` (mode 0600) and `<outDir>/public.jwk`.
 * Refuses (`exists`) if either file is already there: overwriting a key loses it for good.
 */
export async function keygen(outDir: string): Promise<KeygenResult> {
  const privateKeyPath = join(outDir, 'private.jwk');
  const publicKeyPath = join(outDir, 'public.jwk');
  await mkdir(outDir, { recursive: true });
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (
      await readFile(path).then(
        () => true,
        () => false,
      )
    )
      throw new TrancheError('exists', { path });
  }
  const { privateJwk, publicJwk, keyId } = await generateKeyPair();
  const write = (path: string, jwk: Ed25519Jwk, mode: number) =>
    writeFile(path, `${JSON.stringify(jwk, null, 2)}\n`, { flag: 'wx', mode }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new TrancheError('exists', { path }) : err;
    });
  await write(privateKeyPath, privateJwk, 0o600);
  await write(publicKeyPath, publicJwk, 0o644);
  return { keyId, privateKeyPath, publicKeyPath };
}

/** The JSON in a key file; `what` names the file's role in errors (e.g. "--key"). */
export async function readJwkFile(path: string, what: string): Promise<unknown> {
  const text = await unlessMissing(readFile(path, 'utf8'));
  if (text === null) throw new TrancheError('not-found', { what: `${what} file ${path}` });
  return parseJson(text, `${what} file ${path}`);
}

/** What a store's `keys/` holds. */
interface StoreKeys {
  /** The keys it trusts to sign its manifests, by key id. */
  keys: TrustedKeys;
  /** Their files, e.g. `keys/<keyId>.jwk`. */
  files: string[];
  /** Files that are not usable public keys, one line each. */
  problems: string[];
  /** Private keys (a JWK with "d") found there: never trusted, served nor copied. */
  exposed: string[];
}

/** True when `bytes` are a JWK holding a private part ("d"), which must never leave its owner's machine. */
export function isPrivateJwk(bytes: Uint8Array): boolean {
  try {
    const jwk = JSON.parse(utf8(bytes)) as unknown;
    return typeof jwk === 'object' && jwk !== null && 'd' in jwk;
  } catch {
    return false;
  }
}

/** The keys a store trusts: the public keys in `keys/`. A file that is not one is reported, not trusted. */
export async function storeKeys(backend: StoreBackend): Promise<StoreKeys> {
  const keys = new Map<string, CryptoKey>();
  const found: StoreKeys = { keys, files: [], problems: [], exposed: [] };
  for (const where of (await backend.list(KEYS)).filter((path) => documentKind(path)?.name === 'key')) {
    try {
      const bytes = (await backend.read(where)) ?? new Uint8Array();
      if (isPrivateJwk(bytes)) {
        found.exposed.push(where);
        continue;
      }
      for (const [id, key] of await trustKeys([parseJson(utf8(bytes), where)], where)) keys.set(id, key);
      found.files.push(where);
    } catch (err) {
      found.problems.push((err as Error).message);
    }
  }
  return found;
}

/** The line `verify` prints for a private key found in `keys/`. */
export function exposedKeyWarning(where: string): string {
  return (
    `warning: ${where} is a private key (it has "d"): remove it from the store now; ` +
    'tranche never trusts, serves nor copies it, but anyone who read it can sign manifests ' +
    '(rotate to a new key if it was ever public)'
  );
}

/** Writes the public part of `jwk` to `keys/<keyId>.jwk`: from then on the store trusts it. */
export async function saveTrustedKey(backend: StoreBackend, jwk: Ed25519Jwk, keyId: string): Promise<void> {
  const publicJwk: Ed25519Jwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: keyId };
  await backend.create(keyPath(keyId), `${JSON.stringify(publicJwk, null, 2)}\n`);
}
