/**
 * Which snapshot each client (page or dedicated worker) runs. A snapshot is taken once per
 * page load and persisted under the client id, because the worker may be stopped and started
 * many times while the page lives; every module request of that client is answered from it.
 */
import type { Snapshot } from '../src/core/protocol.js';
import type { Adapter } from './Adapter.js';
import type { ClientRow, Database } from './Database.js';

/** Snapshots by client id, in memory over IndexedDB. */
export class SnapshotBook {
  private readonly _byClient = new Map<string, Snapshot>();

  /** `track` keeps the worker alive until the work it is given (persisting a snapshot) settles. */
  constructor(
    private readonly _adapter: Adapter,
    private readonly _db: Database,
    private readonly _track: (work: Promise<unknown>) => void,
  ) {}

  /**
   * A new snapshot of `modules` pinned to `clientId` (an empty id pins nothing: the browser
   * gave no client to pin to). It is known to this worker at once and written to IndexedDB a
   * task later, once the navigation's answer is on its way: waiting for the write cost a
   * navigation 4-5 ms before its first byte, and even starting it (a transaction and a
   * structured clone) over 1 ms (`npm run bench`). The worker is kept alive until the write is
   * done. The page's READY comes after it has loaded, so long after the write started; were it
   * ever first, the row would say "not ready" while READY has proven its versions, which a
   * restarted worker's boot check then passes.
   */
  async pin(
    clientId: string,
    sequence: number,
    modules: Record<string, string>,
    overrideErrors: readonly string[] = [],
  ): Promise<Snapshot> {
    const snapshot: Snapshot = {
      id: this._adapter.randomId(),
      sequence,
      modules: { ...modules },
      created: new Date(this._adapter.now()).toISOString(),
      ...(overrideErrors.length ? { overrideErrors: [...overrideErrors] } : {}),
    };
    // `ready: null`: a page load whose boot is judged (docs/fallback.md) until it calls ready().
    if (clientId) this._save({ clientId, snapshot, pinnedAt: this._adapter.now(), ready: null });
    return snapshot;
  }

  /** The snapshot pinned to `clientId`, or null. */
  async of(clientId: string): Promise<Snapshot | null> {
    if (!clientId) return null;
    const known = this._byClient.get(clientId);
    if (known) return known;
    const row = await this._db.client(clientId);
    if (row) this._byClient.set(clientId, row.snapshot);
    return row?.snapshot ?? null;
  }

  /**
   * Gives a dedicated worker its creator's snapshot, so the worker loads the same versions as
   * the page that started it. Returns it (null when the creator has none).
   */
  async inherit(creatorId: string, workerId: string): Promise<Snapshot | null> {
    const snapshot = await this.of(creatorId);
    // No `ready`: a worker is no page load, its creator vouches for the snapshot.
    if (snapshot && workerId && this._byClient.get(workerId) !== snapshot)
      this._save({ clientId: workerId, snapshot, pinnedAt: this._adapter.now() });
    return snapshot;
  }

  /** Forgets clients after clean-up removed their rows. */
  forget(clientIds: readonly string[]): void {
    for (const id of clientIds) this._byClient.delete(id);
  }

  private _save(row: ClientRow): void {
    this._byClient.set(row.clientId, row.snapshot);
    this._track(this._adapter.nextTask().then(() => this._db.putClient(row)));
  }
}
