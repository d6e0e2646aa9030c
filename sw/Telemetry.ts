/**
 * The telemetry hook (`telemetry` option): turns worker events into the batches of
 * src/core/telemetry.ts and sends them to the collector. Events are collected in memory (error
 * counts summed per module@version, never one write per error), written to IndexedDB as
 * batches every `batchIntervalMs`, then sent from there. A batch that could not be sent waits
 * in IndexedDB with its event ids unchanged (so the collector can drop duplicates) and is
 * retried with exponential back-off, at later flushes and at worker starts. None of this runs
 * in a fetch's response path: `observe` only appends to memory.
 */
import { releaseKey } from '../src/core/manifest.js';
import { MAX_EVENT_COUNT, type TelemetryBatch, type TelemetryEvent } from '../src/core/telemetry.js';
import type { Adapter } from './Adapter.js';
import { unskewed } from './clock.js';
import type { Database, TelemetryRow } from './Database.js';
import type { ErrorCount, ResolvedTelemetry, WorkerHookEvent } from './options.js';

/** Batches kept while the collector is unreachable; the oldest are dropped past it. */
export const MAX_STORED_BATCHES = 100;
/** Longest wait between two attempts to send a batch. */
const MAX_RETRY_DELAY_MS = 60 * 60_000;

type Draft = Omit<TelemetryEvent, 'id'>;

/** Collects, stores and sends telemetry batches. */
export class Telemetry {
  private _db: Database | null = null;
  private _client = '';
  private _drafts: Draft[] = [];
  private readonly _errors = new Map<string, ErrorCount>();
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

  /** Starts sending, as the anonymous client `clientId`; sends what an earlier worker left. */
  attach(db: Database, clientId: string): void {
    this._db = db;
    this._client = clientId;
    this._track(this._send());
  }

  /** The event hook (sw/Broadcaster.ts): records what telemetry reports of `event`. */
  readonly observe = (event: WorkerHookEvent): void => {
    const time = this._adapter.now();
    switch (event.type) {
      case 'SNAPSHOT_PINNED':
      case 'PAGE_READY': {
        const type = event.type === 'SNAPSHOT_PINNED' ? 'exposure' : 'healthy-boot';
        for (const [module, version] of Object.entries(event.snapshot.modules)) this._add({ type, time, module, version });
        break;
      }
      case 'ERRORS_REPORTED':
        for (const { module, version, count } of event.counts) {
          const key = module === null ? '' : releaseKey(module, version!);
          const known = this._errors.get(key);
          if (known) known.count += count;
          else this._errors.set(key, { module, version, count });
        }
        this._schedule();
        break;
      case 'ROLLED_BACK':
        this._add({
          type: 'rollback',
          time,
          module: event.module,
          version: event.version,
          reason: event.reason,
          ...(event.to !== null && { to: event.to }),
        });
        break;
      case 'STAGING_FAILED':
        this._add({ type: 'staging-failed', time, module: event.module, version: event.version, reason: event.reason });
        break;
      case 'MANIFEST_REJECTED':
        this._add({ type: 'manifest-rejected', time, reason: event.reason });
        break;
    }
  };

  /** Resolves once the events collected so far are stored and a send was tried. */
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

  private _add(draft: Draft): void {
    // Without storage nothing is ever sent: keep memory bounded all the same.
    if (this._drafts.length >= MAX_STORED_BATCHES * this._options.maxBatchEvents) this._drafts.shift();
    this._drafts.push(draft);
    this._schedule();
  }

  private _schedule(): void {
    if (this._flushTimer !== null || this._stopped) return;
    this._flushed = new Promise((resolve) => (this._endFlush = resolve));
    this._flushTimer = this._adapter.setTimeout(() => {
      this._flushTimer = null;
      const end = this._endFlush!;
      this._track(this._flush().finally(end));
    }, this._options.batchIntervalMs);
  }

  /** Turns what was collected into stored batches, then sends. */
  private async _flush(): Promise<void> {
    const db = this._db;
    if (!db) return this._schedule(); // storage not open yet: keep collecting
    const now = this._adapter.now();
    const errors = [...this._errors.values()].map(({ module, version, count }): Draft => ({
      type: 'errors',
      time: now,
      // A page reporting more than a collector accepts in one event is broken anyway: clamp.
      count: Math.min(count, MAX_EVENT_COUNT),
      ...(module !== null && { module, version: version! }),
    }));
    const events = [...this._drafts, ...errors].map((draft): TelemetryEvent => ({ id: this._adapter.randomId(), ...draft }));
    this._drafts = [];
    this._errors.clear();
    if (events.length === 0) return this._send();
    const rows: TelemetryRow[] = [];
    for (let i = 0; i < events.length; i += this._options.maxBatchEvents) {
      const batch: TelemetryBatch = { format: 1, client: this._client, events: events.slice(i, i + this._options.maxBatchEvents) };
      rows.push({ id: this._adapter.randomId(), created: now + rows.length / 1000, batch, attempts: 0, retryAt: now });
    }
    const stored = sortByAge(await db.telemetryRows());
    const excess = stored.length + rows.length - MAX_STORED_BATCHES;
    await db.updateTelemetry(rows, excess > 0 ? stored.slice(0, excess).map((row) => row.id) : []);
    await this._send();
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
