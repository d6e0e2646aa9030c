/**
 * `release`: turn a build directory into an immutable release record. A released version is not
 * live: only a manifest change (promote, rollout) sends it to clients.
 */
import validRange from 'semver/ranges/valid.js';
import compare from 'semver/functions/compare.js';
import semverValid from 'semver/functions/valid.js';
import { TrancheError } from '../core/TrancheError.js';
import { inRange } from '../core/compatibility.js';
import { FORMAT, MODULE_NAME, PACKAGE_NAME, releaseKey, type ReleaseRecord } from '../core/manifest.js';
import { parseJson, parseReleaseRecord } from '../core/validate.js';
import { listBuildFiles, type BuildFile } from './buildFiles.js';
import { ingestFiles, restoreMissing, type ProgressListener } from './ingest.js';
import { readReleaseInfo } from './releaseInfo.js';
import { checkModule, checkVersion } from './releaseNames.js';
import { readText, type StoreBackend } from './StoreBackend.js';
import { RECORDS, recordPath } from './storeLayout.js';

/** What to release. */
export interface ReleaseOptions {
  module: string;
  /** A semver version such as `1.2.3` (no leading `v`). */
  version: string;
  /** The file the module's specifier resolves to. @default `index.js`, or the only top-level `.js` file */
  entry?: string;
  /** Other modules' semver ranges this version works with; each must be met by a released version. */
  requires?: Readonly<Record<string, string>>;
  /**
   * The app's shared dependencies' semver ranges this version works with: package name -> range
   * (`{ react: '^19.2.0' }`), checked against the shell's versions (`tranche shared`) when it goes
   * live and by each worker. @default what the build's tranche-release.json says (trancheModule
   * writes `^` the version it was built against), else none
   */
  requiresShared?: Readonly<Record<string, string>>;
  onProgress?: ProgressListener;
}

/** What `release` did. */
export interface ReleaseResult {
  module: string;
  version: string;
  /** The record's path relative to the store. */
  record: string;
  files: number;
  bytes: number;
  /** Bytes the store did not hold before. */
  newBytes: number;
  /** True when module@version was already released with identical contents (nothing written). */
  unchanged: boolean;
}

/** Ingests `buildDir` as `module@version` into the store. */
export async function releaseBuild(
  backend: StoreBackend,
  buildDir: string,
  options: ReleaseOptions,
  lockTimeoutMs?: number,
): Promise<ReleaseResult> {
  const { module, version, requires = {} } = options;
  checkNames(module, version, requires);
  const buildFiles = await listBuildFiles(buildDir);
  const requiresShared = options.requiresShared ?? (await readReleaseInfo(buildDir))?.requiresShared ?? {};
  checkShared(requiresShared);
  const entry = chooseEntry(buildFiles, options.entry, buildDir);
  // Records are never deleted, so a requirement met now stays met: check before the slow part.
  for (const [name, range] of Object.entries(requires)) await checkRequirement(backend, name, range);
  const path = recordPath(module, version);
  const previous = await readRecord(backend, path);
  // A version released before is only hashed first, so a conflicting re-release stores nothing.
  const ingested = await ingestFiles(buildFiles, previous ? undefined : backend, options.onProgress);
  const record = parseReleaseRecord(
    {
      format: FORMAT,
      module,
      version,
      entry,
      files: ingested.entries,
      requires: { ...requires },
      ...(Object.keys(requiresShared).length ? { requiresShared: { ...requiresShared } } : {}),
      created: new Date().toISOString(),
    },
    `release record for ${module}@${version}`,
  );
  if (previous) checkSame(previous, record);
  const newBytes = previous ? await restoreMissing(backend, buildFiles, record.files) : ingested.newBytes;
  // Checked again under the lock: another command may have released this version meanwhile.
  const unchanged = await backend.exclusive(() => writeRecord(backend, path, record), lockTimeoutMs);
  const bytes = record.files.reduce((sum, f) => sum + f.size, 0);
  return { module, version, record: path, files: record.files.length, bytes, newBytes, unchanged };
}

function checkNames(module: string, version: string, requires: Readonly<Record<string, string>>): void {
  checkModule(module, '--module');
  checkVersion(version, '--version');
  for (const [name, range] of Object.entries(requires)) {
    const spec = `${name}@${range}`;
    if (!MODULE_NAME.test(name))
      throw new TrancheError('invalid-argument', { where: `--requires ${spec}`, problem: `${JSON.stringify(name)} is not a module name` });
    if (name === module)
      throw new TrancheError('invalid-argument', { where: `--requires ${spec}`, problem: `a module cannot require itself` });
    if (validRange(range) === null)
      throw new TrancheError('invalid-argument', {
        where: `--requires ${spec}`,
        problem: `${JSON.stringify(range)} is not a semver range`,
      });
  }
}

function checkShared(requiresShared: Readonly<Record<string, string>>): void {
  for (const [name, range] of Object.entries(requiresShared)) {
    const where = `requiresShared ${name}@${range}`;
    if (!PACKAGE_NAME.test(name))
      throw new TrancheError('invalid-argument', { where, problem: `${JSON.stringify(name)} is not an npm package name` });
    if (validRange(range) === null)
      throw new TrancheError('invalid-argument', { where, problem: `${JSON.stringify(range)} is not a semver range` });
  }
}

