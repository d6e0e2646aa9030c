/**
 * Compatibility ranges (docs/manifest.md, "Compatibility ranges"): a version may require other
 * names (modules, or shared dependencies) at semver ranges. Pure and generic over "name ->
 * version": the release CLI checks what a manifest change makes live, the service worker only
 * builds combinations that satisfy every range, and shared dependencies reuse the same rules.
 */
import satisfies from 'semver/functions/satisfies.js';

/** What one version requires: name -> semver range (npm's semantics; pre-releases match only ranges naming them). */
export type Requirements = Readonly<Record<string, string>>;

/** Looks up what name@version requires (undefined or {}: nothing). */
export type RequirementsOf = (name: string, version: string) => Requirements | undefined;

/** One requirement a combination does not meet. */
interface Unmet {
  /** The name and version that requires. */
  name: string;
  version: string;
  /** What it requires, and at which range. */
  requires: string;
  range: string;
  /** The version of `requires` in the combination, null when it has none. */
  found: string | null;
}

/** Whether `version` is in semver `range` (false for either being unparsable). */
export function inRange(version: string, range: string): boolean {
  return satisfies(version, range);
}

/** Every requirement of the versions in `chosen` that `chosen` itself does not meet, in `chosen`'s order. */
export function unmetRequirements(chosen: Readonly<Record<string, string>>, requirementsOf: RequirementsOf): Unmet[] {
  return [...eachUnmet(chosen, requirementsOf)];
}

/**
 * Shared dependencies join a combination as names no module can have (module names hold no
 * colon): `shared:react`, with the one version the shell provides as its only candidate.
 */
const SHARED = 'shared:';

/** The name of shared dependency `pkg` in a combination. */
export function sharedName(pkg: string): string {
  return `${SHARED}${pkg}`;
}

/** What a version requires of modules and of shared dependencies (`requiresShared`), as one set of names. */
export function withShared(requires: Requirements | undefined, requiresShared: Requirements | undefined): Requirements | undefined {
  if (!requiresShared) return requires;
  return { ...requires, ...Object.fromEntries(Object.entries(requiresShared).map(([pkg, range]) => [sharedName(pkg), range])) };
}

/**
 * One line for an operator: `cart@2.0.0 requires catalog@^2.0.0 (gets catalog@1.0.0)`, or for a
 * shared dependency `cart@2.0.0 requires shared react@^19.0.0 (the shell has react@18.3.1)`.
 */
export function describeUnmet(u: Unmet): string {
  const what = `${u.name}@${u.version} requires`;
  if (u.requires.startsWith(SHARED)) {
    const pkg = u.requires.slice(SHARED.length);
    return `${what} shared ${pkg}@${u.range} (${u.found === null ? `the shell has no ${pkg}` : `the shell has ${pkg}@${u.found}`})`;
  }
  return `${what} ${u.requires}@${u.range} (${u.found === null ? `has no ${u.requires}` : `gets ${u.requires}@${u.found}`})`;
}

/** A combination in which every range holds, and what had to be left out to get it. */
interface CompatibleChoice {
  chosen: Record<string, string>;
  /** Names given no version at all: none of their candidates could be met (with the requirement that failed last). */
  leftOut: Unmet[];
}

/**
 * Picks one version per name from `candidates` (each list most preferred first) so that every
 * range holds. Starting from each name's first candidate, while a requirement is unmet: the
 * name that requires moves to its next candidate; when it has none left, the required name
 * moves to its next one instead; when neither can move, the requiring name is left out. Every
 * step moves one position forward, so this ends after at most as many steps as there are
 * candidates. Deterministic: the same input always gives the same combination.
 */
export function chooseCompatible(
  candidates: Readonly<Record<string, readonly string[]>>,
  requirementsOf: RequirementsOf,
): CompatibleChoice {
  const at = new Map<string, number>();
  for (const [name, list] of Object.entries(candidates)) if (list.length) at.set(name, 0);
  const leftOut: Unmet[] = [];
  for (;;) {
    const chosen: Record<string, string> = {};
    for (const [name, i] of at) chosen[name] = candidates[name]![i]!;
    const first = eachUnmet(chosen, requirementsOf).next().value;
    if (!first) return { chosen, leftOut };
    const next = (name: string) => {
      const i = at.get(name);
      if (i === undefined || i + 1 >= candidates[name]!.length) return false;
      at.set(name, i + 1);
      return true;
    };
    if (next(first.name) || next(first.requires)) continue;
    at.delete(first.name);
    leftOut.push(first);
  }
}

function* eachUnmet(chosen: Readonly<Record<string, string>>, requirementsOf: RequirementsOf): Generator<Unmet> {
  for (const [name, version] of Object.entries(chosen)) {
    for (const [requires, range] of Object.entries(requirementsOf(name, version) ?? {})) {
      const found = chosen[requires] ?? null;
      if (found === null || !inRange(found, range)) yield { name, version, requires, range, found };
    }
  }
}
