/**
 * Where everything lives in a store (docs/manifest.md, "Store layout"). Paths relative to the
 * store are what the manifest and the service worker use; absolute ones are for the file system.
 */
import { join, resolve } from 'node:path';

/** The absolute paths of one store's documents. */
export interface StoreLayout {
  readonly root: string;
  readonly manifest: string;
  readonly history: string;
  readonly lock: string;
  readonly keysDir: string;
  readonly recordsDir: string;
  readonly filesDir: string;
  /** `records/<module>/<version>.json` relative to the store, as `manifest.releases` names it. */
  recordPath(module: string, version: string): string;
  /** Absolute path of a store-relative path. */
  abs(relative: string): string;
  blob(sha256: string): string;
  key(keyId: string): string;
}

/** The layout of the store at `dir` (resolved against the working directory). */
export function storeLayout(dir: string): StoreLayout {
  const root = resolve(dir);
  return {
    root,
    manifest: join(root, 'manifest.json'),
    history: join(root, 'history.jsonl'),
    // A dot file: static servers that hide dot files will not serve it.
    lock: join(root, '.tranche.lock'),
    keysDir: join(root, 'keys'),
    recordsDir: join(root, 'records'),
    filesDir: join(root, 'files'),
    recordPath: (module, version) => `records/${module}/${version}.json`,
    abs: (relative) => join(root, ...relative.split('/')),
    blob: (sha256) => join(root, 'files', sha256),
    key: (keyId) => join(root, 'keys', `${keyId}.jwk`),
  };
}
