/**
 * Each module on this browser and the work that moves it forward: planning (which version it
 * should run), staging, the atomic commit and clean-up. The Driver owns the manifest, the
 * identity and the overrides; Fallback (sw/Fallback.ts) moves a module off a version that
 * failed here. Both change module rows only through this class. Built by the Driver once the
 * persisted state is loaded, with everything it needs.
 */
import type { CachedVersion } from '../src/core/fallbackPolicy.js';
import { releaseKey, type Manifest } from '../src/core/manifest.js';
import type { WorkerModuleState, WorkerEvent } from '../src/core/protocol.js';
import type { Adapter } from './Adapter.js';
import type { BadMarks } from './BadMarks.js';
import { desiredVersion, planModules, type ForcedMove } from './assignment.js';
import { cleanUp } from './cleanUp.js';
import type { Database, ModuleRow, Overrides, StoredState, VersionRow } from './Database.js';
import type { FileStore } from './FileStore.js';
import type { ResolvedOptions } from './options.js';
import { MAX_RETRY_DELAY_MS, Stager, failureOf } from './Stager.js';
import { unskewed } from './clock.js';
import { StagingQueue } from './StagingQueue.js';
import { workerModuleState } from './workerModuleState.js';

/** What the modules need from the worker around them. */
export interface ModuleHost {
  /** The accepted manifest, or null before the first one. */
  manifest(): Manifest | null;
  /** Every stored QA override (expired ones are ignored where read). */
  overrides(): Overrides;
  /** False once the worker stopped intercepting (kill switch, no storage). */
  intercepting(): boolean;
  emit(event: WorkerEvent): void;
  /** Keeps the worker alive until `work` settles. */
  track(work: Promise<unknown>): void;
  /** Clean-up removed these clients' snapshots. */
  forgetClients(clientIds: readonly string[]): void;
}

/** Module and version rows in memory over IndexedDB, and the staging that changes them. */
export class Modules {
  private _rows: Map<string, ModuleRow>;
  private readonly _versions: Map<string, VersionRow>;
  private readonly _announced = new Map<string, string>();
  private readonly _queue: StagingQueue;
  private readonly _stager: Stager;

  /** Starts from the persisted rows (`stored`). */
  constructor(
    private readonly _options: ResolvedOptions,
    private readonly _adapter: Adapter,
    private readonly _db: Database,
    private readonly _files: FileStore,
    private readonly _marks: BadMarks,
    stored: Pick<StoredState, 'modules' | 'versions'>,
    private readonly _host: ModuleHost,
  ) {
    this._rows = new Map(stored.modules.map((row) => [row.module, row]));
    this._versions = new Map(stored.versions.map((row) => [row.key, row]));
    this._stager = new Stager(_adapter, _db, _files, _options.storeBase);
    this._queue = new StagingQueue(_adapter, {
      stage: (module, signal) => this._stage(module, signal),
      cleanUp: () => this._cleanUp(),
      track: (work) => _host.track(work),
    });
  }

  /** Whether module@version failed on this client and is not offered again yet (a bad mark in force). */
  isBad(module: string, version: string): boolean {
    return this._marks.holds(module, version, this._rows.get(module)?.assignment?.version ?? null);
  }

  /** Every module row. */
  get rows(): ModuleRow[] {
    return [...this._rows.values()];
  }

  row(module: string): ModuleRow | undefined {
    return this._rows.get(module);
  }

  /** Takes the rows a transaction returned as the new state. */
  adopt(rows: readonly ModuleRow[]): void {
    this._rows = new Map(rows.map((row) => [row.module, row]));
  }

  /** Module -> current version: what a new page load gets. */
  currentVersions(): Record<string, string> {
    const modules: Record<string, string> = {};
    for (const row of this._rows.values()) if (row.current) modules[row.module] = row.current;
    return modules;
  }

  /** The row of module@version when it is committed (servable), else null. */
  servable(module: string, version: string): VersionRow | null {
    const row = this._versions.get(releaseKey(module, version));
    return row?.status === 'committed' ? row : null;
  }

  /** The committed versions of `module`, with when each last booted healthily here. */
  cached(module: string): CachedVersion[] {
    return [...this._versions.values()]
      .filter((row) => row.module === module && row.status === 'committed')
      .map((row) => ({ version: row.version, healthyAt: row.healthyAt ?? null }));
  }

  /** Whether module@version booted healthily on this client (as long as it is kept). */
  isProven(module: string, version: string): boolean {
    return this._versions.get(releaseKey(module, version))?.healthyAt !== undefined;
  }

  /** Records in memory what `Database.markReady` stored: these versions booted healthily at `at`. */
  credit(keys: readonly string[], at: number): void {
    for (const key of keys) {
      const row = this._versions.get(key);
      if (row) this._versions.set(key, { ...row, healthyAt: at });
    }
  }

  /** Each module's status for `GET_STATE`. */
  states(overrides: Overrides): Record<string, WorkerModuleState> {
    const targets = this.targets();
    return Object.fromEntries(this.rows.map((row) => [row.module, workerModuleState(row, targets.get(row.module), overrides[row.module])]));
  }

