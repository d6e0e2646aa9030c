/**
 * `verify`: everything a client would check, checked for the whole store at once. The manifest's
 * signature and schema; every record in `records/` against its schema and, when the manifest
 * references it, against the manifest's SHA-256 and the manifest's copies of its `requires` and
 * `requiresShared`; every file any record lists against its SHA-256 and size. Problems are
 * collected, each naming its file, rather than stopping at the first.
 * Temp files left by a killed command are not part of the store and are ignored.
 */
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import { sha256Hex } from '../core/integrity.js';
import type { Manifest } from '../core/manifest.js';
import { trustKeys, verifyManifest, type TrustedKeys } from '../core/signature.js';
import { parseEnvelope, parseJson, parseManifest, parseReleaseRecord } from '../core/validate.js';
import { readHistory, readPublishedSequence } from './history.js';
import { exposedKeyWarning, readJwkFile, storeKeys } from './keys.js';
import { mapConcurrent } from './mapConcurrent.js';
import { readText, utf8, type StoreBackend } from './StoreBackend.js';
import { MANIFEST, RECORDS, blobPath, documentKind } from './storeLayout.js';
import { checkRecordPath, requiresText } from './release.js';

const CONCURRENCY = 16;

/** Which public keys to trust: files or JWKs. @default every key in the store's `keys/` */
export interface VerifyStoreOptions {
  publicKeys?: ReadonlyArray<string | object>;
  /** Without `publicKeys`, trust the keys in this store's `keys/` instead (the store a bucket is published from). */
  keysFrom?: StoreBackend;
}

/** What `verify` found. */
export interface VerifyReport {
  ok: boolean;
  /** One line per problem, each naming its file. */
  problems: string[];
  /** Lines about what does not make the store fail but must be fixed: a private key in `keys/`. */
  warnings: string[];
  /** Where the trusted keys came from, e.g. `keys/abc.jwk` or `--public-key ./public.jwk`. */
  trustedFrom: string[];
  /** The manifest's sequence, or null when the store has no manifest. */
  sequence: number | null;
  records: number;
  files: number;
  bytes: number;
}

interface Blob {
  size: number;
  usedBy: string;
}

/** Verifies the store in `backend` (see the file comment). */
export async function verifyStore(backend: StoreBackend, { publicKeys, keysFrom }: VerifyStoreOptions = {}): Promise<VerifyReport> {
  const problems: string[] = [];
  const { keys, trustedFrom: found } = await trusted(keysFrom ?? backend, publicKeys, problems);
  // Keys of another store are named by where they are.
  const trustedFrom = keysFrom && !publicKeys?.length ? found.map((path) => keysFrom.where(path)) : found;
  const warnings = (await storeKeys(backend)).exposed.map(exposedKeyWarning);
  problems.push(...((await backend.unsafeEntries?.()) ?? []));
  const manifest = await checkManifest(backend, keys, problems);
  const blobs = new Map<string, Blob>();
  const records = await checkRecords(backend, manifest, blobs, problems);
  let bytes = 0;
  // Reported in the records' order, whichever check ends first: the same store prints the same report.
  const blobFindings = await mapConcurrent([...blobs], CONCURRENCY, async ([sha256, blob]) => {
    bytes += blob.size;
    return blobProblems(backend, sha256, blob);
  });
  problems.push(...blobFindings.flat());
  if (manifest) {
    await readHistory(backend, manifest.sequence).catch((err: Error) => problems.push(err.message));
    const published = await readPublishedSequence(backend).catch((err: Error) => (problems.push(err.message), 0));
    if (manifest.sequence < published)
      problems.push(
        `manifest.json: sequence ${manifest.sequence} is older than sequence ${published}, which this store published before ` +
          `(a restored backup or a stale copy; clients that saw ${published} reject it): ` +
          `publish any change to supersede it (it gets ${published + 1})`,
      );
  }
  return { ok: !problems.length, problems, warnings, trustedFrom, sequence: manifest?.sequence ?? null, records, files: blobs.size, bytes };
}

