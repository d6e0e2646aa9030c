/**
 * Deleting what nothing needs any more. Kept: each module's current and previous versions,
 * the version it is moving to (its verified blobs make the next attempt cheaper), and every
 * version a live client's snapshot names. Modules (through StagingQueue) never runs this while
 * staging or committing, so nothing it deletes can be about to become current.
 */
import { releaseKey } from '../src/core/manifest.js';
import type { Adapter } from './Adapter.js';
import type { Database, ModuleRow, VersionRow } from './Database.js';
import type { FileStore } from './FileStore.js';
import type { CopiedVersion, ModuleCopies } from './ModuleCopies.js';

/**
 * A snapshot is kept this long even when its client is not (yet) listed: the client of a
 * navigation exists only once the response arrives, and must not lose its versions before.
 */
const SNAPSHOT_GRACE_MS = 5 * 60_000;

/** What clean-up removed. */
interface CleanUpResult {
  clients: string[];
  versions: string[];
}

/** Removes unneeded snapshots, version rows and blobs; `targets` maps module -> version being staged. */
export async function cleanUp(
  adapter: Adapter,
  db: Database,
  files: FileStore,
  copies: ModuleCopies,
  modules: readonly ModuleRow[],
  targets: ReadonlyMap<string, string>,
): Promise<CleanUpResult> {
  const live = new Set((await adapter.clients()).map((c) => c.id));
  const now = adapter.now();
  const clients = await db.clients();
  const kept = clients.filter((c) => live.has(c.clientId) || now - c.pinnedAt < SNAPSHOT_GRACE_MS);
  const gone = clients.filter((c) => !kept.includes(c)).map((c) => c.clientId);

  const retained = new Set<string>();
  for (const row of modules) {
    for (const version of [row.current, ...row.previous]) if (version) retained.add(releaseKey(row.module, version));
  }
  for (const [module, version] of targets) retained.add(releaseKey(module, version));
  for (const { snapshot } of kept) {
    for (const [module, version] of Object.entries(snapshot.modules)) retained.add(releaseKey(module, version));
  }

  const versions = await db.versions();
  const dropped = versions.filter((v) => !retained.has(v.key));
  // Copies go first, then rows, then blobs: a worker stopped in between leaves a committed version
  // without copies (answered the long way) or unreferenced blobs, never a copy or a row without its bytes.
  await copies.delete(dropped.map(copiedVersion));
  await db.forget(
    gone,
    dropped.map((v) => v.key),
  );
  const keptVersions = versions.filter((v) => retained.has(v.key));
  const referenced = new Set(keptVersions.flatMap((v) => v.record.files.map((f) => f.sha256)));
  const orphans = [...(await files.stored())].filter((sha) => !referenced.has(sha));
  await files.delete(orphans);
  await copies.reconcile(keptVersions.filter((v) => v.status === 'committed').map(copiedVersion), files);
  return { clients: gone, versions: dropped.map((v) => v.key) };
}

function copiedVersion(row: VersionRow): CopiedVersion {
  return { module: row.module, version: row.version, files: row.record.files };
}
