/**
 * The documents tranche reads across a trust boundary: the release record (immutable, one per
 * module@version) and the root manifest (small, signed, mutable). docs/manifest.md is the
 * specification; this file is its executable form, used by the CLI, the service worker and the
 * page client alike.
 */
import * as v from 'valibot';
import semverValid from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';
import { unsafePathReason } from './paths.js';
import { MODULE_NAME, PACKAGE_NAME } from './names.js';

export { MODULE_NAME, PACKAGE_NAME, releaseKey } from './names.js';

/** The only format version this code reads and writes. */
export const FORMAT = 1;
/** Buckets per module: 10,000 so that a 0.01% canary is one bucket. */
export const BUCKETS = 10_000;

const SHA256 = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9-]+=[A-Za-z0-9._-]+)*$/i;

const moduleName = v.pipe(v.string('expected a string'), v.regex(MODULE_NAME, 'expected a module name matching [a-z0-9][a-z0-9._-]{0,63}'));
const version = v.pipe(
  v.string('expected a string'),
  v.check((s) => semverValid(s) === s, 'expected a semver version such as 1.2.3'),
);
const sha256 = v.pipe(v.string('expected a string'), v.regex(SHA256, 'expected 64 lower-case hex digits (SHA-256)'));
// Date.parse too: the pattern alone passes 2026-13-45T99:99:99Z, and an `expires` that parses to NaN never expires.
const isoTime = v.pipe(
  v.string('expected a string'),
  v.regex(ISO_TIME, 'expected an ISO-8601 UTC time such as 2026-01-31T12:00:00.000Z'),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 UTC time such as 2026-01-31T12:00:00.000Z'),
);
const safePath = v.pipe(
  v.string('expected a string'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const reason = unsafePathReason(dataset.value);
    if (reason) addIssue({ message: `expected a path inside the release, but it ${reason}` });
  }),
);
const count = (what: string) => v.pipe(v.number(`expected ${what}`), v.integer(`expected ${what}`), v.minValue(0, `expected ${what}`));
const format = v.literal(FORMAT, `expected format ${FORMAT}`);

const fileEntrySchema = v.object({
  path: safePath,
  sha256,
  size: count('a size in bytes (integer >= 0)'),
  type: v.pipe(v.string('expected a string'), v.regex(CONTENT_TYPE, 'expected a content type such as text/javascript')),
});

const range = v.pipe(
  v.string('expected a semver range'),
  v.minLength(1, 'expected a semver range'),
  v.check((r) => validRange(r) !== null, 'expected a semver range such as ^1.2.0'),
);
const packageName = v.pipe(v.string('expected a string'), v.regex(PACKAGE_NAME, 'expected an npm package name such as react'));
/** What a version requires: module name -> semver range (docs/manifest.md, "Compatibility ranges"). */
const requires = v.record(moduleName, range);
/**
 * What a version requires of the app's shared dependencies: package name -> semver range
 * (docs/manifest.md, "Shared dependencies"). Absent when none: records of modules that share
 * nothing hash as they did before it existed.
 */
const requiresShared = v.record(packageName, range);
/** Versions of shared dependencies: package name -> version (the manifest's `shared`, an app build's tranche-shared.json). */
export const sharedVersionsSchema = v.record(packageName, version);

// A `runtime` field (free text that nothing ever read, written by `release --runtime` until it was
// removed) is dropped on reading, like any unknown key: such records stay readable.
export const releaseRecordSchema = v.object({
  format,
  module: moduleName,
  version,
  entry: safePath,
  files: v.pipe(v.array(fileEntrySchema, 'expected an array of files'), v.minLength(1, 'expected at least one file')),
  requires,
  requiresShared: v.optional(requiresShared),
  created: isoTime,
});

const rolloutSchema = v.object({
  version,
  percent: v.pipe(
    v.number('expected a number 0..100'),
    v.minValue(0, 'expected 0..100'),
    v.maxValue(100, 'expected 0..100'),
    v.check((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'expected a multiple of 0.01'),
  ),
  from: v.pipe(count('a first bucket (integer 0..9999)'), v.maxValue(BUCKETS - 1, 'expected a first bucket 0..9999')),
});

const moduleStateSchema = v.object({
  stable: version,
  rollouts: v.array(rolloutSchema, 'expected an array of rollouts'),
  seed: v.optional(
    v.pipe(v.string('expected a string'), v.minLength(1, 'expected a non-empty seed'), v.maxLength(128, 'expected at most 128 characters')),
  ),
  paused: v.boolean('expected true or false'),
  blocked: v.array(version, 'expected an array of versions'),
});

// `requires` and `requiresShared`: the record's own, copied so that a worker knows a version's ranges
// before it stages it (absent when empty, and in manifests written before they existed).
const releaseRefSchema = v.object({ record: safePath, sha256, requires: v.optional(requires), requiresShared: v.optional(requiresShared) });

export const manifestSchema = v.object({
  format,
  sequence: v.pipe(count('a sequence (integer >= 1)'), v.minValue(1, 'expected a sequence (integer >= 1)')),
  published: isoTime,
  expires: v.optional(isoTime),
  keyId: v.pipe(v.string('expected a key id'), v.minLength(1, 'expected a key id')),
  killSwitch: v.boolean('expected true or false'),
  modules: v.record(moduleName, moduleStateSchema),
  // The versions of the shared dependencies the app's shell provides (`tranche shared`): package -> version.
  // Absent until the app's build told the store; then live versions' `requiresShared` are checked against it.
  shared: v.optional(sharedVersionsSchema),
  releases: v.record(v.string(), releaseRefSchema),
});

export const envelopeSchema = v.object({
  format,
  keyId: v.pipe(v.string('expected a key id'), v.minLength(1, 'expected a key id')),
  signature: v.pipe(v.string('expected a base64url signature'), v.regex(/^[A-Za-z0-9_-]+$/, 'expected a base64url signature')),
  payload: v.string('expected the manifest as a JSON string'),
});

/** One file of a release: where it sits in the release, its SHA-256 (hex), size and content type. */
export type FileEntry = v.InferOutput<typeof fileEntrySchema>;
/** The immutable description of module@version. */
export type ReleaseRecord = v.InferOutput<typeof releaseRecordSchema>;
/** A live rollout: `percent` of the module's buckets, starting at bucket `from`. */
export type Rollout = v.InferOutput<typeof rolloutSchema>;
/** What the manifest says about one module. */
export type ModuleState = v.InferOutput<typeof moduleStateSchema>;
/** Where a release record is (relative to the manifest), what it must hash to, and what the version requires. */
export type ReleaseRef = v.InferOutput<typeof releaseRefSchema>;
/** The signed root manifest's payload. */
export type Manifest = v.InferOutput<typeof manifestSchema>;
/** What is stored and served as manifest.json: the payload text and its signature. */
export type SignedEnvelope = v.InferOutput<typeof envelopeSchema>;

/** A percentage (0..100, steps of 0.01) as a whole number of buckets. */
export function percentToBuckets(percent: number): number {
  return Math.round(percent * 100);
}
