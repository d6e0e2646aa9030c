/**
 * Everything the worker must remember across restarts, in one IndexedDB database (via idb).
 * Each method is one transaction, so a worker stopped at any moment leaves either the state
 * before or the state after it. The atomic swap of a module version is `commit`: the only way
 * a version becomes what new page loads get, besides `markBad`, which moves a module off a
 * version that failed on this client (docs/fallback.md).
 */
import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { BadVersion } from '../src/core/clientMessages.js';
import type { Manifest, ReleaseRecord, SignedEnvelope } from '../src/core/manifest.js';
import type { Snapshot, StagingFailureReason, WorkerCondition } from '../src/core/protocol.js';
import type { TelemetryBatch, TelemetryEvent } from '../src/core/telemetry.js';

/** Who this browser is for bucketing: the app identity, when set, takes precedence. */
export interface Identity {
  anonymousId: string;
  userId: string | null;
}
/** The last manifest that passed verification. */
export interface AcceptedManifest {
  envelope: SignedEnvelope;
  manifest: Manifest;
  /**
   * When a check last confirmed it (accepted it, or found it unchanged): what `maxManifestAgeMs`
   * counts from. Stored apart as the `confirmed` control row too (`Database.condition`).
   */
  acceptedAt: number;
}
/** The worker's condition, persisted so that a restart does not forget it was degraded. */
export interface StatusRow {
  condition: WorkerCondition;
  why: string;
  since: number;
}
/** QA overrides by module. */
export type Overrides = Record<string, { version: string; expires: number }>;

/** The control rows: who this browser is, the accepted manifest, the worker's condition, the overrides. */
export interface ControlState {
  identity?: Identity;
  manifest: AcceptedManifest | null;
  status?: StatusRow;
  overrides: Overrides;
}

/** Everything a starting worker reads. */
export interface StoredState extends ControlState {
  modules: ModuleRow[];
  versions: VersionRow[];
  bad: BadVersion[];
}

/** What a worker started for a module file reads before it answers (`Database.condition`). */
export interface Condition {
  status?: StatusRow;
  /** When the accepted manifest was last confirmed (its `acceptedAt`), absent before the first. */
  confirmed?: number;
}

interface ControlValues {
  identity: Identity;
  /** Its `acceptedAt` is when it was accepted; a later check's confirmation is the `confirmed` row's. */
  manifest: AcceptedManifest;
  /**
   * When a check last confirmed the accepted manifest: a small row, written by each check that
   * finds the manifest unchanged (rewriting the manifest for it cost a 1,000-module one ~0.5 MB a
   * check) and read alone at start (reading the manifest made the first answer wait for it).
   */
  confirmed: number;
  status: StatusRow;
  overrides: Overrides;
}
type ControlKey = keyof ControlValues;

/** What the manifest assigned, for which identity, and from which manifest sequence. */
export interface Assignment {
  version: string;
  bucket: number;
  sequence: number;
  identity: string;
}
/** Why the last staging of a version failed, and when to try again. */
export interface StagingFailure {
  version: string;
  reason: StagingFailureReason;
  message: string;
  attempts: number;
  retryAt: number;
}
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
  /** `committed`: every file verified and stored, and committed by `commit` (servable). */
  status: 'staging' | 'committed';
  /** When a page load running it last called `ready()` (epoch ms); absent: never on this client. */
  healthyAt?: number;
}
/** The snapshot pinned to one client (page or worker) for its whole life. */
export interface ClientRow {
  clientId: string;
  snapshot: Snapshot;
  pinnedAt: number;
  /**
   * When the page called `ready()` (epoch ms), null until then. Absent on rows pinned by a
   * worker older than automatic fallback: those pages are never judged for their boot.
   */
  ready?: number | null;
}
/** A telemetry batch waiting to be sent, with its retry schedule. */
export interface TelemetryRow {
  id: string;
  created: number;
  batch: TelemetryBatch;
  attempts: number;
  retryAt: number;
}

interface TrancheDB extends DBSchema {
  control: { key: ControlKey; value: { key: ControlKey; value: unknown } };
  modules: { key: string; value: ModuleRow };
  versions: { key: string; value: VersionRow };
  clients: { key: string; value: ClientRow };
  bad: { key: [string, string]; value: BadVersion };
  telemetry: { key: string; value: TelemetryRow };
  /** Telemetry events not yet in a batch, in the order they happened (auto-increment keys). */
  events: { key: number; value: TelemetryEvent };
}

type Tx<S extends StoreNames<TrancheDB>[]> = IDBPTransaction<TrancheDB, S, 'readwrite'>;

