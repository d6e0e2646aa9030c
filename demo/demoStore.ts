/**
 * The demo's key pair and release store, made with the real release code (tranche/node), so
 * `tranche <verb> --store <store> --key <keys>/private.jwk` acts on the running demo.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { keyIdOf, type Ed25519Jwk } from '../src/core/signature.js';
import { keygen, openStore, type ReleaseStore } from '../src/release/index.js';
import type { BuiltModule } from './buildModules.js';

/** The demo's key pair on disk. */
export interface DemoKeys {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The public JWK the demo's worker trusts. */
  publicKey: Ed25519Jwk;
  keyId: string;
}

/** The stable version every module starts with. */
export const FIRST_STABLE = '1.0.0';

/** The key pair in `dir`, generated there first when `dir` has none. */
export async function demoKeys(dir: string): Promise<DemoKeys> {
  const privateKeyPath = path.join(dir, 'private.jwk');
  const publicKeyPath = path.join(dir, 'public.jwk');
  const exists = await readFile(privateKeyPath).then(
    () => true,
    () => false,
  );
  if (!exists) await keygen(dir);
  const publicKey = JSON.parse(await readFile(publicKeyPath, 'utf8')) as Ed25519Jwk;
  return { privateKeyPath, publicKeyPath, publicKey, keyId: await keyIdOf(publicKey) };
}

/** What `prepareDemoStore` found or did. */
export interface PreparedStore {
  store: ReleaseStore;
  /** False when `dir` already held a store, which is then used as it is. */
  created: boolean;
  /** Set when the store's manifest is signed by another key than the demo's: its worker will refuse it. */
  keyWarning?: string;
}

/**
 * Opens the store at `dir`. A directory without a manifest gets every built module version
 * released and `1.0.0` of each module promoted; the other versions stay released but not live.
 */
export async function prepareDemoStore(dir: string, keys: DemoKeys, modules: readonly BuiltModule[]): Promise<PreparedStore> {
  const store = openStore(dir, { key: keys.privateKeyPath, actor: 'tranche demo' });
  const status = await store.status();
  if (status.sequence > 0) {
    const keyWarning =
      status.keyId !== keys.keyId
        ? `the store in ${dir} is signed by key ${status.keyId}, ` +
          `but the demo's worker trusts ${keys.keyId} (${keys.publicKeyPath}): pass the --keys that made it`
        : undefined;
    return { store, created: false, ...(keyWarning && { keyWarning }) };
  }
  for (const built of modules) await store.release(built.dir, { module: built.module, version: built.version, entry: built.entry });
  for (const module of new Set(modules.map((m) => m.module))) await store.promote(module, FIRST_STABLE);
  return { store, created: true };
}
