/**
 * The telemetry collector's store: checks every batch a worker sends (size, nesting, schema,
 * counts, times within a window of this machine's clock), drops events it already holds by id,
 * and keeps per module@version counts per time bucket in one SQLite file. Nothing it stores can
 * make a read fail: counts are bounded on the way in and summed as floats on the way out.
 *
 * better-sqlite3 is an optional peer dependency: only a process that runs a collector needs it
 * (`openCollector` says so in one line when it is missing).
 */
import { createRequire } from 'node:module';
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import { MAX_BATCH_BYTES, parseTelemetryBatch, type TelemetryBatch } from '../core/telemetry.js';
import { parseJson } from '../core/validate.js';

/** How a collector is opened. */
export interface CollectorOptions {
  /** The SQLite file (created when missing); `:memory:` for a throwaway one. */
  db: string;
  /** Width of a time bucket. @default 10000 (10 s) */
  bucketMs?: number;
  /** Oldest event accepted, before the collector's clock. @default 7 days */
  maxAgeMs?: number;
  /** Latest event accepted, after the collector's clock. @default 10 minutes */
  maxAheadMs?: number;
  /** The collector's clock (epoch ms). @default Date.now */
  now?: () => number;
  /** Open the file read-only (an analysis reading a collector's file). */
  readonly?: boolean;
}

/** A time window, epoch ms, `from` inclusive, `to` exclusive. */
export interface TimeWindow {
  from: number;
  to: number;
}

/** What clients reported for one module@version over a window. */
export interface VersionFigures {
  module: string;
  version: string;
  /** Distinct clients that loaded a page running this version. */
  activeClients: number;
  /** Page loads running this version (exposures). */
  pageLoads: number;
  /** Page loads whose app called `ready()`. */
  healthyBoots: number;
  /** Client fallbacks because the version failed to boot (reasons boot-error and boot-timeout). */
  bootErrors: number;
  /** Errors attributed to this version while pages ran. */
  runtimeErrors: number;
  /** Client fallbacks away from this version, all reasons. */
  fallbacks: number;
  /** Client fallbacks per reason. */
  fallbackReasons: Record<string, number>;
  /** Versions that failed to stage (download, integrity, quota). */
  stagingFailures: number;
}

/** Events of one kind for one module@version in the bucket starting at `time`. */
export interface TimelinePoint {
  time: number;
  type: string;
  module: string;
  version: string;
  n: number;
}

/** What the HTTP handler answers for one body. */
export interface IngestResult {
  status: 200 | 400 | 413;
  body: { accepted?: number; duplicates?: number; error?: string };
}

/** Events a collector accepted, for listeners such as the Prometheus metrics. */
export interface AcceptedEvent {
  type: string;
  module: string;
  version: string;
  reason: string;
  count: number;
}

/** Fallback reasons that mean the version failed to boot. */
export const BOOT_FAILURE_REASONS: readonly string[] = ['boot-error', 'boot-timeout'];