/**
 * 1: control, modules, versions, clients. 2: bad marks and the telemetry queue. 3: a committed
 * version row's status is `committed` (it was `ready`, a word now kept for a page's healthy boot).
 * 4: telemetry events are stored as they happen, before they are batched.
 */
const DB_VERSION = 4;

/** The row of a module this browser has not seen before. */
export function emptyModule(module: string): ModuleRow {
  return { module, current: null, previous: [], assignment: null, failure: null };
}

/** Typed access to tranche's IndexedDB database. */
export class Database {
  private constructor(private readonly _db: IDBPDatabase<TrancheDB>) {}

  /**
   * Opens (creating or upgrading) the database through `factory`. `onLost` is called when the
   * database is taken away from under the open connection: deleted (DevTools, a page's
   * `indexedDB.deleteDatabase`, cleared site data) or closed by the browser.
   */
  static async open(factory: IDBFactory, name: string, onLost: () => void = () => undefined): Promise<Database> {
    // idb's openDB reads the global indexedDB; going through `wrap` keeps the factory a seam.
    const request = factory.open(name, DB_VERSION);
    // Each step adds what its version brought, so a database of any older version keeps its data.
    request.addEventListener('upgradeneeded', ({ oldVersion }) => {
      const db = request.result;
      if (oldVersion < 1) {
        db.createObjectStore('control', { keyPath: 'key' });
        db.createObjectStore('modules', { keyPath: 'module' });
        db.createObjectStore('versions', { keyPath: 'key' });
        db.createObjectStore('clients', { keyPath: 'clientId' });
      }
      if (oldVersion < 2) {
        db.createObjectStore('bad', { keyPath: ['module', 'version'] });
        db.createObjectStore('telemetry', { keyPath: 'id' });
      }
      if (oldVersion >= 1 && oldVersion < 3) renameCommittedStatus(request.transaction!.objectStore('versions'));
      if (oldVersion < 4) db.createObjectStore('events', { autoIncrement: true });
    });
    const db = (await wrap(request)) as unknown as IDBPDatabase<TrancheDB>;
    // A newer worker upgrading the schema, or a deletion, must not wait on us. A deletion (no new
    // version) leaves this connection with nothing to write to: the owner starts a new database.
    db.addEventListener('versionchange', (event) => {
      db.close();
      if (event.newVersion === null) onLost();
    });
    // Fired only when the browser closes the connection itself (its data was cleared), never on close().
    db.addEventListener('close', onLost);
    return new Database(db);
  }

  /**
   * The anonymous id stored in database `name` when that exists, else null; never creates or
   * upgrades it (a worker moving its state to a namespace keeps its clients' cohorts with it).
   */
  static async storedAnonymousId(factory: IDBFactory, name: string): Promise<string | null> {
    const names = (await factory.databases?.()) ?? [];
    if (!names.some((info) => info.name === name)) return null;
    const request = factory.open(name);
    // Deleted meanwhile: opening would create it empty, which must not happen.
    request.addEventListener('upgradeneeded', () => request.transaction!.abort());
    const db = (await wrap(request).catch(() => null)) as IDBPDatabase<TrancheDB> | null;
    if (!db) return null;
    try {
      if (!db.objectStoreNames.contains('control')) return null;
      const row = await db.get('control', 'identity');
      return (row?.value as Identity | undefined)?.anonymousId ?? null;
    } finally {
      db.close();
    }
  }

  /** Deletes the database (kill switch); open connections close themselves on `versionchange`. */
  static async destroy(factory: IDBFactory, name: string): Promise<void> {
    await wrap(factory.deleteDatabase(name));
  }

  close(): void {
    this._db.close();
  }

  /** Everything a starting worker reads, in one transaction. */
  async load(): Promise<StoredState> {
    const tx = this._db.transaction(['control', 'modules', 'versions', 'bad'], 'readonly');
    const [control, modules, versions, bad] = await Promise.all([
      tx.objectStore('control').getAll(),
      tx.objectStore('modules').getAll(),
      tx.objectStore('versions').getAll(),
      tx.objectStore('bad').getAll(),
    ]);
    return { ...controlState(control), modules, versions, bad };
  }

  /**
   * The worker's condition and the manifest's age, in one transaction: what a worker started for
   * a module file needs before it answers, without the manifest, module and version rows.
   */
  async condition(): Promise<Condition> {
    const tx = this._db.transaction('control', 'readonly');
    const [status, confirmed] = await Promise.all([tx.store.get('status'), tx.store.get('confirmed')]);
    // Written before the `confirmed` row existed: the manifest row alone says it.
    const manifest = confirmed ? undefined : await tx.store.get('manifest');
    return {
      status: status?.value as StatusRow | undefined,
      confirmed: (confirmed?.value as number | undefined) ?? (manifest?.value as AcceptedManifest | undefined)?.acceptedAt,
    };
  }

