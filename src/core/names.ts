/**
 * Module names and release keys. Dependency-free on purpose: the page client needs them, and
 * importing manifest.ts would put its schemas (valibot, semver) in every app's page bundle.
 * manifest.ts re-exports both.
 */

/** Module names are bare import specifiers and URL segments: keep them plain. */
export const MODULE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Key of `Manifest.releases`: `<module>@<version>`. */
export function releaseKey(module: string, ver: string): string {
  return `${module}@${ver}`;
}
