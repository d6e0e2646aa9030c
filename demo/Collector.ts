/**
 * The demo's telemetry collector: checks every batch a worker sends, drops duplicate events by
 * id, stores them durably in SQLite and aggregates them per module@version for the dashboard.
 */
import Database from 'better-sqlite3';
import { MAX_BATCH_BYTES, parseTelemetryBatch } from '../src/core/telemetry.js';
import { parseJson } from '../src/core/validate.js';
import { isTrancheError } from '../src/core/TrancheError.js';

/** Per module@version figures, as the dashboard shows them. */
export interface VersionStats {
  module: string;
  version: string;
  /** Distinct clients that loaded a page running this version. */
  clients: number;
  /** Page loads running this version (exposures). */
  pageLoads: number;
  healthyBoots: number;
  errors: number;
  rollbacks: Record<string, number>;
  stagingFailures: number;
  lastSeen: number;
}

/** Events of one type and module@version in one time bucket starting at `time` (epoch ms). */
export interface TimelinePoint {
  time: number;
  type: string;
  module: string | null;
  version: string | null;
  n: number;
}

/** What an HTTP handler answers for one body. */
export interface IngestResult {
  status: number;
  body: { accepted?: number; duplicates?: number; error?: string };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, client TEXT NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL,
  module TEXT, version TEXT, reason TEXT, count INTEGER NOT NULL DEFAULT 1, to_version TEXT
);
CREATE INDEX IF NOT EXISTS events_by_version ON events (module, version, type);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time);`;

/** The collector's database and its queries; one per demo server. */
export class Collector {
  private readonly _db: Database.Database;
  private readonly _insert: Database.Statement;

  /** Opens (or creates) the collector database at `path`; `:memory:` for a throwaway one. */
  constructor(path: string) {
    this._db = new Database(path);
    // WAL: a crash loses at most the batch being written, and readers never block the writer.
    this._db.pragma('journal_mode = WAL');
    this._db.exec(SCHEMA);
    this._insert = this._db.prepare(`INSERT OR IGNORE INTO events (id, client, type, time, module, version, reason, count, to_version)
      VALUES (@id, @client, @type, @time, @module, @version, @reason, @count, @to)`);
  }

  /** Checks and stores one request body; never throws for bad input, it answers 400 or 413. */
  ingest(body: Uint8Array | string): IngestResult {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > MAX_BATCH_BYTES) return { status: 413, body: { error: `body of ${size} bytes is over the limit of ${MAX_BATCH_BYTES}` } };
    let batch;
    try {
      batch = parseTelemetryBatch(parseJson(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'), 'telemetry batch'));
    } catch (err) {
      if (isTrancheError(err)) return { status: 400, body: { error: err.message } };
      throw err;
    }
    const accepted = this._db.transaction(() => {
      let n = 0;
      for (const e of batch.events) {
        n += this._insert.run({
          id: e.id,
          client: batch.client,
          type: e.type,
          time: e.time,
          module: e.module ?? null,
          version: e.version ?? null,
          reason: e.reason ?? null,
          count: e.count ?? 1,
          to: e.to ?? null,
        }).changes;
      }
      return n;
    })();
    return { status: 200, body: { accepted, duplicates: batch.events.length - accepted } };
  }

  /** Figures per module@version, sorted by module then version. */
  stats(): VersionStats[] {
    const rows = this._db
      .prepare(
        `SELECT module, version,
        COUNT(DISTINCT CASE WHEN type = 'exposure' THEN client END) AS clients,
        SUM(CASE WHEN type = 'exposure' THEN count ELSE 0 END) AS pageLoads,
        SUM(CASE WHEN type = 'healthy-boot' THEN count ELSE 0 END) AS healthyBoots,
        SUM(CASE WHEN type = 'errors' THEN count ELSE 0 END) AS errors,
        SUM(CASE WHEN type = 'staging-failed' THEN count ELSE 0 END) AS stagingFailures,
        MAX(time) AS lastSeen
      FROM events WHERE module IS NOT NULL AND version IS NOT NULL
      GROUP BY module, version ORDER BY module, version`,
      )
      .all() as Omit<VersionStats, 'rollbacks'>[];
    const rollbacks = this._db
      .prepare(
        `SELECT module, version, reason, SUM(count) AS n FROM events
      WHERE type = 'rollback' GROUP BY module, version, reason`,
      )
      .all() as Array<{ module: string; version: string; reason: string | null; n: number }>;
    return rows.map((row) => ({
      ...row,
      rollbacks: Object.fromEntries(
        rollbacks.filter((r) => r.module === row.module && r.version === row.version).map((r) => [r.reason ?? 'unknown', r.n]),
      ),
    }));
  }

  /** Event counts per `bucketMs` (a minute by default), type and module@version, since `since` (epoch ms), for the chart. */
  timeline(since = 0, bucketMs = 60_000): TimelinePoint[] {
    return this._db
      .prepare(
        `SELECT time - time % @bucket AS time, type, module, version, SUM(count) AS n
      FROM events WHERE time >= @since GROUP BY 1, type, module, version ORDER BY 1, type, module, version`,
      )
      .all({ since, bucket: Math.max(1, Math.floor(bucketMs)) }) as TimelinePoint[];
  }

  /** Manifest rejections by reason (they name no module). */
  rejections(): Record<string, number> {
    const rows = this._db
      .prepare(`SELECT reason, SUM(count) AS n FROM events WHERE type = 'manifest-rejected' GROUP BY reason`)
      .all() as Array<{ reason: string | null; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.reason ?? 'unknown', r.n]));
  }

  /** Closes the database (the demo server does on Ctrl-C). */
  close(): void {
    this._db.close();
  }
}
