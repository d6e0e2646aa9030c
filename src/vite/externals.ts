/** Rolldown's `external` for bare specifiers resolved at run time (import map), with their subpaths. */
import type { Rolldown } from 'vite';
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

/**
 * `external` for `bare` (and their subpaths), `exact` (those specifiers only: a shared
 * `react-dom/client` leaves `react-dom` bundled) and whatever the user's own `external` says.
 */
export function externalMatcher(
  bare: readonly string[],
  user: Rolldown.ExternalOption | undefined,
  exact: readonly string[] = [],
): Rolldown.ExternalOptionFunction {
  const matchesUser = (id: string, importer: string | undefined, isResolved: boolean): boolean => {
    if (user === undefined) return false;
    if (typeof user === 'function') return user(id, importer, isResolved) === true;
    return (Array.isArray(user) ? user : [user]).some((p) => (typeof p === 'string' ? p === id : p.test(id)));
  };
  return (id, importer, isResolved) => exact.includes(id) || isUnder(bare, id) || matchesUser(id, importer, isResolved);
}