  /** A check found the accepted manifest unchanged at `at`. */
  async confirm(at: number): Promise<void> {
    await this.setControl('confirmed', at);
  }

  /**
   * Writes back, in one transaction, what a worker keeps of a database that was deleted under it:
   * who this browser is (so its buckets stay), the manifest it accepted (so no older one is taken)
   * and the versions that failed here (so none runs again).
   */
  async restore(identity: Identity, manifest: AcceptedManifest | null, bad: readonly BadVersion[]): Promise<void> {
    const tx = this._db.transaction(['control', 'bad'], 'readwrite');
    const control = tx.objectStore('control');
    await Promise.all([
      control.put({ key: 'identity', value: identity }),
      ...(manifest
        ? [control.put({ key: 'manifest', value: manifest }), control.put({ key: 'confirmed', value: manifest.acceptedAt })]
        : []),
      ...bad.map((mark) => tx.objectStore('bad').put(mark)),
      tx.done,
    ]);
  }

  async setControl<K extends ControlKey>(key: K, value: ControlValues[K]): Promise<void> {
    await this._db.put('control', { key, value });
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
    await tx.objectStore('control').put({ key: 'confirmed', value: accepted.acceptedAt });
    return this._finishModules(tx, update);
  }

  /** Changes module rows (assignments, fallbacks) in one transaction; returns every row after it. */
  async updateModules(update: (rows: Map<string, ModuleRow>) => void): Promise<ModuleRow[]> {
    return this._finishModules(this._db.transaction(['modules'], 'readwrite'), update);
  }

