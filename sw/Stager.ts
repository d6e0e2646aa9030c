/**
 * Staging one module@version: its release record checked against the hash in the signed
 * root, then every file it lacks downloaded, verified and stored. Staging writes only the
 * version's row (status `staging`) and content-addressed blobs that no page reads, so it can
 * stop at any point and resume later without fetching again what it already verified.
 */
import { TrancheError, isTrancheError } from '../src/core/TrancheError.js';
import { releaseKey, type FileEntry, type ReleaseRecord, type ReleaseRef } from '../src/core/manifest.js';
import type { StagingFailureReason, StagingProgressEvent } from '../src/core/protocol.js';
import { parseJson, parseReleaseRecord } from '../src/core/validate.js';
import type { Adapter } from './Adapter.js';
import type { Database, StagingFailure, VersionRow } from './Database.js';
import { downloadVerified } from './download.js';
import type { FileStore } from './FileStore.js';

/** Files downloaded at once: enough to hide latency, few enough not to starve page loads. */
const PARALLEL_DOWNLOADS = 4;
/** Longest back-off between two staging attempts of the same version. */
export const MAX_RETRY_DELAY_MS = 60 * 60_000;

/**
 * The failure record of a staging attempt that threw `err`: its reason code, and a retry time
 * that doubles from `delayMs` with each consecutive failure of the same version (a deploy may
 * still be in progress), capped at an hour.
 */
export function failureOf(err: unknown, version: string, before: StagingFailure | null, now: number, delayMs: number): StagingFailure {
  const reason: StagingFailureReason = isTrancheError(err, 'integrity') ? 'integrity' : isTrancheError(err, 'quota') ? 'quota' : 'download';
  const attempts = before?.version === version ? before.attempts + 1 : 1;
  const retryAt = now + Math.min(delayMs * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS);
  return { version, reason, message: (err as Error).message, attempts, retryAt };
}

/** What to stage. */
interface StageTarget {
  module: string;
  version: string;
  ref: ReleaseRef;
}

/**
 * The release record of `target`, downloaded from the store and checked against the hash the
 * signed manifest gives for it. Throws `download` or `integrity`.
 */
export async function fetchRecord(
  adapter: Adapter,
  storeBase: string,
  { module, version, ref }: StageTarget,
  signal?: AbortSignal,
): Promise<ReleaseRecord> {
  const key = releaseKey(module, version);
  const bytes = await downloadVerified(adapter, new URL(ref.record, storeBase).href, ref.sha256, `release record ${key}`, signal);
  const what = `release record ${key} (${ref.record})`;
  let record: ReleaseRecord;
  try {
    record = parseReleaseRecord(parseJson(new TextDecoder().decode(bytes), what), what);
  } catch (err) {
    // The bytes match the signed hash, so the store signed a broken record: no refetch can help.
    throw new TrancheError('integrity', { what, expected: 'a valid release record', actual: (err as Error).message });
  }
  if (record.module !== module || record.version !== version) {
    throw new TrancheError('integrity', { what, expected: key, actual: releaseKey(record.module, record.version) });
  }
  return record;
}

