/**
 * What each mutating verb does to the manifest's modules, as pure functions over a draft. Each
 * either changes the draft and returns a note for the operator, or throws naming what stops it.
 * publish.ts wraps them with reading, signing, history and the atomic write.
 */
import { TrancheError } from '../core/TrancheError.js';
import { placeRollout } from '../core/bucketing.js';
import { inRange, type RequirementsOf } from '../core/compatibility.js';
import type { ModuleState } from '../core/manifest.js';

/** The part of a manifest the verbs change. */
export interface ManifestDraft {
  modules: Record<string, ModuleState>;
  killSwitch: boolean;
  /** The shell's shared dependencies' versions (package -> version); absent until `tranche shared` told the store. */
  shared?: Record<string, string>;
}

function existing(draft: ManifestDraft, module: string): ModuleState {
  const mod = draft.modules[module];
  if (!mod)
    throw new TrancheError('not-found', {
      what: `module ${module} in the manifest (promote a first version with: tranche promote ${module}@<version>)`,
    });
  return mod;
}

function notPaused(module: string, mod: ModuleState): void {
  if (mod.paused)
    throw new TrancheError('paused', {
      what: module,
      reason: `is paused; run tranche resume ${module} first (rollback works while paused)`,
    });
}

function notBlocked(module: string, mod: ModuleState, version: string): void {
  if (mod.blocked.includes(version)) {
    throw new TrancheError('blocked', {
      what: `${module}@${version}`,
      reason: 'was rolled back and is blocked; a blocked version never goes live again: release a new version',
    });
  }
}

/** Checks a rollout percentage: 0..100 in steps of 0.01. Returns it rounded to those steps. */
function checkPercent(percent: number): number {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100 || Math.abs(percent * 100 - Math.round(percent * 100)) > 1e-6) {
    throw new TrancheError('invalid-argument', {
      where: `--percent ${percent}`,
      problem: `expected a number from 0 to 100 in steps of 0.01`,
    });
  }
  return Math.round(percent * 100) / 100;
}

/** Makes `version` the module's stable version (creating the module on its first promote). */
export function promote(draft: ManifestDraft, module: string, version: string): string {
  const mod = draft.modules[module];
  if (!mod) {
    draft.modules[module] = { stable: version, rollouts: [], paused: false, blocked: [] };
    return `${module}@${version} is the first stable version of ${module}`;
  }
  notPaused(module, mod);
  notBlocked(module, mod, version);
  const previous = mod.stable;
  mod.stable = version;
  mod.rollouts = mod.rollouts.filter((r) => r.version !== version);
  return previous === version ? `${module}@${version} is stable` : `${module}@${version} is stable (was ${previous})`;
}

/** Starts or changes the rollout of `version` to `percent` of the module's clients. */
export function rollout(draft: ManifestDraft, module: string, version: string, percent: number): string {
  const share = checkPercent(percent);
  const mod = existing(draft, module);
  notPaused(module, mod);
  notBlocked(module, mod, version);
  if (mod.stable === version)
    throw new TrancheError('no-change', { what: `${module}@${version}`, reason: 'is already the stable version' });
  const replaced = takeOverFullRollout(module, mod, version);
  mod.rollouts = placeRollout(module, mod, version, share);
  const note = `${replaced}${module}@${version} reaches ${share}% of clients`;
  return share === 100 ? `${note}, still as a rollout; tranche promote ${module}@${version} makes it stable` : note;
}

/**
 * Another version at 100% runs on every client: it is the stable in all but name, and it holds
 * every bucket, so a new rollout has nowhere to go. It becomes the stable (no client changes
 * version) and the new rollout takes its place from there. Returns the note saying so, or ''.
 */
function takeOverFullRollout(module: string, mod: ModuleState, version: string): string {
  const full = mod.rollouts.find((r) => r.percent === 100 && r.version !== version);
  if (!full) return '';
  const was = mod.stable;
  mod.stable = full.version;
  mod.rollouts = mod.rollouts.filter((r) => r !== full);
  return `${module}@${full.version} was at 100% and is stable now (was ${was}); `;
}

/** Freezes the module's rollouts. */
export function pause(draft: ManifestDraft, module: string): string {
  existing(draft, module).paused = true;
  return `${module} is paused`;
}

/** Unfreezes the module's rollouts. */
export function resume(draft: ManifestDraft, module: string): string {
  existing(draft, module).paused = false;
  return `${module} is resumed`;
}

/** Sets the kill switch: when on, every worker unregisters itself. */
export function setKillSwitch(draft: ManifestDraft, on: boolean): string {
  draft.killSwitch = on;
  return `kill switch ${on ? 'on: workers will unregister themselves' : 'off'}`;
}

/**
 * Undoes the latest step of a module (docs/cli.md, "rollback"). What is rolled back is what was
 * live and is abandoned: the live rollouts (percent above 0) when there are any, clients going
 * back to the stable they came from; else the stable itself, which goes back to the previous
 * stable (the latest in `stableHistory`, oldest first, that is neither current nor blocked).
 * Those versions are blocked, never the target. `to` names the stable to end on instead; 0%
 * (QA-only) rollouts are never live, so they stay as they are and are not blocked. The note says
 * exactly what happened.
 */
