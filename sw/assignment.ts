/**
 * Which version of each module this browser should run, decided from the accepted manifest,
 * the identity, what was assigned before, any QA override and the versions' compatibility
 * ranges. Pure functions over module rows, so the rules (stickiness, pause, block, override,
 * ranges) are unit-tested without a worker.
 */
import { bucketOf, moduleSeed, versionForBucket } from '../src/core/bucketing.js';
import { chooseCompatible, type RequirementsOf } from '../src/core/compatibility.js';
import { releaseKey, type Manifest } from '../src/core/manifest.js';
import { emptyModule, type Assignment, type Identity, type ModuleRow, type Overrides } from './Database.js';

/** The id buckets are computed from: the app identity when set, else the anonymous id. */
export function identityKey(identity: Identity): string {
  return identity.userId ?? identity.anonymousId;
}

/** Whether the manifest lets this browser keep running module@version: not rolled back. */
function allowed(manifest: Manifest, module: string, version: string): boolean {
  const mod = manifest.modules[module];
  return !!mod && !mod.blocked.includes(version);
}

/**
 * Whether module@version can be staged under this manifest: allowed, and listed in its
 * releases (only the signed root gives the hash its record is checked against).
 */
function stageable(manifest: Manifest, module: string, version: string): boolean {
  return allowed(manifest, module, version) && releaseKey(module, version) in manifest.releases;
}

/**
 * The assignment for one module (docs/service-worker.md, "Identity and stickiness"). An earlier
 * assignment is kept (with the sequence it came from) while the manifest gives its bucket the
 * same version, so re-reading a manifest never flips a client. That holds across an identity
 * change too (sign in, sign out, another user), sticky bucketing as GrowthBook does it: this
 * browser keeps what it runs until the cohort it came from would move anyway; then the current
 * identity's bucket decides. A paused module keeps whatever its clients had and gives
 * newcomers the stable version.
 */
function assignModule(manifest: Manifest, module: string, key: string, before: Assignment | null): Assignment {
  const mod = manifest.modules[module]!;
  const bucket = bucketOf(moduleSeed(module, mod), key);
  if (mod.paused) {
    if (before && stageable(manifest, module, before.version)) return before;
    return { version: mod.stable, bucket, sequence: manifest.sequence, identity: key };
  }
  const version = versionForBucket(mod, bucket);
  if (before?.version === version) return before.identity === key ? before : { ...before, bucket, identity: key };
  // Assigned under another identity: held while the bucket it came from still gets that version.
  if (before && before.identity !== key && versionForBucket(mod, before.bucket) === before.version) return before;
  return { version, bucket, sequence: manifest.sequence, identity: key };
}

/** Why an override of module@version cannot be honoured, or null when it can. */
export function overrideProblem(manifest: Manifest | null, module: string, version: string): string | null {
  if (!manifest) return 'no manifest has been accepted yet';
  const mod = manifest.modules[module];
  if (!mod) return `the manifest has no module "${module}"`;
  if (!(releaseKey(module, version) in manifest.releases))
    return `${releaseKey(module, version)} is not a released version (not in the signed manifest's releases)`;
  if (mod.blocked.includes(version)) return `${releaseKey(module, version)} is blocked (rolled back)`;
  return null;
}

/** The version new page loads should get: a live override, else the assignment. */
export function desiredVersion(manifest: Manifest, row: ModuleRow, overrides: Overrides, now: number): string | null {
  const override = overrides[row.module];
  if (override && override.expires > now && overrideProblem(manifest, row.module, override.version) === null) return override.version;
  return row.assignment?.version ?? null;
}

/** A module whose current version changed because the manifest took it away (blocked or gone). */
export interface ForcedMove {
  module: string;
  from: string;
  to: string | null;
}