  /**
   * The atomic swap: marks module@version committed and makes it the module's current version,
   * keeping the version it replaces first among at most `retain` previous ones. Fails (and
   * changes nothing) when the version row is missing. `wanted` is asked inside the transaction,
   * after every transaction queued before it (a bad mark) has run: false changes nothing and
   * resolves to null.
   */
  async commit(module: string, version: string, retain: number, wanted: () => boolean = () => true): Promise<ModuleRow | null> {
    const tx = this._db.transaction(['versions', 'modules'], 'readwrite');
    const versions = tx.objectStore('versions');
    const row = await versions.get(`${module}@${version}`);
    // Nothing was written yet, so throwing leaves the transaction to commit empty.
    if (!row) throw new Error(`Invariant violated (commit): ${module}@${version} has no version row`);
    if (!wanted()) {
      await tx.done;
      return null;
    }
    await versions.put({ ...row, status: 'committed' });
    // Only this module's row: rewriting every row made staging n modules take n² writes.
    const modules = tx.objectStore('modules');
    const mod = (await modules.get(module)) ?? emptyModule(module);
    const previous = mod.current && mod.current !== version ? [mod.current, ...mod.previous] : mod.previous;
    const next: ModuleRow = { ...mod, current: version, previous: previous.filter((v) => v !== version).slice(0, retain), failure: null };
    await Promise.all([modules.put(next), tx.done]);
    return next;
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

  /**
   * A module version failed on this client: stores its bad mark and, in the same transaction,
   * what that changes in the module rows (the fallback). Returns every row after it, and the
   * mark stored before: when that is not `known` (the mark the caller knows of, null: none),
   * another worker of this browser judged the version first (an old worker and the new one
   * installing run side by side) and nothing is changed. The telemetry `events` (asked after
   * `update`) are stored in the same transaction: a worker stopped right after the fallback
   * still reports it.
   */
  async markBad(
    mark: BadVersion,
    known: BadVersion | null,
    update: (rows: Map<string, ModuleRow>) => void,
    events: () => readonly TelemetryEvent[],
  ): Promise<{ rows: ModuleRow[]; stored: BadVersion | null }> {
    const tx = this._db.transaction(['bad', 'modules', 'events'], 'readwrite');
    const bad = tx.objectStore('bad');
    const stored = (await bad.get([mark.module, mark.version])) ?? null;
    if (strikes(stored) !== strikes(known)) return { rows: await this._finishModules(tx, () => undefined), stored };
    await bad.put(mark);
    const added: Promise<unknown>[] = [];
    const rows = await this._finishModules(tx, (rows) => {
      update(rows);
      for (const event of events()) added.push(tx.objectStore('events').add(event));
    });
    await Promise.all(added);
    return { rows, stored: null };
  }

  /** Deletes bad marks that no longer hold anything back. */
  async forgetBad(marks: readonly BadVersion[]): Promise<void> {
    const tx = this._db.transaction('bad', 'readwrite');
    await Promise.all([...marks.map((m) => tx.store.delete([m.module, m.version])), tx.done]);
  }

  /**
   * A page load called `ready()` at `at`: records it on the client's row and credits the
   * versions `keys` it runs with a healthy boot, in one transaction. Rows clean-up already
   * removed are left alone. False, with nothing written, when the row says it was ready already
   * (its READY reached this worker, or the one it took over from, before).
   */
  async markReady(clientId: string, at: number, keys: readonly string[]): Promise<boolean> {
    const tx = this._db.transaction(['clients', 'versions'], 'readwrite');
    const clients = tx.objectStore('clients');
    const versions = tx.objectStore('versions');
    const client = await clients.get(clientId);
    if (typeof client?.ready === 'number') {
      await tx.done;
      return false;
    }
    const credit = async (key: string) => {
      const row = await versions.get(key);
      if (row) await versions.put({ ...row, healthyAt: at });
    };
    await Promise.all([...(client ? [clients.put({ ...client, ready: at })] : []), ...keys.map(credit), tx.done]);
    return true;
  }

  /** Every telemetry batch waiting to be sent. */
  async telemetryRows(): Promise<TelemetryRow[]> {
    return this._db.getAll('telemetry');
  }

  /** Stores telemetry events (in this order) in one transaction. */
  async addEvents(events: readonly TelemetryEvent[]): Promise<void> {
    const tx = this._db.transaction('events', 'readwrite');
    await Promise.all([...events.map((event) => tx.store.add(event)), tx.done]);
  }

  /**
   * Turns every stored event into batches, in one transaction: `batch` makes the rows of the
   * events (oldest first), which are stored while the events are deleted, and the oldest stored
   * rows past `maxRows` are dropped. A stop at any moment leaves each event once, as an event
   * or in a batch. Resolves to the number of events batched.
   */
  async batchEvents(batch: (events: TelemetryEvent[]) => TelemetryRow[], maxRows: number): Promise<number> {
    const tx = this._db.transaction(['events', 'telemetry'], 'readwrite');
    const events = tx.objectStore('events');
    const [keys, pending, stored] = await Promise.all([events.getAllKeys(), events.getAll(), tx.objectStore('telemetry').getAll()]);
    if (pending.length === 0) {
      await tx.done;
      return 0;
    }
    const rows = batch(pending);
    const excess = stored.length + rows.length - maxRows;
    const dropped = excess > 0 ? stored.sort((a, b) => a.created - b.created).slice(0, excess) : [];
    await Promise.all([
      ...keys.map((key) => events.delete(key)),
      ...rows.map((row) => tx.objectStore('telemetry').put(row)),
      ...dropped.map((row) => tx.objectStore('telemetry').delete(row.id)),
      tx.done,
    ]);
    return pending.length;
  }

  /** Stores telemetry rows and deletes others, in one transaction. */
  async updateTelemetry(put: readonly TelemetryRow[], remove: readonly string[]): Promise<void> {
    const tx = this._db.transaction('telemetry', 'readwrite');
    await Promise.all([...put.map((row) => tx.store.put(row)), ...remove.map((id) => tx.store.delete(id)), tx.done]);
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

  private async _finishModules<S extends StoreNames<TrancheDB>[]>(
    tx: Tx<S>,
    update: (rows: Map<string, ModuleRow>) => void,
  ): Promise<ModuleRow[]> {
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

function controlState(rows: readonly { key: ControlKey; value: unknown }[]): ControlState {
  const get = <K extends ControlKey>(key: K) => rows.find((row) => row.key === key)?.value as ControlValues[K] | undefined;
  const accepted = get('manifest');
  // The later of the two: a worker of an older tranche rewrites the manifest row on confirming it.
  const manifest = accepted && { ...accepted, acceptedAt: Math.max(accepted.acceptedAt, get('confirmed') ?? -Infinity) };
  return { identity: get('identity'), manifest: manifest ?? null, status: get('status'), overrides: get('overrides') ?? {} };
}

/** Schema 3: rewrites the version rows an older worker stored as `ready` to `committed`, in the upgrade's transaction. */
function renameCommittedStatus(versions: IDBObjectStore): void {
  versions.openCursor().addEventListener('success', function (this: IDBRequest<IDBCursorWithValue | null>) {
    const cursor = this.result;
    if (!cursor) return;
    const row = cursor.value as { status: string };
    if (row.status === 'ready') cursor.update({ ...row, status: 'committed' });
    cursor.continue();
  });
}

/** How often a mark says its version failed (0: no mark): marks are told apart by it, since a clock correction may move `at`. */
function strikes(mark: BadVersion | null): number {
  return mark ? (mark.strikes ?? 1) : 0;
}
