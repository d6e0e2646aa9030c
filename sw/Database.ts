/**
 * Everything the worker must remember across restarts, in one IndexedDB database (via idb).
 * Each method is one transaction, so a worker stopped at any moment leaves either the state
 * before or the state after it. The atomic swap of a module version is `commit`: the only way
 * a version becomes what new page loads get.
 */
import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { Manifest, ReleaseRecord, SignedEnvelope } from '../src/core/manifest.js';
import type { Snapshot, StagingFailureReason, WorkerCondition } from '../src/core/protocol.js';

/** Who this browser is for bucketing: the app identity, when set, takes precedence. */
export interface Identity { anonymousId: string; userId: string | null }
/** The last manifest that passed verification. */
export interface AcceptedManifest { envelope: SignedEnvelope; manifest: Manifest; acceptedAt: number }
/** The worker's condition, persisted so that a restart does not forget it was degraded. */
export interface StatusRow { condition: WorkerCondition; why: string; since: number }
/** QA overrides by module. */
export type Overrides = Record<string, { version: string; expires: number }>;

interface ControlValues { identity: Identity; manifest: AcceptedManifest; status: StatusRow; overrides: Overrides }
type ControlKey = keyof ControlValues;

/** What the manifest assigned, for which identity, and from which manifest sequence. */
export interface Assignment { version: string; bucket: number; sequence: number; identity: string }
/** Why the last staging of a version failed, and when to try again. */
export interface StagingFailure { version: string; reason: StagingFailureReason; message: string; attempts: number; retryAt: number }
/** One module on this browser. */
export interface ModuleRow {
  module: string;
  /** What new page loads get: always a version whose files are all verified and stored. */
  current: string | null;
  /** Earlier current versions, newest first, at most `retainVersions`. */
  previous: string[];
  assignment: Assignment | null;
  /** The last staging failure of the version this module is moving to (cleared by `commit`). */
  failure: StagingFailure | null;
}
/** One module@version this browser has a verified record of. */
export interface VersionRow {
  key: string;
  module: string;
  version: string;
  record: ReleaseRecord;
  /** `ready`: every file verified and stored; set only by `commit`, so ready means committed. */
  status: 'staging' | 'ready';
}
/** The snapshot pinned to one client (page or worker) for its whole life. */
export interface ClientRow { clientId: string; snapshot: Snapshot; pinnedAt: number }

interface TrancheDB extends DBSchema {
  control: { key: ControlKey; value: { key: ControlKey; value: unknown } };
  modules: { key: string; value: ModuleRow };
  versions: { key: string; value: VersionRow };
  clients: { key: string; value: ClientRow };
}

type Tx<S extends StoreNames<TrancheDB>[]> = IDBPTransaction<TrancheDB, S, 'readwrite'>;

/** Name of the IndexedDB database. */
export const DB_NAME = 'tranche';
const DB_VERSION = 1;

/** The row of a module this browser has not seen before. */
export function emptyModule(module: string): ModuleRow {
  return { module, current: null, previous: [], assignment: null, failure: null };
}

/** Typed access to tranche's IndexedDB database. */
export class Database {
  private constructor(private readonly _db: IDBPDatabase<TrancheDB>) {}

  /** Opens (creating or upgrading) the database through `factory`. */
  static async open(factory: IDBFactory, name = DB_NAME): Promise<Database> {
    // idb's openDB reads the global indexedDB; going through `wrap` keeps the factory a seam.
    const request = factory.open(name, DB_VERSION);
    request.addEventListener('upgradeneeded', () => {
      const db = request.result;
      db.createObjectStore('control', { keyPath: 'key' });
      db.createObjectStore('modules', { keyPath: 'module' });
      db.createObjectStore('versions', { keyPath: 'key' });
      db.createObjectStore('clients', { keyPath: 'clientId' });
    });
    const db = (await wrap(request)) as unknown as IDBPDatabase<TrancheDB>;
    // A newer worker upgrading the schema, or the kill switch deleting it, must not wait on us.
    db.addEventListener('versionchange', () => db.close());
    return new Database(db);
  }

  /** Deletes the database (kill switch); open connections close themselves on `versionchange`. */
  static async destroy(factory: IDBFactory, name = DB_NAME): Promise<void> {
    await wrap(factory.deleteDatabase(name));
  }

  close(): void {
    this._db.close();
  }

