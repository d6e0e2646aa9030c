/**
 * Where one app's worker keeps its state on its origin (docs/service-worker.md, "Several apps
 * on one origin"): an IndexedDB database and three Cache Storage caches, all named after the
 * worker's namespace, so that two apps on one origin (workers with different scopes) never read,
 * clean up or wipe each other's state.
 */

/** The names of one app's storage. */
export interface StorageNames {
  /** The IndexedDB database (sw/Database.ts). */
  database: string;
  /** The cache of verified module file bytes (sw/FileStore.ts). Its `-v1` changes if the stored form ever does. */
  filesCache: string;
  /** The cache of the app's HTML copies (sw/Shell.ts). */
  shellCache: string;
  /** The cache of committed module files under their module URLs, with the condition marker (sw/ModuleCopies.ts). */
  copiesCache: string;
}

/** The names under `namespace`; the empty namespace keeps the names tranche used before namespaces. */
export function storageNames(namespace: string): StorageNames {
  const suffix = namespace === '' ? '' : `:${namespace}`;
  return {
    database: `tranche${suffix}`,
    filesCache: `tranche-files-v1${suffix}`,
    shellCache: `tranche-shell-v1${suffix}`,
    copiesCache: `tranche-copies-v1${suffix}`,
  };
}

/**
 * The default namespace of a worker with scope `scope`: empty at the origin's root (so the one
 * app of an origin keeps the storage it had before namespaces existed), else the scope's path,
 * such as `/shop/`.
 */
export function defaultNamespace(scope: string): string {
  const path = new URL(scope).pathname;
  return path === '/' ? '' : path;
}