const DAY_MS = 24 * 60 * 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_time ON seen (time);
CREATE TABLE IF NOT EXISTS counts (
  bucket INTEGER NOT NULL, module TEXT NOT NULL, version TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL,
  n INTEGER NOT NULL, PRIMARY KEY (bucket, module, version, type, reason)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients (
  bucket INTEGER NOT NULL, module TEXT NOT NULL, version TEXT NOT NULL, client TEXT NOT NULL,
  PRIMARY KEY (bucket, module, version, client)) WITHOUT ROWID;`;

const require = createRequire(import.meta.url);

/** What the collector uses of better-sqlite3's Database (so tranche's types need no @types/better-sqlite3). */
interface Statement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
}

export interface SqliteDatabase {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  pragma(sql: string): unknown;
  transaction<T>(fn: () => T): () => T;
  close(): unknown;
}

/** Loads an optional peer dependency, or fails with one line naming it. */
export function optionalPackage<T>(name: string, feature: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (err as Error).message.includes(`'${name}'`);
    if (missing) throw new TrancheError('missing-dependency', { name, feature });
    throw err;
  }
}

/** Opens (or creates) a collector database. */
export function openCollector(options: CollectorOptions): Collector {
  const Database = optionalPackage<new (path: string, options: object) => SqliteDatabase>('better-sqlite3', 'the telemetry collector');
  return new Collector(new Database(options.db, options.readonly ? { readonly: true, fileMustExist: true } : {}), options);
}

/** A collector database and its queries. Open with `openCollector`. */
export class Collector {
  readonly bucketMs: number;
  private readonly _maxAgeMs: number;
  private readonly _maxAheadMs: number;
  private readonly _now: () => number;
  private readonly _listeners: Array<(events: AcceptedEvent[]) => void> = [];
  private _lastPrune = 0;
  private _statements: { seen: Statement; count: Statement; active: Statement } | null = null;

  constructor(
    private readonly _db: SqliteDatabase,
    { bucketMs = 10_000, maxAgeMs = 7 * DAY_MS, maxAheadMs = 10 * 60_000, now = Date.now, readonly }: CollectorOptions,
  ) {
    this.bucketMs = bucketMs;
    this._maxAgeMs = maxAgeMs;
    this._maxAheadMs = maxAheadMs;
    this._now = now;
    if (readonly) return;
    // WAL: readers (an analysis, the dashboard) never block the writer, and a crash loses at most one batch.
    this._db.pragma('journal_mode = WAL');
    this._db.exec(SCHEMA);
  }

  /** Calls `listener` with the events of every batch accepted from now on (duplicates excluded). */
  onAccepted(listener: (events: AcceptedEvent[]) => void): void {
    this._listeners.push(listener);
  }

  /** Checks and stores one request body; answers 400 or 413 with the reason for bad input, never throws for it. */
  ingest(body: Uint8Array | string): IngestResult {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > MAX_BATCH_BYTES) return { status: 413, body: { error: `body of ${size} bytes is over the limit of ${MAX_BATCH_BYTES}` } };
    let batch: TelemetryBatch;
    try {
      batch = parseTelemetryBatch(parseJson(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'), 'telemetry batch'));
    } catch (err) {
      if (isTrancheError(err)) return { status: 400, body: { error: err.message } };
      throw err;
    }
    const now = this._now();
    // The client's clock may be off: its events are taken relative to when it says it sent them.
    const shift = batch.sent === undefined ? 0 : now - batch.sent;
    const events = batch.events.map((e) => ({ ...e, time: e.time + shift }));
    const outside = events.findIndex((e) => e.time < now - this._maxAgeMs || e.time > now + this._maxAheadMs);
    if (outside >= 0) {
      const e = events[outside]!;
      const where = e.time > now ? `${e.time - now} ms after` : `${now - e.time} ms before`;
      return {
        status: 400,
        body: {
          error:
            `telemetry batch: events[${outside}].time is ${where} the collector's clock; ` +
            `accepted: ${this._maxAgeMs} ms before to ${this._maxAheadMs} ms after`,
        },
      };
    }
    const accepted = this._store(batch.client, events);
    if (now - this._lastPrune > 60_000) this._prune(now);
    for (const listener of this._listeners) listener(accepted);
    return { status: 200, body: { accepted: accepted.length, duplicates: events.length - accepted.length } };
  }

  private _store(client: string, events: TelemetryBatch['events']): AcceptedEvent[] {
    this._statements ??= {
      seen: this._db.prepare('INSERT OR IGNORE INTO seen (id, time) VALUES (?, ?)'),
      count: this._db.prepare(`INSERT INTO counts (bucket, module, version, type, reason, n) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET n = n + excluded.n`),
      active: this._db.prepare('INSERT OR IGNORE INTO clients (bucket, module, version, client) VALUES (?, ?, ?, ?)'),
    };
    const { seen, count, active } = this._statements;
    return this._db.transaction(() => {
      const accepted: AcceptedEvent[] = [];
      for (const e of events) {
        if (seen.run(e.id, e.time).changes === 0) continue;
        const bucket = e.time - (e.time % this.bucketMs);
        const event = { type: e.type, module: e.module ?? '', version: e.version ?? '', reason: e.reason ?? '', count: e.count ?? 1 };
        count.run(bucket, event.module, event.version, event.type, event.reason, event.count);
        if (e.type === 'exposure' && event.module) active.run(bucket, event.module, event.version, client);
        accepted.push(event);
      }
      return accepted;
    })();
  }

  /** Forgets event ids too old to be accepted again (their counts stay). */
  private _prune(now: number): void {
    this._lastPrune = now;
    this._db.prepare('DELETE FROM seen WHERE time < ?').run(now - this._maxAgeMs);
  }

  /** Figures per module@version over the buckets that overlap `window`, sorted by module then version. */
  figures({ from, to }: TimeWindow): VersionFigures[] {
    // TOTAL sums as a float: no stored row, however large, makes it fail (SUM raises on overflow).
    const rows = this._db
      .prepare(
        `SELECT module, version, type, reason, CAST(TOTAL(n) AS INTEGER) AS n FROM counts
         WHERE bucket > ? AND bucket < ? AND module <> '' GROUP BY module, version, type, reason`,
      )
      .all(from - this.bucketMs, to) as Array<{ module: string; version: string; type: string; reason: string; n: number }>;
    const clients = this._db
      .prepare(
        `SELECT module, version, COUNT(DISTINCT client) AS n FROM clients
         WHERE bucket > ? AND bucket < ? GROUP BY module, version`,
      )
      .all(from - this.bucketMs, to) as Array<{ module: string; version: string; n: number }>;
    const byKey = new Map<string, VersionFigures>();
    const of = (module: string, version: string): VersionFigures => {
      const key = `${module}@${version}`;
      let f = byKey.get(key);
      if (!f) byKey.set(key, (f = emptyFigures(module, version)));
      return f;
    };
    for (const c of clients) of(c.module, c.version).activeClients = c.n;
    for (const r of rows) addCount(of(r.module, r.version), r.type, r.reason, r.n);
    return [...byKey.values()].sort((a, b) => (a.module === b.module ? compare(a.version, b.version) : compare(a.module, b.module)));
  }

  /**
   * Counts per bucket, type and module@version over `window`, in buckets of `bucketMs` (a multiple
   * of the collector's). Only the window is read, so an outlier elsewhere changes nothing.
   */
  timeline({ from, to }: TimeWindow, bucketMs = this.bucketMs): TimelinePoint[] {
    const step = Math.max(this.bucketMs, Math.round(bucketMs / this.bucketMs) * this.bucketMs);
    return this._db
      .prepare(
        `SELECT bucket - bucket % @step AS time, type, module, version, CAST(TOTAL(n) AS INTEGER) AS n FROM counts
         WHERE bucket >= @from AND bucket < @to AND module <> '' GROUP BY 1, type, module, version ORDER BY 1, type, module, version`,
      )
      .all({ from, to, step }) as TimelinePoint[];
  }

  /** Manifests clients refused over `window`, by reason (they name no module). */
  rejections({ from, to }: TimeWindow): Record<string, number> {
    const rows = this._db
      .prepare(
        `SELECT reason, CAST(TOTAL(n) AS INTEGER) AS n FROM counts
         WHERE type = 'manifest-rejected' AND bucket > ? AND bucket < ? GROUP BY reason`,
      )
      .all(from - this.bucketMs, to) as Array<{ reason: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.reason || 'unknown', r.n]));
  }

  /** Distinct clients per module@version that loaded a page in `window` (the metrics' gauge). */
  activeClients(window: TimeWindow): Array<{ module: string; version: string; n: number }> {
    return this._db
      .prepare(`SELECT module, version, COUNT(DISTINCT client) AS n FROM clients WHERE bucket > ? AND bucket < ? GROUP BY module, version`)
      .all(window.from - this.bucketMs, window.to) as Array<{ module: string; version: string; n: number }>;
  }

  /** The collector's clock. */
  now(): number {
    return this._now();
  }

  /** Closes the database. */
  close(): void {
    this._db.close();
  }
}

/** Figures with nothing counted yet. */
export function emptyFigures(module: string, version: string): VersionFigures {
  return {
    module,
    version,
    activeClients: 0,
    pageLoads: 0,
    healthyBoots: 0,
    bootErrors: 0,
    runtimeErrors: 0,
    fallbacks: 0,
    fallbackReasons: {},
    stagingFailures: 0,
  };
}

/** Adds `n` events of `type` (with `reason`) to `f`: the one mapping from telemetry to figures. */
export function addCount(f: VersionFigures, type: string, reason: string, n: number): void {
  switch (type) {
    case 'exposure':
      f.pageLoads += n;
      break;
    case 'healthy-boot':
      f.healthyBoots += n;
      break;
    case 'errors':
      f.runtimeErrors += n;
      break;
    case 'rollback': {
      const why = reason || 'unknown';
      f.fallbacks += n;
      f.fallbackReasons[why] = (f.fallbackReasons[why] ?? 0) + n;
      if (BOOT_FAILURE_REASONS.includes(why)) f.bootErrors += n;
      break;
    }
    case 'staging-failed':
      f.stagingFailures += n;
      break;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
