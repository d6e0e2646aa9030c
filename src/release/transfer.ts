/**
 * Moving a store's documents to another store, local or remote, the same bytes under the same
 * paths: `publish --to` (the whole store, then its manifest) and `copy` (one release). Content
 * addressing makes "what the target lacks" a set difference of paths, and immutable documents
 * are never rewritten, so an interrupted transfer run again uploads only what is still missing.
 *
 * Order is what keeps a reader of the target safe at every moment: files, then the records that
 * list them, then keys, then (publish) the manifest last, so a client never sees a manifest
 * naming a record or file that is not there yet.
 */
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import type { ReleaseRecord } from '../core/manifest.js';
import { verifyManifest } from '../core/signature.js';
import { parseJson, parseReleaseRecord } from '../core/validate.js';
import type { ProgressListener } from './ingest.js';
import { storeKeys } from './keys.js';
import { mapConcurrent } from './mapConcurrent.js';
import { readCurrentManifest } from './publish.js';
import { readRecord } from './release.js';
import { utf8, type StoreBackend } from './StoreBackend.js';
import { FILES, KEYS, MANIFEST, RECORDS, blobPath, documentKind, recordPath } from './storeLayout.js';

/** Uploads in flight at once. */
const CONCURRENCY = 16;

/** What a transfer did. */
export interface TransferResult {
  /** Documents written to the target (the manifest included). */
  uploaded: number;
  /** Their bytes. */
  bytes: number;
  /** Documents the target already held, left untouched. */
  present: number;
  /** The target's manifest sequence afterwards (null: it has none). */
  sequence: number | null;
  /** A sentence for the operator. */
  note: string;
}

/** Options of a transfer. */
export interface TransferOptions {
  /** Called as documents are uploaded: `done` of `total`. */
  onProgress?: ProgressListener;
}

interface Upload {
  path: string;
  type?: string;
}

/** Writes the documents of `uploads` the target lacks, in parallel, in the given order of groups. */
async function upload(
  source: StoreBackend,
  target: StoreBackend,
  groups: Upload[][],
  onProgress?: ProgressListener,
): Promise<{ uploaded: number; bytes: number }> {
  const total = groups.reduce((sum, group) => sum + group.length, 0);
  let done = 0;
  let bytes = 0;
  for (const group of groups) {
    await mapConcurrent(group, CONCURRENCY, async ({ path, type }) => {
      const data = await source.read(path);
      if (!data) throw new TrancheError('not-found', { what: `${source.where(path)}; tranche verify lists what is missing` });
      // Files skip the fsyncs as ingest's do (a torn one has the wrong size, and the next run rewrites it).
      await target.put(path, data, { durable: !type, ...(type ? { type } : {}) });
      bytes += data.length;
      onProgress?.(++done, total);
    });
  }
  return { uploaded: total, bytes };
}

/** Every record of `store`, parsed, by path. */
async function records(store: StoreBackend): Promise<Map<string, ReleaseRecord>> {
  const out = new Map<string, ReleaseRecord>();
  for (const path of (await store.list(RECORDS)).filter((p) => documentKind(p)?.name === 'record')) {
    const record = await readRecord(store, path);
    if (record) out.set(path, record);
  }
  return out;
}

/** Each file of `records` once, by path, with its size and the Content-Type its first record gives it. */
function blobsOf(records: Iterable<ReleaseRecord>): Map<string, { size: number; type: string }> {
  const blobs = new Map<string, { size: number; type: string }>();
  for (const record of records)
    for (const { sha256, size, type } of record.files) if (!blobs.has(blobPath(sha256))) blobs.set(blobPath(sha256), { size, type });
  return blobs;
}

/**
 * The files of `blobs` the target lacks: absent, or of another size, torn by a writer killed
 * mid-write on a server that keeps what it received (s3rver does; S3 drops a PUT cut short).
 */
function missingFiles(blobs: Map<string, { size: number; type: string }>, sizes: Map<string, number>): Upload[] {
  return [...blobs].filter(([path, { size }]) => sizes.get(path) !== size).map(([path, { type }]) => ({ path, type }));
}

/**
 * Publishes `source` to `target`: every record, file and key the target lacks, then the manifest,
 * unless that would move the target backwards (its manifest has a sequence at or above ours, or is
 * signed by a key `source` does not trust). The manifest replaces exactly the one checked.
 */
