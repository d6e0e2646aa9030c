/**
 * Signing keys: generating a pair, reading a JWK file, and the store's `keys/`
 * of public keys that signed its manifests (what `verify` trusts when given no key).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrancheError } from '../core/TrancheError.js';
import { generateKeyPair, trustKeys, type Ed25519Jwk, type TrustedKeys } from '../core/signature.js';
import { parseJson } from '../core/validate.js';
import { unlessMissing } from './missing.js';
import { readText, type StoreBackend } from './StoreBackend.js';
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

/** The store's public keys; a file that is not a usable key is reported, not trusted. */
export async function storeKeys(backend: StoreBackend): Promise<{ keys: TrustedKeys; files: string[]; problems: string[] }> {
  const keys = new Map<string, CryptoKey>();
  const files: string[] = [];
  const problems: string[] = [];
  for (const where of (await backend.list(KEYS)).filter((path) => documentKind(path)?.name === 'key')) {
    try {
      const trusted = await trustKeys([parseJson((await readText(backend, where)) ?? '', where)], where);
      for (const [id, key] of trusted) keys.set(id, key);
      files.push(where);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { keys, files, problems };
}

/** Adds the signer's public key to `keys/` (before the manifest it signed becomes visible). */
export async function saveSignerKey(backend: StoreBackend, privateJwk: Ed25519Jwk, keyId: string): Promise<void> {
  const publicJwk: Ed25519Jwk = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, kid: keyId };
  await backend.create(keyPath(keyId), `${JSON.stringify(publicJwk, null, 2)}\n`);
}