  /** Everything a starting worker reads, in one transaction. */
  async load(): Promise<{ identity?: Identity; manifest: AcceptedManifest | null; status?: StatusRow; overrides: Overrides; modules: ModuleRow[]; versions: VersionRow[] }> {
    const tx = this._db.transaction(['control', 'modules', 'versions'], 'readonly');
    const [control, modules, versions] = await Promise.all([tx.objectStore('control').getAll(), tx.objectStore('modules').getAll(), tx.objectStore('versions').getAll()]);
    const get = <K extends ControlKey>(key: K) => control.find((row) => row.key === key)?.value as ControlValues[K] | undefined;
    return { identity: get('identity'), manifest: get('manifest') ?? null, status: get('status'), overrides: get('overrides') ?? {}, modules, versions };
  }

  async setControl<K extends ControlKey>(key: K, value: ControlValues[K]): Promise<void> {
    await this._db.put('control', { key, value });
  }

  async modules(): Promise<ModuleRow[]> {
    return this._db.getAll('modules');
  }

  async versions(): Promise<VersionRow[]> {
    return this._db.getAll('versions');
  }

  async version(key: string): Promise<VersionRow | undefined> {
    return this._db.get('versions', key);
  }

  async putVersion(row: VersionRow): Promise<void> {
    await this._db.put('versions', row);
  }

  /**
   * Stores a newly accepted manifest together with what it changes in the module rows, in one
   * transaction: a restart never sees the new manifest with the old assignments.
   */
  async acceptManifest(accepted: AcceptedManifest, update: (rows: Map<string, ModuleRow>) => void): Promise<ModuleRow[]> {
    const tx = this._db.transaction(['control', 'modules'], 'readwrite');
    await tx.objectStore('control').put({ key: 'manifest', value: accepted });
    return this._finishModules(tx, update);
  }

  /** Changes module rows (assignments, fallbacks) in one transaction; returns every row after it. */
  async updateModules(update: (rows: Map<string, ModuleRow>) => void): Promise<ModuleRow[]> {
    return this._finishModules(this._db.transaction(['modules'], 'readwrite'), update);
  }

  /**
   * The atomic swap: marks module@version ready and makes it the module's current version,
   * keeping the version it replaces first among at most `retain` previous ones. Fails (and
   * changes nothing) when the version row is missing.
   */
  async commit(module: string, version: string, retain: number): Promise<ModuleRow> {
    const tx = this._db.transaction(['versions', 'modules'], 'readwrite');
    const versions = tx.objectStore('versions');
    const row = await versions.get(`${module}@${version}`);
    // Nothing was written yet, so throwing leaves the transaction to commit empty.
    if (!row) throw new Error(`Invariant violated (commit): ${module}@${version} has no version row`);
    await versions.put({ ...row, status: 'ready' });
    const rows = await this._finishModules(tx, (all) => {
      const mod = all.get(module) ?? emptyModule(module);
      const previous = mod.current && mod.current !== version ? [mod.current, ...mod.previous] : mod.previous;
      all.set(module, { ...mod, current: version, previous: previous.filter((v) => v !== version).slice(0, retain), failure: null });
    });
    return rows.find((r) => r.module === module)!;
  }

  async client(clientId: string): Promise<ClientRow | undefined> {
    return this._db.get('clients', clientId);
  }

  async clients(): Promise<ClientRow[]> {
    return this._db.getAll('clients');
  }

  async putClient(row: ClientRow): Promise<void> {
    await this._db.put('clients', row);
  }

  /** Forgets the given clients' snapshots and version rows in one transaction (clean-up). */
  async forget(clientIds: readonly string[], versionKeys: readonly string[]): Promise<void> {
    const tx = this._db.transaction(['clients', 'versions'], 'readwrite');
    await Promise.all([
      ...clientIds.map((id) => tx.objectStore('clients').delete(id)),
      ...versionKeys.map((key) => tx.objectStore('versions').delete(key)),
      tx.done,
    ]);
  }

  private async _finishModules<S extends StoreNames<TrancheDB>[]>(tx: Tx<S>, update: (rows: Map<string, ModuleRow>) => void): Promise<ModuleRow[]> {
    const store = tx.objectStore('modules' as S[number]) as unknown as ReturnType<Tx<['modules']>['objectStore']>;
    const rows = new Map((await store.getAll()).map((row) => [row.module, row]));
    const before = [...rows.keys()];
    update(rows);
    await Promise.all([
      ...before.filter((name) => !rows.has(name)).map((name) => store.delete(name)),
      ...[...rows.values()].map((row) => store.put(row)),
      tx.done,
    ]);
    return [...rows.values()];
  }
}
