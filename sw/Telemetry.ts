/**
 * Telemetry (`telemetry` option): turns worker events into the batches of src/core/telemetry.ts
 * and sends them to the collector. Every event is stored in IndexedDB before the work that
 * produced it is acknowledged: a rollback in the same transaction as its bad mark
 * (`eventsOf`, called by sw/Fallback.ts), a healthy boot before `READY` is answered, a page's
 * error counts (one event per report, never one per error) before the report's handling ends,
 * an exposure with its page load's snapshot. Browsers stop workers whenever they like; an event
 * kept in memory until the next batch was lost with the worker. Every `batchIntervalMs` the
 * stored events become batches in one transaction (error counts summed per module@version),
 * which are then sent. A batch that could not be sent waits in IndexedDB with its event ids
 * unchanged (so the collector can drop duplicates) and is retried with exponential back-off, at
 * later flushes and at worker starts.
 */
import { releaseKey } from '../src/core/manifest.js';
import { MAX_EVENT_COUNT, type TelemetryBatch, type TelemetryEvent } from '../src/core/telemetry.js';
import type { Adapter } from './Adapter.js';
import { unskewed } from './clock.js';
import type { Database, TelemetryRow } from './Database.js';
import type { ResolvedTelemetry, WorkerHookEvent } from './options.js';

/** Batches kept while the collector is unreachable; the oldest are dropped past it. */
const MAX_STORED_BATCHES = 100;
/** Longest wait between two attempts to send a batch. */
const MAX_RETRY_DELAY_MS = 60 * 60_000;

type Draft = Omit<TelemetryEvent, 'id'>;

/** Stores, batches and sends telemetry. */
export class Telemetry {
  private _db: Database | null = null;
  private _client = '';
  /** Events waiting for the next write (one transaction for all that arrive while one runs). */
  private _queue: TelemetryEvent[] = [];
  private _writes: Promise<void> = Promise.resolve();
  private _nextWrite: Promise<void> | null = null;
  private _flushTimer: unknown = null;
  private _flushed: Promise<void> | null = null;
  private _endFlush: (() => void) | null = null;
  private _retryTimer: unknown = null;
  private _sending: Promise<void> | null = null;
  private _stopped = false;

  constructor(
    private readonly _options: ResolvedTelemetry,
    private readonly _adapter: Adapter,
    private readonly _track: (work: Promise<unknown>) => void,
  ) {}

  /** Starts storing and sending, as the anonymous client `clientId`; batches and sends what an earlier worker left. */
  attach(db: Database, clientId: string): void {
    this._db = db;
    this._client = clientId;
    this._track(this._write().then(() => this._flush()));
  }

  /** The telemetry events of `event` (none for events telemetry does not report), with new ids. */
  eventsOf(event: WorkerHookEvent): TelemetryEvent[] {
    const time = this._adapter.now();
    const drafts: Draft[] = [];
    switch (event.type) {
      case 'SNAPSHOT_PINNED':
      case 'PAGE_READY': {
        const type = event.type === 'SNAPSHOT_PINNED' ? 'exposure' : 'healthy-boot';
        for (const [module, version] of Object.entries(event.snapshot.modules)) drafts.push({ type, time, module, version });
        break;
      }
      case 'ERRORS_REPORTED':
        for (const { module, version, count } of event.counts)
          drafts.push({ type: 'errors', time, count, ...(module !== null && { module, version: version! }) });
        break;
      case 'ROLLED_BACK':
        drafts.push({
          type: 'rollback',
          time,
          module: event.module,
          version: event.version,
          reason: event.reason,
          ...(event.to !== null && { to: event.to }),
        });
        break;
      case 'STAGING_FAILED':
        drafts.push({ type: 'staging-failed', time, module: event.module, version: event.version, reason: event.reason });
        break;
      case 'MANIFEST_REJECTED':
        drafts.push({ type: 'manifest-rejected', time, reason: event.reason });
        break;
    }
    return drafts.map((draft) => ({ id: this._adapter.randomId(), ...draft }));
  }

  /**
   * Stores what telemetry reports of `event`; resolves once it is in IndexedDB. A rollback is
   * not stored here: sw/Fallback.ts stores it with its bad mark.
   */
  record(event: WorkerHookEvent): Promise<void> {
    if (event.type === 'ROLLED_BACK') {
      this._schedule();
      return Promise.resolve();
    }
    const events = this.eventsOf(event);
    if (events.length === 0) return Promise.resolve();
    // Without storage nothing is ever sent: keep memory bounded all the same.
    const room = MAX_STORED_BATCHES * this._options.maxBatchEvents;
    this._queue.push(...events);
    if (this._queue.length > room) this._queue.splice(0, this._queue.length - room);
    if (!this._db) return Promise.resolve();
    this._schedule();
    return this._write();
  }

  /** Resolves once the events stored so far are batched and a send was tried. */
  keepAlive(): Promise<void> {
    return this._flushed ?? Promise.resolve();
  }

  /** Stops the timers (the worker is going away). */
  stop(): void {
    this._stopped = true;
    if (this._flushTimer !== null) this._adapter.clearTimeout(this._flushTimer);
    if (this._retryTimer !== null) this._adapter.clearTimeout(this._retryTimer);
    this._endFlush?.();
  }

