/** Rolldown's `external` for bare specifiers resolved at run time (import map), with their subpaths. */
import type { Rolldown } from 'vite';

/** Whether `id` is one of `bare` or a subpath of one (`cart` covers `cart/x.js`). */
export function isUnder(bare: readonly string[], id: string): boolean {
  return bare.some((s) => id === s || id.startsWith(`${s}/`));
}

/** `external` for `bare` (and their subpaths) plus whatever the user's own `external` says. */
export function externalMatcher(bare: readonly string[], user: Rolldown.ExternalOption | undefined): Rolldown.ExternalOptionFunction {
  const matchesUser = (id: string, importer: string | undefined, isResolved: boolean): boolean => {
    if (user === undefined) return false;
    if (typeof user === 'function') return user(id, importer, isResolved) === true;
    return (Array.isArray(user) ? user : [user]).some((p) => (typeof p === 'string' ? p === id : p.test(id)));
  };
  return (id, importer, isResolved) => isUnder(bare, id) || matchesUser(id, importer, isResolved);
}