export async function publishStore(
  source: StoreBackend,
  target: StoreBackend,
  { onProgress }: TransferOptions = {},
): Promise<TransferResult> {
  const manifestBytes = await source.read(MANIFEST);
  const manifest = await readCurrentManifest(source);
  if (!manifest || !manifestBytes)
    throw new TrancheError('not-found', { what: `a manifest in ${source.location} to publish (promote a release first)` });
  const { keys, files: keyFiles } = await storeKeys(source);
  const ahead = await targetState(target, keys, manifestBytes, manifest.sequence);
  const all = await records(source);
  const have = new Set([...(await target.list(RECORDS)), ...(await target.list(KEYS))]);
  await sameRecords(
    source,
    target,
    [...all.keys()].filter((path) => have.has(path)),
  );
  const missing = (uploads: Upload[]) => uploads.filter((u) => !have.has(u.path));
  const blobs = blobsOf(all.values());
  const recordPaths = [...all.keys()].map((path) => ({ path }));
  // The trusted public keys only: a private key left in keys/ is never copied to where clients read.
  const keyPaths = keyFiles.map((path) => ({ path }));
  const groups = [missingFiles(blobs, await target.sizes(FILES)), missing(recordPaths), missing(keyPaths)];
  const present = blobs.size + recordPaths.length + keyPaths.length - groups.reduce((n, g) => n + g.length, 0);
  const manifestNeeded = ahead === 'behind';
  const total = groups.reduce((n, g) => n + g.length, 0) + (manifestNeeded ? 1 : 0);
  const progress = onProgress && ((done: number) => onProgress(done, total));
  const objects = await upload(source, target, groups, progress);
  if (!manifestNeeded) {
    return {
      ...objects,
      present: present + 1,
      sequence: manifest.sequence,
      note: `${target.location} already has manifest sequence ${manifest.sequence}`,
    };
  }
  await target.exclusive(async () => {
    // Checked again as the only writer: another publish may have landed since.
    const current = await target.read(MANIFEST);
    if ((await targetState(target, keys, manifestBytes, manifest.sequence)) !== 'behind') throw moved(target);
    await target.put(MANIFEST, manifestBytes, { replaces: current });
  });
  progress?.(total);
  return {
    uploaded: objects.uploaded + 1,
    bytes: objects.bytes + manifestBytes.length,
    present,
    sequence: manifest.sequence,
    note: `published manifest sequence ${manifest.sequence} to ${target.location}`,
  };
}

/** Refuses when the target holds any of `paths` with other bytes than ours (a release made there, not here). */
async function sameRecords(source: StoreBackend, target: StoreBackend, paths: string[]): Promise<void> {
  await mapConcurrent(paths, CONCURRENCY, async (path) => {
    const [ours, theirs] = await Promise.all([source.read(path), target.read(path)]);
    if (ours && theirs && Buffer.compare(ours, theirs) !== 0) throw differentRecord(target, path);
  });
}

function differentRecord(target: StoreBackend, path: string): TrancheError {
  return new TrancheError('immutable', {
    what: target.where(path),
    reason: 'is already there with different contents; released versions are immutable',
  });
}

function moved(target: StoreBackend): TrancheError {
  return new TrancheError('conflict', {
    what: target.where(MANIFEST),
    reason: 'changed by another publish meanwhile; run the command again',
  });
}

/**
 * Where the target's manifest stands against ours: `same` (identical bytes), `behind` (absent, or
 * a lower sequence signed by a key we trust). Anything else is refused, naming why.
 */
async function targetState(
  target: StoreBackend,
  keys: Awaited<ReturnType<typeof storeKeys>>['keys'],
  ours: Uint8Array,
  sequence: number,
): Promise<'same' | 'behind'> {
  const theirs = await target.read(MANIFEST);
  if (!theirs) return 'behind';
  if (Buffer.compare(theirs, ours) === 0) return 'same';
  const where = target.where(MANIFEST);
  let theirSequence: number;
  try {
    theirSequence = (await verifyManifest(parseJson(utf8(theirs), where), { trusted: keys, now: new Date(0) })).sequence;
  } catch (err) {
    if (!isTrancheError(err)) throw err;
    throw new TrancheError('untrusted-manifest', {
      what: where,
      reason:
        `${err.message}; refusing to replace a manifest this store cannot vouch for ` +
        '(publish from the store that signed it, or add its key)',
    });
  }
  if (theirSequence < sequence) return 'behind';
  throw new TrancheError('conflict', {
    what: where,
    reason:
      `has sequence ${theirSequence}, this store ${sequence}: publishing would move it backwards; ` +
      'publish from an up-to-date copy of the store',
  });
}

/**
 * Copies the release module@version from `source` to `target` (same bytes, same hashes): its
 * files the target lacks, then its record. Not live there until promoted or rolled out.
 */
export async function copyRelease(
  source: StoreBackend,
  target: StoreBackend,
  module: string,
  version: string,
  { onProgress }: TransferOptions = {},
): Promise<TransferResult> {
  const path = recordPath(module, version);
  const recordBytes = await source.read(path);
  if (!recordBytes) throw new TrancheError('not-found', { what: `release ${module}@${version} in ${source.location} (${path})` });
  const record = parseReleaseRecord(parseJson(utf8(recordBytes), source.where(path)), source.where(path));
  const theirs = await target.read(path);
  if (theirs && Buffer.compare(theirs, recordBytes) !== 0) throw differentRecord(target, path);
  const blobs = blobsOf([record]);
  const paths = [...blobs.keys()];
  const sizes = await mapConcurrent(paths, CONCURRENCY, async (blob) => [blob, await target.size(blob)] as const);
  const had = new Map(sizes.flatMap(([blob, size]) => (size === null ? [] : [[blob, size] as const])));
  const objects = await upload(source, target, [missingFiles(blobs, had), theirs ? [] : [{ path }]], onProgress);
  return {
    ...objects,
    present: blobs.size + 1 - objects.uploaded,
    sequence: (await readCurrentManifest(target))?.sequence ?? null,
    note:
      theirs && !objects.uploaded
        ? `${module}@${version} was already in ${target.location}; nothing copied`
        : `copied ${module}@${version} to ${target.location} (not live there until promoted or rolled out)`,
  };
}
