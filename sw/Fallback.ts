/**
 * Automatic fallback on this client (docs/fallback.md): which page loads booted healthily, what
 * their error reports prove, and the switch away from a version that failed. The decisions are
 * the pure policy of src/core/fallbackPolicy.ts; this class feeds it page loads, reports and the
 * clock, persists what it decides and tells every page.
 */
import { TrancheError } from '../src/core/TrancheError.js';
import type { BadVersion, ErrorEntry, ReportErrorsMessage, RolledBackEvent } from '../src/core/clientMessages.js';
import { chooseFallback, type Failure, type FallbackPolicy, type PageLoad } from '../src/core/fallbackPolicy.js';
import { releaseKey, type Manifest } from '../src/core/manifest.js';
import type { Snapshot } from '../src/core/protocol.js';
import type { TelemetryEvent } from '../src/core/telemetry.js';
import type { Adapter } from './Adapter.js';
import type { BadMarks } from './BadMarks.js';
import { unskewed } from './clock.js';
import type { Database, ModuleRow } from './Database.js';
import type { Modules } from './Modules.js';
import type { BroadcastEvent, ErrorCount, WorkerHookEvent } from './options.js';
import type { SnapshotBook } from './SnapshotBook.js';

/** What fallback needs from the worker around it. */
interface FallbackHost {
  manifest(): Manifest | null;
  /** Tells every page and the hooks. */
  emit(event: BroadcastEvent): void;
  /** Tells the hooks only; resolves once telemetry stored it. */
  notify(event: WorkerHookEvent): Promise<void>;
  /** The telemetry events of `event`, stored by the caller (sw/Telemetry.ts `eventsOf`). */
  telemetryOf(event: WorkerHookEvent): TelemetryEvent[];
  /** Keeps the worker alive until `work` settles; logs what it throws. */
  track(work: Promise<unknown>): void;
}

/** A page load waiting for its boot deadline. */
interface BootWatch {
  page: PageLoad;
  timer: unknown;
  end: () => void;
  ended: Promise<void>;
}

/** Bad marks, readiness and boot deadlines of this client. */
export class Fallback {
  private readonly _policy: FallbackPolicy;
  private readonly _watches = new Map<string, BootWatch>();
  /** Modules moved to a fallback that is still staging: navigations wait for it (bounded). */
  private readonly _recovering = new Set<string>();

  /** Forgets the stored marks no longer remembered (`marks.forgiven`). */
  constructor(
    private readonly _adapter: Adapter,
    private readonly _db: Database,
    private readonly _snapshots: SnapshotBook,
    private readonly _modules: Modules,
    private readonly _marks: BadMarks,
    private readonly _host: FallbackHost,
  ) {
    this._policy = _marks.policy;
    if (_marks.forgiven.length) _host.track(_db.forgetBad(_marks.forgiven));
  }

  /** The bad marks in force, for `GET_STATE`. */
  marks(): BadVersion[] {
    return this._marks.all().filter((mark) => this._modules.isBad(mark.module, mark.version));
  }

  /** Modules whose fallback is still being staged (their current version is none meanwhile). */
  recovering(): string[] {
    for (const module of this._recovering) if (this._modules.row(module)?.current) this._recovering.delete(module);
    return [...this._recovering];
  }

  /** Resolves once no boot deadline is pending (a worker kept alive that long can judge it). */
  async keepAlive(): Promise<void> {
    await Promise.all([...this._watches.values()].map((w) => w.ended));
  }

  /** Worker start: re-arms the deadlines of page loads that have not called `ready()` (timers died with the last worker). */
  async resume(): Promise<void> {
    for (const row of await this._db.clients()) {
      // `ready` undefined: pinned before fallback existed, or a worker inheriting its page's snapshot.
      // Pinned "in the future": the clock was set back since; the page's boot time runs from now.
      if (row.ready === null) this.watch(row.clientId, row.snapshot, unskewed(row.pinnedAt, this._adapter.now(), 0));
    }
  }