async function trusted(
  backend: StoreBackend,
  publicKeys: VerifyStoreOptions['publicKeys'],
  problems: string[],
): Promise<{ keys: TrustedKeys; trustedFrom: string[] }> {
  if (!publicKeys?.length) {
    const found = await storeKeys(backend);
    problems.push(...found.problems);
    return { keys: found.keys, trustedFrom: found.files };
  }
  const keys = new Map<string, CryptoKey>();
  const trustedFrom: string[] = [];
  for (const [i, key] of publicKeys.entries()) {
    const where = typeof key === 'string' ? `--public-key ${key}` : `public key #${i + 1}`;
    const jwk = typeof key === 'string' ? await readJwkFile(key, '--public-key') : key;
    for (const [id, imported] of await trustKeys([jwk], where)) keys.set(id, imported);
    trustedFrom.push(where);
  }
  return { keys, trustedFrom };
}

/** The manifest if it parses (even when its signature fails, so its records still get checked). */
async function checkManifest(backend: StoreBackend, keys: TrustedKeys, problems: string[]): Promise<Manifest | null> {
  const text = await readText(backend, MANIFEST);
  if (text === null) return null;
  try {
    return await verifyManifest(parseJson(text, 'manifest.json'), { trusted: keys });
  } catch (err) {
    if (!isTrancheError(err)) throw err;
    problems.push(`manifest.json: ${err.message}`);
  }
  try {
    return parseManifest(parseJson(parseEnvelope(parseJson(text, 'manifest.json')).payload, 'manifest payload'));
  } catch {
    return null;
  }
}

/** Checks every record (listed or referenced); fills `blobs` with the files they list. */
async function checkRecords(
  backend: StoreBackend,
  manifest: Manifest | null,
  blobs: Map<string, Blob>,
  problems: string[],
): Promise<number> {
  const expected = new Map(Object.entries(manifest?.releases ?? {}).map(([key, ref]) => [ref.record, { key, ...ref }]));
  const listed = (await backend.list(RECORDS)).filter((path) => documentKind(path)?.name === 'record');
  const paths = [...new Set([...listed, ...expected.keys()])];
  for (const path of paths) {
    const ref = expected.get(path);
    const bytes = await backend.read(path).catch((err: Error) => {
      problems.push(err.message);
      return undefined;
    });
    if (bytes === undefined) continue;
    if (!bytes) {
      problems.push(`${path}: missing, but manifest.json releases["${ref?.key}"] references it`);
      continue;
    }
    try {
      if (ref) {
        const actual = await sha256Hex(bytes);
        if (actual !== ref.sha256)
          throw new TrancheError('integrity', { what: `${path} (manifest.json releases["${ref.key}"])`, expected: ref.sha256, actual });
      }
      const record = parseReleaseRecord(parseJson(utf8(bytes), path), path);
      if (path.startsWith(RECORDS)) checkRecordPath(record, path);
      for (const field of ['requires', 'requiresShared'] as const) {
        const [copy, own] = [requiresText(ref?.[field]), requiresText(record[field])];
        if (ref && copy !== own)
          problems.push(
            `manifest.json: releases["${ref.key}"].${field} is ${copy}, but ${path} requires ${own} ` +
              `(workers check this copy before staging ${ref.key}): publish any change to rewrite it`,
          );
      }
      for (const file of record.files) {
        const known = blobs.get(file.sha256);
        if (known && known.size !== file.size)
          problems.push(`${path}: ${file.path} has size ${file.size} but ${known.usedBy} has ${known.size} for the same SHA-256`);
        if (!known) blobs.set(file.sha256, { size: file.size, usedBy: `${record.module}@${record.version} ${file.path}` });
      }
    } catch (err) {
      if (!isTrancheError(err)) throw err;
      problems.push(err.message);
    }
  }
  return paths.length;
}

async function blobProblems(backend: StoreBackend, sha256: string, blob: Blob): Promise<string[]> {
  const where = `${blobPath(sha256)} (${blob.usedBy})`;
  const bytes = await backend.read(blobPath(sha256)).catch((err: Error) => err);
  if (bytes instanceof Error) return [`${where}: ${bytes.message}`];
  if (!bytes) return [`${where}: missing`];
  if (bytes.length !== blob.size) return [`${where}: size ${bytes.length}, expected ${blob.size}`];
  const actual = await sha256Hex(bytes);
  return actual === sha256 ? [] : [new TrancheError('integrity', { what: where, expected: sha256, actual }).message];
}