export function rollback(draft: ManifestDraft, module: string, to: string | undefined, stableHistory: readonly string[]): string {
  const mod = existing(draft, module);
  const live = mod.rollouts.filter((r) => r.percent > 0);
  let target = to;
  if (target === undefined && live.length) target = mod.stable;
  if (target === undefined) {
    target = [...stableHistory].reverse().find((v) => v !== mod.stable && !mod.blocked.includes(v));
    if (target === undefined) {
      throw new TrancheError('no-change', {
        what: module,
        reason: `has no earlier stable version to roll back to than ${mod.stable}; name one with --to <version>`,
      });
    }
  }
  notBlocked(module, mod, target);
  const abandoned = live.length ? live.map((r) => r.version) : [mod.stable];
  const blocked = abandoned.filter((v) => v !== target && !mod.blocked.includes(v));
  if (target === mod.stable && !live.length)
    throw new TrancheError('no-change', {
      what: `${module}@${target}`,
      reason: 'is already stable with no live rollouts; nothing to roll back',
    });
  const was = mod.stable;
  mod.blocked = [...mod.blocked, ...blocked];
  mod.rollouts = mod.rollouts.filter((r) => r.percent === 0 && r.version !== target);
  mod.stable = target;
  const parts = [
    target === was ? `${module}@${target} stays stable` : `${module}@${target} is stable (was ${was})`,
    ...(live.length ? [`ended rollouts: ${live.map((r) => `${r.version} (${r.percent}%)`).join(', ')}`] : []),
    `blocked: ${blocked.length ? blocked.join(', ') : 'nothing'}`,
  ];
  const kept = mod.rollouts.map((r) => r.version);
  if (kept.length) parts.push(`kept at 0% (QA only): ${kept.join(', ')}`);
  return `${module} rolled back: ${parts.join('; ')}`;
}

/** Records the versions of the shared dependencies the app's shell provides (`tranche shared`). */
export function setShared(draft: ManifestDraft, shared: Readonly<Record<string, string>>): string {
  const before = draft.shared;
  draft.shared = Object.fromEntries(Object.entries(shared).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const list = (s: Readonly<Record<string, string>> | undefined) =>
    s === undefined
      ? 'unknown'
      : Object.entries(s)
          .map(([pkg, ver]) => `${pkg}@${ver}`)
          .join(', ') || 'none';
  return `the shell's shared dependencies are ${list(draft.shared)} (were ${list(before)})`;
}

/** Lifts the block on module@version, deliberately: it may go live again (recorded in history like every change). */
export function unblock(draft: ManifestDraft, module: string, version: string): string {
  const mod = existing(draft, module);
  if (!mod.blocked.includes(version))
    throw new TrancheError('no-change', {
      what: `${module}@${version}`,
      reason: `is not blocked (blocked: ${mod.blocked.length ? mod.blocked.join(', ') : 'nothing'})`,
    });
  mod.blocked = mod.blocked.filter((v) => v !== version);
  return `${module}@${version} is no longer blocked; promote or roll it out to send it to clients again`;
}

/**
 * The shared dependencies' ranges (`requiresShared`) of live versions that the shell's versions
 * (`shared`) do not meet, one line each: such a version never runs on that shell, its clients
 * fall back (docs/manifest.md, "Shared dependencies"). None while the store has not been told
 * the shell's versions.
 */
export function unmeetableShared(
  modules: Readonly<Record<string, ModuleState>>,
  shared: Readonly<Record<string, string>> | undefined,
  requiresSharedOf: RequirementsOf,
): string[] {
  if (!shared) return [];
  const lines: string[] = [];
  for (const [name, mod] of Object.entries(modules)) {
    for (const version of liveVersions(mod)) {
      for (const [pkg, range] of Object.entries(requiresSharedOf(name, version) ?? {})) {
        const found = shared[pkg];
        if (found !== undefined && inRange(found, range)) continue;
        const has = found === undefined ? `the shell has no ${pkg}` : `the shell has ${pkg}@${found}`;
        lines.push(`${name}@${version} requires shared ${pkg}@${range}, which the shell does not meet (${has})`);
      }
    }
  }
  return lines;
}

/** The versions of a module clients can get: the stable and every rollout above 0%. */
function liveVersions(mod: ModuleState): string[] {
  return [mod.stable, ...mod.rollouts.filter((r) => r.percent > 0).map((r) => r.version)];
}

/**
 * The compatibility ranges (`--requires`) of live versions that no live version of the required
 * module meets, one line each: no client assigned such a version can run it with what it
 * requires, so every one of them falls back (docs/manifest.md, "Compatibility ranges").
 */
export function unmeetableRequirements(modules: Readonly<Record<string, ModuleState>>, requirementsOf: RequirementsOf): string[] {
  const lines: string[] = [];
  for (const [name, mod] of Object.entries(modules)) {
    for (const version of liveVersions(mod)) {
      for (const [required, range] of Object.entries(requirementsOf(name, version) ?? {})) {
        const live = modules[required] ? liveVersions(modules[required]) : [];
        if (live.some((v) => inRange(v, range))) continue;
        const liveText = live.length ? `live: ${live.join(', ')}` : `${required} is not in the manifest`;
        lines.push(`${name}@${version} requires ${required}@${range}, which no live version of ${required} meets (${liveText})`);
      }
    }
  }
  return lines;
}