/** Downloads and verifies module versions. */
export class Stager {
  /** Blobs being downloaded, so two modules sharing bytes staged at once fetch them once. */
  private readonly _inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly _adapter: Adapter,
    private readonly _db: Database,
    private readonly _files: FileStore,
    private readonly _storeBase: string,
  ) {}

  /**
   * Stages `target` until every file is verified and stored, reporting progress; resolves with
   * the version row (still `staging`: only the commit, which Modules runs, makes it `committed`). Throws a
   * TrancheError `download`, `integrity` or `quota`, or the abort reason of `signal`.
   */
  async stage(target: StageTarget, signal: AbortSignal, progress: (event: StagingProgressEvent) => void): Promise<VersionRow> {
    const row = await this._row(target, signal);
    const stored = await this._files.stored();
    const missing = uniqueBySha(row.record.files.filter((f) => !stored.has(f.sha256)));
    await this._checkQuota(target, missing);
    const total = { files: row.record.files.length, bytes: sum(row.record.files) };
    const missingShas = new Set(missing.map((f) => f.sha256));
    const pending = row.record.files.filter((f) => missingShas.has(f.sha256));
    const done = { files: total.files - pending.length, bytes: total.bytes - sum(pending) };
    const report = () =>
      progress({
        type: 'STAGING_PROGRESS',
        module: target.module,
        version: target.version,
        files: { done: done.files, total: total.files },
        bytes: { done: done.bytes, total: total.bytes },
      });
    report();
    await this._downloadAll(missing, `${releaseKey(target.module, target.version)}`, signal, (file) => {
      const same = row.record.files.filter((f) => f.sha256 === file.sha256);
      done.files += same.length;
      done.bytes += sum(same);
      report();
    });
    return row;
  }

  /** The version row, fetching and checking the record unless an earlier attempt stored it. */
  private async _row({ module, version, ref }: StageTarget, signal: AbortSignal): Promise<VersionRow> {
    const key = releaseKey(module, version);
    const known = await this._db.version(key);
    if (known) return known;
    const record = await fetchRecord(this._adapter, this._storeBase, { module, version, ref }, signal);
    const row: VersionRow = { key, module, version, record, status: 'staging' };
    await this._db.putVersion(row);
    return row;
  }

  private async _checkQuota(target: StageTarget, missing: readonly FileEntry[]): Promise<void> {
    const needed = sum(missing);
    if (needed === 0) return;
    const { usage, quota } = await this._adapter.storageEstimate();
    if (usage === undefined || quota === undefined) return;
    if (needed > quota - usage) {
      throw new TrancheError('quota', { what: releaseKey(target.module, target.version), needed, available: Math.max(0, quota - usage) });
    }
  }

  /**
   * Downloads `files` a few at a time. After the first failure no new download starts, but
   * those in flight finish and store their verified bytes, so the next attempt skips them.
   */
  private async _downloadAll(
    files: readonly FileEntry[],
    label: string,
    signal: AbortSignal,
    stored: (file: FileEntry) => void,
  ): Promise<void> {
    let next = 0;
    let failure: unknown = null;
    const lane = async (): Promise<void> => {
      while (failure === null && next < files.length && !signal.aborted) {
        const file = files[next++]!;
        try {
          await this._fetchBlob(file, label, signal);
          stored(file);
        } catch (err) {
          failure ??= asQuotaError(err, label, file);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_DOWNLOADS, files.length) }, lane));
    signal.throwIfAborted();
    if (failure !== null) throw failure;
  }

  private _fetchBlob(file: FileEntry, label: string, signal: AbortSignal): Promise<void> {
    let pending = this._inflight.get(file.sha256);
    if (!pending) {
      pending = downloadVerified(this._adapter, this._files.urlOf(file.sha256), file.sha256, `${label} ${file.path}`, signal)
        .then((bytes) => this._files.put(file.sha256, bytes))
        .finally(() => this._inflight.delete(file.sha256));
      this._inflight.set(file.sha256, pending);
    }
    return pending;
  }
}

/** A storage write refused for lack of space becomes the `quota` failure pages are told about. */
function asQuotaError(err: unknown, label: string, file: FileEntry): unknown {
  if (err instanceof Error && err.name === 'QuotaExceededError') {
    return new TrancheError('quota', { what: `${label} ${file.path}`, needed: file.size, available: 0 });
  }
  return err;
}

function uniqueBySha(files: readonly FileEntry[]): FileEntry[] {
  const seen = new Map<string, FileEntry>();
  for (const f of files) if (!seen.has(f.sha256)) seen.set(f.sha256, f);
  return [...seen.values()];
}

function sum(files: readonly FileEntry[]): number {
  return files.reduce((total, f) => total + f.size, 0);
}