  /**
   * Re-plans every module under `manifest` for identity `key`; `store` persists the plan in one
   * transaction (with the manifest it came from, when new). Announces the versions the manifest
   * took away, then stages what the plan asks for.
   */
  async replan(
    manifest: Manifest,
    key: string,
    store: (plan: (rows: Map<string, ModuleRow>) => void) => Promise<ModuleRow[]>,
  ): Promise<void> {
    let moves: ForcedMove[] = [];
    // A version that failed here is no replacement for a blocked one.
    const good = (m: string, v: string) => this.servable(m, v) !== null && !this.isBad(m, v);
    await this._queue.quiet(); // clean-up must not delete a version a fallback is about to use
    this.adopt(await store((rows) => (moves = planModules(rows, manifest, key, good))));
    for (const f of moves) this._host.emit({ type: 'VERSION_ACTIVATED', module: f.module, version: f.to, previous: f.from });
  }

  /** The version `module` is moving to (wanted but not current), if any. */
  targetOf(module: string): string | undefined {
    const manifest = this._host.manifest();
    const row = this._rows.get(module);
    if (!manifest || !row) return undefined;
    const version = this._target(manifest, row);
    return version && version !== row.current ? version : undefined;
  }

  /** The version each module is moving to (wanted but not current). */
  targets(): Map<string, string> {
    const manifest = this._host.manifest();
    const targets = new Map<string, string>();
    if (!manifest) return targets;
    for (const row of this._rows.values()) {
      const version = this._target(manifest, row);
      if (version && version !== row.current) targets.set(row.module, version);
    }
    return targets;
  }

  /**
   * What `row` should run: its override or assignment, unless that failed on this client; then
   * a good current version stays, else the manifest's stable version (when good) is staged.
   */
  private _target(manifest: Manifest, row: ModuleRow): string | null {
    const desired = desiredVersion(manifest, row, this._host.overrides(), this._adapter.now());
    const bad = (version: string) => this.isBad(row.module, version);
    if (desired === null || !bad(desired)) return desired;
    if (row.current !== null && !bad(row.current)) return row.current;
    const stable = manifest.modules[row.module]?.stable ?? null;
    return stable !== null && !bad(stable) ? stable : null;
  }

  /** Tells pages about new targets once each, and stages them. */
  announceAndStage(): void {
    for (const [module, version] of this.targets()) {
      if (this._announced.get(module) !== version) {
        this._announced.set(module, version);
        this._host.emit({ type: 'VERSION_DETECTED', module, version, current: this._rows.get(module)?.current ?? null });
      }
      this._queue.kick(module);
    }
  }

  /** Resumes staging every module that is moving to another version (worker start). */
  kickAll(): void {
    for (const module of this.targets().keys()) this._queue.kick(module);
  }

  /** Waits (at most `ms`) until `modules` have nothing left to stage. */
  settle(modules: readonly string[], ms: number): Promise<void> {
    return this._queue.settle(modules, ms);
  }

  /** Pages come and go: clean up once no staging runs. */
  cleanUpWhenIdle(): void {
    this._queue.cleanUpWhenIdle();
  }

  /** Stops scheduling staging (timers die with the worker anyway). */
  stop(): void {
    this._queue.stop();
  }

  /** Stops scheduling and waits for the stagings in flight to end (kill switch). */
  abort(): Promise<void> {
    return this._queue.abort();
  }

  /** Stages and commits the version `module` is moving to; returns when to retry on failure. */
  private async _stage(module: string, signal: AbortSignal): Promise<number | null> {
    // One module's target: computing every module's for each of n modules was n² work.
    const version = this.targetOf(module);
    const ref = version && this._host.manifest()?.releases[releaseKey(module, version)];
    if (!version || !ref || !this._host.intercepting()) return null;
    const failure = this._rows.get(module)?.failure;
    const now = this._adapter.now();
    // A retry time further ahead than the longest back-off was set under a clock that ran ahead: retry now.
    if (failure?.version === version && unskewed(failure.retryAt, now, MAX_RETRY_DELAY_MS) > now) return failure.retryAt;
    if (!this.servable(module, version)) {
      try {
        const row = await this._stager.stage({ module, version, ref }, signal, (event) => this._host.emit(event));
        this._versions.set(row.key, row);
      } catch (err) {
        if (signal.aborted) return null;
        return this._recordFailure(module, version, err);
      }
      this._host.emit({ type: 'VERSION_STAGED', module, version });
    }
    // The target may have moved while files downloaded (a newer manifest, a bad mark); the
    // queue runs again for the new one. Asked again inside the commit's transaction.
    const wanted = () => this.targetOf(module) === version;
    if (!wanted()) return null;
    const previous = this._rows.get(module)?.current ?? null;
    const row = await this._db.commit(module, version, this._options.retainVersions, wanted);
    if (!row) return null;
    this._rows.set(module, row);
    const key = releaseKey(module, version);
    const committed = this._versions.get(key);
    if (committed) this._versions.set(key, { ...committed, status: 'committed' });
    this._host.emit({ type: 'VERSION_ACTIVATED', module, version, previous });
    return null;
  }

  private async _recordFailure(module: string, version: string, err: unknown): Promise<number> {
    const failure = failureOf(err, version, this._rows.get(module)?.failure ?? null, this._adapter.now(), this._options.retryDelayMs);
    this.adopt(
      await this._db.updateModules((all) => {
        const row = all.get(module);
        if (row) all.set(module, { ...row, failure });
      }),
    );
    const { reason, message, retryAt } = failure;
    this._host.emit({ type: 'STAGING_FAILED', module, version, reason, message, retryAt });
    return retryAt;
  }

  private async _cleanUp(): Promise<void> {
    if (!this._host.intercepting()) return;
    const result = await cleanUp(this._adapter, this._db, this._files, this.rows, this.targets());
    for (const key of result.versions) this._versions.delete(key);
    this._host.forgetClients(result.clients);
  }
}