  /** A page load was pinned at `started`: judge its boot at its deadline if it runs a version new here. */
  watch(clientId: string, snapshot: Snapshot, started: number): void {
    const page: PageLoad = { nonce: snapshot.id, modules: snapshot.modules, started, ready: null };
    const untested = Object.entries(page.modules).some(([m, v]) => !this._modules.isProven(m, v) && !this._modules.isBad(m, v));
    if (!clientId || !untested || this._watches.has(clientId)) return;
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const wait = Math.max(0, this._policy.bootDeadline(page) - this._adapter.now());
    const timer = this._adapter.setTimeout(() => this._host.track(this._judgeBoot(clientId).finally(end)), wait);
    this._watches.set(clientId, { page, timer, end, ended });
  }

  /**
   * `READY` from client `clientId`: credits its snapshot's versions with a healthy boot. The
   * nonce must be that client's own page load (null: the page has no injected snapshot, so the
   * client's pinned one counts). Throws `unknown-page-load` when it is not.
   */
  async ready(clientId: string, nonce: string | null): Promise<void> {
    const snapshot = await this._snapshotOf(clientId, nonce);
    if (!snapshot) {
      if (nonce === null) return; // a page that runs no module: nothing to credit
      throw new TrancheError('unknown-page-load', { nonce });
    }
    this._unwatch(clientId);
    const now = this._adapter.now();
    const keys = Object.entries(snapshot.modules)
      .filter(([m, v]) => !this._modules.isBad(m, v))
      .map(([m, v]) => releaseKey(m, v));
    // A READY asked again (the page's controller changed before it answered) counts once.
    if (!(await this._db.markReady(clientId, now, keys))) return;
    this._modules.credit(keys, now);
    // READY is answered once its healthy boot is stored.
    await this._host.notify({ type: 'PAGE_READY', clientId, snapshot });
  }

  /**
   * `REPORT_ERRORS` from client `clientId`: O(entries), no storage write unless a version
   * fails. A report whose nonce is not the client's own load blames nothing.
   */
  async report(clientId: string, { nonce, entries, dropped }: ReportErrorsMessage): Promise<void> {
    const snapshot = await this._snapshotOf(clientId, nonce);
    const recorded = this._host.notify({ type: 'ERRORS_REPORTED', clientId, counts: countErrors(snapshot, entries, dropped) });
    if (!snapshot) return recorded;
    const page: PageLoad = { nonce: snapshot.id, modules: snapshot.modules, started: Date.parse(snapshot.created), ready: null };
    const failures = this._policy.judgeReports(page, entries, this._adapter.now(), (ref) => this._modules.isBad(ref.module, ref.version));
    await Promise.all([recorded, ...failures.map((failure) => this.fail(failure))]);
  }

  /**
   * module@version failed here. In one transaction: its bad mark, and the module's current
   * version moved to the fallback (the last good cached version, else the manifest's stable
   * one) when it was the failed one. Then every page is told, and the fallback is staged when
   * it is not stored yet.
   */
  async fail({ module, version, reason }: Failure): Promise<void> {
    if (this._modules.isBad(module, version)) return;
    const earlier = this._marks.get(module, version);
    const assigned = this._modules.row(module)?.assignment?.version ?? null;
    const mark = this._policy.markBad({ module, version, reason }, this._adapter.now(), assigned, earlier);
    // In memory first: from here on no target, commit or fallback picks the failed version.
    this._marks.add(mark);
    const stable = this._host.manifest()?.modules[module]?.stable ?? null;
    const replacement = chooseFallback(version, this._modules.cached(module), stable, (v) => this._modules.isBad(module, v));
    const decided: { to: string | null } = { to: null };
    const rolledBack = (): RolledBackEvent => ({ type: 'ROLLED_BACK', module, version, reason, to: decided.to });
    const { rows, stored } = await this._db.markBad(
      mark,
      earlier,
      (rows) => {
        const row = rows.get(module);
        if (!row) return;
        const next = this._switch(row, version, replacement);
        rows.set(module, next.row);
        decided.to = next.to;
      },
      () => this._host.telemetryOf(rolledBack()),
    );
    this._modules.adopt(rows);
    if (stored) {
      // Another worker of this browser judged it first, and told the pages: its verdict stands.
      this._marks.add(stored);
      return;
    }
    if (decided.to !== null && !this._modules.servable(module, decided.to)) this._recovering.add(module);
    this._host.emit(rolledBack());
    this._modules.announceAndStage();
  }

