/** Rolldown's `external` for bare specifiers resolved at run time (import map), with their subpaths. */
import { esmExternalRequirePlugin, isCSSRequest, type Rolldown } from 'vite';
import { packageOf } from '../core/names.js';
import { optionProblem } from '../core/optionProblem.js';

/** Whether `specifier` is bare (`react`, `cart/x.js`): not relative, absolute or a URL. */
export function isBareSpecifier(specifier: string): boolean {
  return specifier !== '' && !/^(\.{0,2}\/|[A-Za-z][A-Za-z0-9+.-]*:|\0)/.test(specifier);
}

/** What is wrong with a `shared` option (the same list in trancheApp and trancheModule), one line each. */
export function sharedProblems(shared: unknown): string[] {
  if (shared === undefined) return [];
  if (!Array.isArray(shared))
    return [optionProblem('shared', "an array of bare specifiers, such as ['react', 'react-dom/client']", shared)];
  return shared.flatMap((specifier: unknown, i) =>
    typeof specifier === 'string' && isBareSpecifier(specifier)
      ? []
      : [optionProblem(`shared[${i}]`, 'a bare specifier such as "react"', specifier)],
  );
}

/** Whether `id` is one of `bare` or a subpath of one (`cart` covers `cart/x.js`). */
export function isUnder(bare: readonly string[], id: string): boolean {
  return bare.some((s) => id === s || id.startsWith(`${s}/`));
}

/** `external` for `bare` (and their subpaths) and whatever the user's own `external` says. */
export function externalMatcher(bare: readonly string[], user: Rolldown.ExternalOption | undefined): Rolldown.ExternalOptionFunction {
  const matchesUser = (id: string, importer: string | undefined, isResolved: boolean): boolean => {
    if (user === undefined) return false;
    if (typeof user === 'function') return user(id, importer, isResolved) === true;
    return (Array.isArray(user) ? user : [user]).some((p) => (typeof p === 'string' ? p === id : p.test(id)));
  };
  return (id, importer, isResolved) => isUnder(bare, id) || matchesUser(id, importer, isResolved);
}

/**
 * Leaves to the page's import map, in a build's Rolldown options: `bare` (tranche modules) with
 * their subpaths and the user's own `external`, and `shared` exactly (a shared `react-dom/client`
 * leaves `react-dom` bundled). The shared specifiers go through Rolldown's
 * esmExternalRequirePlugin rather than `external`, so that a bundled CommonJS package's
 * `require('react')` becomes an import of `react`, the shell's copy: as a plain `external` it
 * stays a `require` call, which throws in the browser (issue 11). The plugin then resolves them
 * before the `external` option could: that option never matches them.
 */
export function leaveToImportMap(rolldown: Rolldown.InputOptions, bare: readonly string[], shared: readonly string[]): void {
  const others = externalMatcher(bare, rolldown.external);
  rolldown.external = (id, importer, isResolved) => !shared.includes(id) && others(id, importer, isResolved);
  if (shared.length) rolldown.plugins = [esmExternalRequirePlugin({ external: [...shared] }), rolldown.plugins];
}

/**
 * Why the build must not bundle `specifier`, imported by `importer` (a path relative to the
 * root), or null: it is a part of a shared package that is not itself shared
 * (`svelte/internal/flags/legacy` beside a shared `svelte/internal/client`, `react-dom` beside
 * `react-dom/client`). Bundled, it would be a second copy of that package's code beside the
 * shared one, whose state (Svelte's legacy mode, React DOM's internals) the shared copy never
 * sees. Stylesheets carry no such state.
 */
export function unsharedPart(shared: readonly string[], specifier: string, importer: string | undefined): string | null {
  if (!isBareSpecifier(specifier) || shared.includes(specifier) || isCSSRequest(specifier)) return null;
  const pkg = packageOf(specifier);
  if (!shared.some((s) => packageOf(s) === pkg)) return null;
  return (
    `${importer ?? 'the build'} imports "${specifier}", a part of shared package ${pkg} that is not shared: ` +
    `bundled, it would be a second copy of ${pkg} beside the shared one. Add "${specifier}" to shared (trancheApp and trancheModule option)`
  );
}