  /** The write that will store the queued events: one at a time, each taking all queued when it starts. */
  private _write(): Promise<void> {
    this._nextWrite ??= this._writes = this._writes
      .catch(() => undefined)
      .then(() => {
        this._nextWrite = null;
        const events = this._queue.splice(0);
        return events.length ? this._db!.addEvents(events) : undefined;
      });
    return this._nextWrite;
  }

  /** Schedules the next flush (stored events become batches and are sent). */
  private _schedule(): void {
    if (this._flushTimer !== null || this._stopped) return;
    this._flushed = new Promise((resolve) => (this._endFlush = resolve));
    this._flushTimer = this._adapter.setTimeout(() => {
      this._flushTimer = null;
      const end = this._endFlush!;
      // After the writes already started: what they store goes in this flush's batches.
      this._track(
        this._write()
          .then(() => this._flush())
          .finally(end),
      );
    }, this._options.batchIntervalMs);
  }

  /** Turns the stored events into stored batches, then sends. */
  private async _flush(): Promise<void> {
    const db = this._db!;
    await db.batchEvents((events) => this._batches(events), MAX_STORED_BATCHES);
    await this._send();
  }

  /** The batches of `events`: error counts summed per module@version, after the other events. */
  private _batches(stored: readonly TelemetryEvent[]): TelemetryRow[] {
    const now = this._adapter.now();
    const errors = new Map<string, TelemetryEvent>();
    const events: TelemetryEvent[] = [];
    for (const event of stored) {
      if (event.type !== 'errors') {
        events.push(event);
        continue;
      }
      const key = event.module === undefined ? '' : releaseKey(event.module, event.version!);
      const known = errors.get(key);
      // A page reporting more than a collector accepts in one event is broken anyway: clamp.
      if (known) known.count = Math.min(known.count! + event.count!, MAX_EVENT_COUNT);
      else errors.set(key, { ...event, count: Math.min(event.count!, MAX_EVENT_COUNT) });
    }
    events.push(...errors.values());
    const rows: TelemetryRow[] = [];
    for (let i = 0; i < events.length; i += this._options.maxBatchEvents) {
      const batch: TelemetryBatch = { format: 1, client: this._client, events: events.slice(i, i + this._options.maxBatchEvents) };
      rows.push({ id: this._adapter.randomId(), created: now + rows.length / 1000, batch, attempts: 0, retryAt: now });
    }
    return rows;
  }

  /** Sends every stored batch that is due, oldest first; one send at a time. */
  private _send(): Promise<void> {
    this._sending ??= this._sendDue().finally(() => (this._sending = null));
    return this._sending;
  }

  private async _sendDue(): Promise<void> {
    const db = this._db!;
    const rows = sortByAge(await db.telemetryRows());
    let next = Infinity;
    for (const [i, row] of rows.entries()) {
      const now = this._adapter.now();
      // Further ahead than the longest back-off: stored under a clock that ran ahead, so due now.
      if (unskewed(row.retryAt, now, MAX_RETRY_DELAY_MS) > now) {
        next = Math.min(next, row.retryAt);
        continue;
      }
      const outcome = await this._post(row.batch);
      if (outcome === 'refused')
        console.warn(
          `tranche: the telemetry collector ${this._options.url} refused a batch of ${row.batch.events.length} events; it is dropped`,
        );
      if (outcome !== 'retry') {
        await db.updateTelemetry([], [row.id]);
        continue;
      }
      const attempts = row.attempts + 1;
      const delay = Math.min(this._options.batchIntervalMs * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS);
      const failed = { ...row, attempts, retryAt: this._adapter.now() + delay };
      // The collector is down: the batches after this one wait for the same retry.
      const later = rows.slice(i + 1).map((r) => ({ ...r, retryAt: Math.max(r.retryAt, failed.retryAt) }));
      await db.updateTelemetry([failed, ...later], []);
      return this._retryAt(failed.retryAt);
    }
    // Batches an earlier worker could not send wait for their own retry time.
    if (next !== Infinity) this._retryAt(next);
  }

  /** 'sent'; 'refused' when the collector rejected the body (retrying cannot help); else 'retry'. */
  private async _post(batch: TelemetryBatch): Promise<'sent' | 'refused' | 'retry'> {
    try {
      const response = await this._adapter.fetch(this._options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // `sent` lets the collector take event times relative to its own clock.
        body: JSON.stringify({ ...batch, sent: this._adapter.now() }),
        cache: 'no-store',
        credentials: 'same-origin',
      });
      if (response.ok) return 'sent';
      const transient = response.status === 408 || response.status === 429 || response.status >= 500;
      return transient ? 'retry' : 'refused';
    } catch {
      return 'retry'; // offline or the collector is down
    }
  }

  private _retryAt(at: number): void {
    if (this._stopped) return;
    if (this._retryTimer !== null) this._adapter.clearTimeout(this._retryTimer);
    this._retryTimer = this._adapter.setTimeout(
      () => {
        this._retryTimer = null;
        this._track(this._send());
      },
      Math.max(0, at - this._adapter.now()),
    );
  }
}

function sortByAge(rows: TelemetryRow[]): TelemetryRow[] {
  return rows.sort((a, b) => a.created - b.created);
}
