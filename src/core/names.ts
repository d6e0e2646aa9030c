/**
 * Module names, versions and release keys. Dependency-free on purpose: the page client needs
 * them, and importing manifest.ts would put its schemas (valibot, semver) in every app's page
 * bundle. manifest.ts re-exports `MODULE_NAME` and `releaseKey`.
 */

/** Module names are bare import specifiers and URL segments: keep them plain. */
export const MODULE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * npm package names (`react`, `@scope/pkg`): what a shared dependency is named by in the manifest
 * (`shared`) and in a record's `requiresShared`. A separate namespace from module names: a module
 * may be called `react` without being confused with the shared React.
 */
export const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]{0,100}\/)?[a-z0-9~-][a-z0-9._~-]{0,100}$/;

/** The package a bare specifier belongs to: `react/jsx-runtime` -> `react`, `@scope/pkg/x` -> `@scope/pkg`. */
export function packageOf(specifier: string): string {
  return specifier.split('/', specifier.startsWith('@') ? 2 : 1).join('/');
}

/** Key of `Manifest.releases`: `<module>@<version>`. */
export function releaseKey(module: string, ver: string): string {
  return `${module}@${ver}`;
}

// semver's grammar (semver.org) without build metadata: the manifest only accepts versions that
// semver prints back unchanged (`valid(v) === v`), and semver never prints the build part.
const NUMBER = '(?:0|[1-9]\\d*)';
const PRERELEASE_ID = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const VERSION = new RegExp(`^${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*)?$`);
/** semver's limit on a version string's length. */
const MAX_VERSION_LENGTH = 256;

/**
 * Whether `text` is a version a manifest can release: exactly the strings for which semver's
 * `valid(text) === text` (test/unit/names.test.ts checks the two agree), without semver's code.
 */
export function isVersion(text: string): boolean {
  if (text.length > MAX_VERSION_LENGTH || !VERSION.test(text)) return false;
  // semver refuses a major, minor or patch it cannot hold exactly in a JavaScript number.
  return text.split(/[-.]/, 3).every((part) => Number(part) <= Number.MAX_SAFE_INTEGER);
}
