/**
 * Reading documents that crossed a trust boundary. Each function either returns a typed
 * document or throws one `invalid-document` error listing every problem as
 * `place: expected …, got …`, so an operator sees all that is wrong in one go.
 */
import * as v from 'valibot';
import semverValid from 'semver/functions/valid.js';
import { TrancheError } from './TrancheError.js';
import {
  BUCKETS,
  FORMAT,
  MODULE_NAME,
  envelopeSchema,
  manifestSchema,
  percentToBuckets,
  releaseKey,
  releaseRecordSchema,
  type Manifest,
  type ReleaseRecord,
  type SignedEnvelope,
} from './manifest.js';

type Schema = v.GenericSchema<unknown, unknown>;

/** `a.b[0]["x@1"]` for a list of keys. */
function formatPath(keys: readonly PropertyKey[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(document)';
}

function render(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function problem(keys: readonly PropertyKey[], expected: string, got: unknown): string {
  return `${formatPath(keys)}: ${expected}, got ${render(got)}`;
}

function schemaProblems(schema: Schema, input: unknown): { output?: unknown; problems: string[] } {
  const result = v.safeParse(schema, input, { abortPipeEarly: true });
  if (result.success) return { output: result.output, problems: [] };
  return {
    problems: result.issues.map((issue) => {
      const keys = (issue.path ?? []).map((item) => item.key as PropertyKey);
      const origin = issue.path?.at(-1)?.origin;
      // Objects and records carry no message of their own, so valibot's would read "Invalid key:
      // Expected "module" but received undefined" (a missing field) or "Invalid type: Expected Object".
      if (issue.type === 'object' && origin === 'key') return problem(keys, 'expected a value (required field)', undefined);
      if (issue.type === 'object' || issue.type === 'record') return problem(keys, 'expected an object', issue.input);
      // A record's key that fails is reported at the key itself, with the key as the value.
      const got = origin === 'key' ? issue.path?.at(-1)?.key : issue.input;
      return problem(keys, issue.message, got);
    }),
  };
}

function checkFormat(input: unknown, what: string): void {
  if (typeof input === 'object' && input !== null && 'format' in input && (input as { format: unknown }).format !== FORMAT) {
    throw new TrancheError('unknown-format', { what, format: (input as { format: unknown }).format });
  }
}

/** Problems listed in one error; a hostile document can have thousands. */
const MAX_PROBLEMS = 20;

function fail(what: string, problems: string[]): never {
  const listed =
    problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `... and ${problems.length - MAX_PROBLEMS} more`] : problems;
  throw new TrancheError('invalid-document', { what, problems: listed });
}

/** Validates `input` against any core schema, throwing `invalid-document` naming `what` and every problem. */
export function parseDocument<T>(schema: v.GenericSchema<unknown, T>, input: unknown, what: string): T {
  const { output, problems } = schemaProblems(schema as Schema, input);
  if (problems.length) fail(what, problems);
  return output as T;
}

/**
 * Deepest nesting of arrays and objects any document tranche reads may have. Its own documents
 * nest a few levels; a deeper one is hostile, and checking it recursively (the schema, a message
 * quoting it) would overflow the stack.
 */
const MAX_JSON_DEPTH = 64;

/** How deep `text` nests arrays and objects (brackets inside strings do not count); stops past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Parses JSON text, naming `what` when it is not JSON or nests deeper than MAX_JSON_DEPTH. */
export function parseJson(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TrancheError('invalid-json', { what, reason: (err as Error).message });
  }
  if (nestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new TrancheError('invalid-json', { what, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` });
  return value;
}

/** Validates a release record: its schema, unique paths and an entry that is one of its files. */
export function parseReleaseRecord(input: unknown, what = 'release record'): ReleaseRecord {
  checkFormat(input, what);
  const { output, problems } = schemaProblems(releaseRecordSchema, input);
  if (problems.length) fail(what, problems);
  const record = output as ReleaseRecord;
  const seen = new Set<string>();
  record.files.forEach((file, i) => {
    if (seen.has(file.path)) problems.push(problem(['files', i, 'path'], 'expected each path once', file.path));
    seen.add(file.path);
  });
  if (!seen.has(record.entry)) problems.push(problem(['entry'], 'expected one of the files', record.entry));
  if (record.module in record.requires)
    problems.push(problem(['requires', record.module], 'expected other modules only', record.requires[record.module]));
  if (problems.length) fail(what, problems);
  return record;
}

/** Validates the signed envelope that wraps a manifest payload. */
export function parseEnvelope(input: unknown, what = 'manifest envelope'): SignedEnvelope {
  checkFormat(input, what);
  const { output, problems } = schemaProblems(envelopeSchema, input);
  if (problems.length) fail(what, problems);
  return output as SignedEnvelope;
}

/**
 * Validates a manifest payload: the schema, then what the schema alone cannot see (unique
 * versions, blocked versions not live, shares within 100%, rollout bucket ranges that fit
 * and do not overlap, every live version present in `releases`).
 */
export function parseManifest(input: unknown, what = 'manifest'): Manifest {
  checkFormat(input, what);
  const { output, problems } = schemaProblems(manifestSchema, input);
  if (problems.length) fail(what, problems);
  const manifest = output as Manifest;
  for (const name of Object.keys(manifest.modules)) problems.push(...moduleProblems(manifest, name));
  for (const key of Object.keys(manifest.releases)) {
    const at = key.lastIndexOf('@');
    const [mod, ver] = [key.slice(0, at), key.slice(at + 1)];
    if (at < 1 || !MODULE_NAME.test(mod) || semverValid(ver) !== ver) {
      problems.push(problem(['releases', key], 'expected a key of the form <module>@<semver>', key));
    }
  }
  if (problems.length) fail(what, problems);
  return manifest;
}

function moduleProblems(manifest: Manifest, name: string): string[] {
  const mod = manifest.modules[name]!;
  const out: string[] = [];
  const at = (...keys: PropertyKey[]) => ['modules', name, ...keys];
  const live = new Set<string>([mod.stable]);
  if (mod.blocked.includes(mod.stable)) out.push(problem(at('stable'), 'expected a version that is not blocked', mod.stable));
  if (!(releaseKey(name, mod.stable) in manifest.releases)) {
    out.push(problem(at('stable'), `expected a released version (no releases["${releaseKey(name, mod.stable)}"])`, mod.stable));
  }
  let total = 0;
  const lanes: Array<[number, number, number]> = [];
  mod.rollouts.forEach((rollout, i) => {
    if (rollout.version === mod.stable)
      out.push(problem(at('rollouts', i, 'version'), 'expected a version other than stable', rollout.version));
    else if (live.has(rollout.version))
      out.push(problem(at('rollouts', i, 'version'), 'expected each version once (duplicate version)', rollout.version));
    live.add(rollout.version);
    if (mod.blocked.includes(rollout.version))
      out.push(problem(at('rollouts', i, 'version'), 'expected a version that is not blocked', rollout.version));
    if (!(releaseKey(name, rollout.version) in manifest.releases)) {
      out.push(
        problem(
          at('rollouts', i, 'version'),
          `expected a released version (no releases["${releaseKey(name, rollout.version)}"])`,
          rollout.version,
        ),
      );
    }
    const size = percentToBuckets(rollout.percent);
    total += size;
    if (rollout.from + size > BUCKETS)
      out.push(problem(at('rollouts', i, 'from'), `expected from + percent*100 <= ${BUCKETS}`, rollout.from));
    // A 0% run owns no bucket, so it cannot overlap anything (placeRollout may put one inside a full space).
    if (size > 0) lanes.push([rollout.from, rollout.from + size, i]);
  });
  if (total > BUCKETS) out.push(problem(at('rollouts'), 'expected percentages summing to at most 100', total / 100));
  lanes.sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < lanes.length; k++) {
    const [prev, cur] = [lanes[k - 1]!, lanes[k]!];
    if (cur[0] < prev[1])
      out.push(
        problem(at('rollouts', cur[2], 'from'), `expected buckets not overlapping rollouts[${prev[2]}] (which ends at ${prev[1]})`, cur[0]),
      );
  }
  const seen = new Set<string>();
  mod.blocked.forEach((ver, i) => {
    if (seen.has(ver)) out.push(problem(at('blocked', i), 'expected each version once (duplicate version)', ver));
    seen.add(ver);
  });
  return out;
}