  private _switch(row: ModuleRow, failed: string, fallback: string | null): { row: ModuleRow; to: string | null } {
    const previous = row.previous.filter((v) => v !== failed);
    if (row.current !== failed) {
      // New page loads already get another version: pages on the failed one reload into it.
      const to = row.current !== null && !this._modules.isBad(row.module, row.current) ? row.current : null;
      return { row: { ...row, previous }, to };
    }
    // Nothing better: the module stays where it is and pages are not reloaded.
    if (fallback === null) return { row: { ...row, previous }, to: null };
    // A fallback that is not stored yet is staged; meanwhile new page loads wait for it.
    const current = this._modules.servable(row.module, fallback) ? fallback : null;
    return { row: { ...row, current, previous: previous.filter((v) => v !== fallback) }, to: fallback };
  }

  private async _judgeBoot(clientId: string): Promise<void> {
    const watch = this._watches.get(clientId);
    this._watches.delete(clientId);
    if (!watch) return;
    // Only a page still open failed to boot: a user who left before it was ready proves nothing.
    const open = (await this._adapter.clients()).some((client) => client.id === clientId && client.type === 'window');
    if (!open) return;
    // Its READY may have reached another worker of this browser (the one this one took over from).
    if (typeof (await this._db.client(clientId))?.ready === 'number') return;
    const failures = this._policy.judgeBoot(
      watch.page,
      this._adapter.now(),
      (ref) => this._modules.isProven(ref.module, ref.version),
      (ref) => this._modules.isBad(ref.module, ref.version),
    );
    await Promise.all(failures.map((failure) => this.fail(failure)));
  }

  private _unwatch(clientId: string): void {
    const watch = this._watches.get(clientId);
    if (!watch) return;
    this._adapter.clearTimeout(watch.timer);
    this._watches.delete(clientId);
    watch.end();
  }

  /** Stops every boot timer (worker stop in tests; timers die with the worker anyway). */
  stop(): void {
    for (const clientId of [...this._watches.keys()]) this._unwatch(clientId);
  }

  /** The snapshot of `clientId` when `nonce` names it (or is null), else null. */
  private async _snapshotOf(clientId: string, nonce: string | null): Promise<Snapshot | null> {
    const snapshot = await this._snapshots.of(clientId);
    return snapshot && (nonce === null || snapshot.id === nonce) ? snapshot : null;
  }
}

/**
 * Error counts per module@version of one report. An entry naming a version the page does not
 * run, and errors the page only counted, are unattributed: a forged report inflates nothing.
 */
function countErrors(snapshot: Snapshot | null, entries: readonly ErrorEntry[], dropped: number): ErrorCount[] {
  const counts = new Map<string, ErrorCount>();
  const add = (module: string | null, version: string | null, count: number) => {
    const key = module === null || version === null ? '' : releaseKey(module, version);
    const known = counts.get(key);
    if (known) known.count += count;
    else counts.set(key, { module, version, count });
  };
  for (const entry of entries) {
    const runs = entry.module !== null && snapshot?.modules[entry.module] === entry.version;
    if (runs) add(entry.module, entry.version, entry.count);
    else add(null, null, entry.count);
  }
  if (dropped > 0) add(null, null, dropped);
  return [...counts.values()];
}