function chooseEntry(files: readonly BuildFile[], entry: string | undefined, buildDir: string): string {
  if (entry !== undefined) {
    if (files.some((f) => f.path === entry)) return entry;
    throw new TrancheError('invalid-argument', {
      where: `--entry ${entry}`,
      problem: `no such file in ${buildDir} (paths are relative to the build directory, with /)`,
    });
  }
  if (files.some((f) => f.path === 'index.js')) return 'index.js';
  const topLevel = files.filter((f) => !f.path.includes('/') && f.path.endsWith('.js'));
  if (topLevel.length === 1) return topLevel[0]!.path;
  const found = topLevel.length ? `its top-level .js files are ${topLevel.map((f) => f.path).join(', ')}` : 'it has no top-level .js file';
  throw new TrancheError('usage', { reason: `--entry is needed: ${buildDir} has no index.js and ${found}` });
}

/** Every released version of every module (or of `module` alone), from the records present, oldest first. */
export async function releasedVersions(backend: StoreBackend, module?: string): Promise<Record<string, string[]>> {
  const released: Record<string, string[]> = {};
  for (const path of await backend.list(module === undefined ? RECORDS : `${RECORDS}${module}/`)) {
    const [, name, file] = /^records\/([^/]+)\/([^/]+)\.json$/.exec(path) ?? [];
    if (!name || !file || !MODULE_NAME.test(name) || semverValid(file) !== file) continue;
    (released[name] ??= []).push(file);
  }
  for (const versions of Object.values(released)) versions.sort(compare);
  return released;
}

async function checkRequirement(backend: StoreBackend, name: string, range: string): Promise<void> {
  const versions = (await releasedVersions(backend, name))[name] ?? [];
  if (versions.some((ver) => inRange(ver, range))) return;
  const released = versions.length ? `released: ${versions.join(', ')}` : `${name} has no releases`;
  throw new TrancheError('unmet-requirement', {
    what: `--requires ${name}@${range}`,
    reason: `no released version of ${name} satisfies ${range} (${released})`,
  });
}

/** The release record at store-relative `path`, checked against the schema; null when there is none. */
export async function readRecord(backend: StoreBackend, path: string): Promise<ReleaseRecord | null> {
  const text = await readText(backend, path);
  return text === null ? null : parseReleaseRecord(parseJson(text, path), path);
}

/**
 * Throws `misplaced-record` unless the record read from `path` is the one stored there: a record
 * lives at `records/<module>/<version>.json` of the version it describes, and a copy under another
 * version's path (a store edited by hand, a bad copy) must never be served or published as that version.
 */
export function checkRecordPath(record: ReleaseRecord, path: string): void {
  const belongsAt = recordPath(record.module, record.version);
  if (path !== belongsAt)
    throw new TrancheError('misplaced-record', { path, describes: releaseKey(record.module, record.version), belongsAt });
}

/** Throws `immutable` unless `next` has the same contents as the released `previous`. */
function checkSame(previous: ReleaseRecord, next: ReleaseRecord): void {
  const diff = differences(previous, next);
  if (!diff.length) return;
  throw new TrancheError('immutable', {
    what: `${next.module}@${next.version}`,
    reason: `already released with different contents (${diff.join('; ')}); released versions are immutable, release a new version instead`,
  });
}

/** Writes the record unless it exists; true when an identical one exists (a no-op). */
async function writeRecord(backend: StoreBackend, path: string, record: ReleaseRecord): Promise<boolean> {
  if (await backend.create(path, `${JSON.stringify(record, null, 2)}\n`)) return false;
  checkSame((await readRecord(backend, path))!, record);
  return true;
}

const LISTED = 5;
function list(label: string, paths: string[]): string[] {
  if (!paths.length) return [];
  const more = paths.length > LISTED ? ` and ${paths.length - LISTED} more` : '';
  return [`${label} ${paths.slice(0, LISTED).join(', ')}${more}`];
}

/** What differs between a stored record and a new one, ignoring the creation time. */
function differences(old: ReleaseRecord, next: ReleaseRecord): string[] {
  const before = new Map(old.files.map((f) => [f.path, f]));
  const after = new Map(next.files.map((f) => [f.path, f]));
  const changed = [...after.values()]
    .filter((f) => before.has(f.path) && JSON.stringify(before.get(f.path)) !== JSON.stringify(f))
    .map((f) => f.path);
  const out = [
    ...list('changed:', changed),
    ...list(
      'added:',
      [...after.keys()].filter((p) => !before.has(p)),
    ),
    ...list(
      'removed:',
      [...before.keys()].filter((p) => !after.has(p)),
    ),
  ];
  if (old.entry !== next.entry) out.push(`entry: ${old.entry} → ${next.entry}`);
  for (const field of ['requires', 'requiresShared'] as const) {
    const [was, now] = [requiresText(old[field]), requiresText(next[field])];
    if (was !== now) out.push(`${field}: ${was} → ${now}`);
  }
  return out;
}

/** A version's `requires` as one line in name order (`header@^2.0.0, nav@~1.1.0`), `(none)` when empty. */
export function requiresText(requires: Readonly<Record<string, string>> = {}): string {
  return (
    Object.entries(requires)
      .sort()
      .map(([name, range]) => `${name}@${range}`)
      .join(', ') || '(none)'
  );
}