/**
 * Brings every module row in line with `manifest` for identity `key`: assignments, and
 * blocked (rolled-back) versions dropped from `current` and `previous`. A version that is
 * merely no longer live stays: it is still good. A dropped current moves to the assigned
 * version if it is `good` (committed here and not failed here), else the newest good previous
 * one, else to none until staging catches up. Modules gone from the manifest are forgotten.
 * Mutates `rows`; returns the moves.
 */
export function planModules(
  rows: Map<string, ModuleRow>,
  manifest: Manifest,
  key: string,
  good: (module: string, version: string) => boolean,
): ForcedMove[] {
  const moves: ForcedMove[] = [];
  for (const name of Object.keys(manifest.modules)) {
    const row = rows.get(name) ?? emptyModule(name);
    const assignment = assignModule(manifest, name, key, row.assignment);
    const previous = row.previous.filter((v) => allowed(manifest, name, v));
    let current = row.current;
    if (current !== null && !allowed(manifest, name, current)) {
      const to = [assignment.version, ...previous].find((v) => good(name, v)) ?? null;
      moves.push({ module: name, from: current, to });
      current = to;
    }
    rows.set(name, { ...row, assignment, current, previous: previous.filter((v) => v !== current) });
  }
  for (const [name, row] of rows) {
    if (name in manifest.modules) continue;
    if (row.current !== null) moves.push({ module: name, from: row.current, to: null });
    rows.delete(name);
  }
  return moves;
}

/** Whether module@version failed on this client and is not offered again yet. */
type IsBad = (module: string, version: string) => boolean;

/**
 * The version each module of `rows` should move to: one combination in which every `requires`
 * range holds (docs/manifest.md, "Compatibility ranges"). A module's candidates, most preferred
 * first, leaving out any that failed here: what it should run (`wanted`: its override or
 * assignment), its current version, the manifest's stable version, its previous versions. An
 * unmet range moves the module that requires to its next candidate, so it falls back alone;
 * when it has none left, the required module moves instead (src/core/compatibility.ts). A
 * module with no candidate that can be met gets null. `fixed`: names with the one version they
 * have (the shell's shared dependencies, under `sharedName`).
 */
export function compatibleTargets(
  manifest: Manifest,
  rows: readonly ModuleRow[],
  wanted: (row: ModuleRow) => string | null,
  bad: IsBad,
  requirementsOf: RequirementsOf,
  fixed: Readonly<Record<string, string>> = {},
): Map<string, string | null> {
  const candidates: Record<string, string[]> = fixedCandidates(fixed);
  for (const row of rows) {
    const stable = manifest.modules[row.module]?.stable ?? null;
    candidates[row.module] = distinct([wanted(row), row.current, stable, ...row.previous]).filter((v) => !bad(row.module, v));
  }
  const { chosen } = chooseCompatible(candidates, requirementsOf);
  return new Map(rows.map((row) => [row.module, chosen[row.module] ?? null]));
}

/**
 * What a new page load gets: every module's current version, unless that breaks a range (a
 * module committed before the version it requires is, or a fallback left another module on a
 * version that requires the one that failed); then the offending module's newest previous
 * version (not failed here) that meets it, else nothing until staging has caught up.
 */
export function servedVersions(
  rows: readonly ModuleRow[],
  bad: IsBad,
  requirementsOf: RequirementsOf,
  fixed: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const candidates: Record<string, string[]> = fixedCandidates(fixed);
  for (const row of rows) {
    if (row.current !== null) candidates[row.module] = distinct([row.current, ...row.previous.filter((v) => !bad(row.module, v))]);
  }
  const { chosen } = chooseCompatible(candidates, requirementsOf);
  return Object.fromEntries(rows.flatMap((row) => (row.module in chosen ? [[row.module, chosen[row.module]!]] : [])));
}

function fixedCandidates(fixed: Readonly<Record<string, string>>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fixed).map(([name, version]) => [name, [version]]));
}

function distinct(versions: readonly (string | null)[]): string[] {
  return [...new Set(versions.filter((v): v is string => v !== null))];
}
