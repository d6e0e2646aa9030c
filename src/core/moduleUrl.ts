/**
 * Module URLs: `<prefix><module>/<version>/<path>` names one file of one committed version, so
 * stack traces and network logs say module@version; `<prefix><module>/<path>` (unversioned)
 * means "that file of the version my snapshot runs", which is how code that cannot use the
 * page's import map (dedicated workers, CSS url()s written by hand) stays on its snapshot.
 * A segment after the module that is a valid semver version is read as the version.
 * The worker (sw/Router.ts), the Node store handler (src/release/storeHandler.ts) and the page's
 * error attribution (attribution.ts) all read module URLs with this one parser, so the network
 * answers exactly the URLs the worker does and an error blames exactly the version served.
 * Dependency-free (no semver, no valibot): the page client bundles it.
 */
import { MODULE_NAME, isVersion } from './names.js';
import { unsafePathReason } from './paths.js';

/**
 * True for a path prefix such as /modules/ or /tranche/: starts and ends with `/`, no query or
 * fragment, not `/` alone (which would claim every URL). Module prefixes and store mounts must be one.
 */
export function isPathPrefix(value: unknown): value is string {
  return typeof value === 'string' && value !== '/' && /^\/([^?#]*\/)?$/.test(value);
}

/** The URL under `moduleBase` of module@version's directory (ending with `/`): its files' URLs are it plus their paths. */
export function versionDirUrl(moduleBase: string, module: string, version: string): string {
  return `${moduleBase}${module}/${version}/`;
}

/** A parsed module URL; `version` is null for an unversioned one. */
export interface ModuleUrl {
  module: string;
  version: string | null;
  path: string;
}

/** Parses `href` when it lies under `moduleBase` (an absolute URL ending with `/`), else null. */
export function parseModuleUrl(href: string, moduleBase: string): ModuleUrl | null {
  const url = new URL(href);
  const bare = url.origin + url.pathname;
  if (!bare.startsWith(moduleBase)) return null;
  const [module, ...rest] = bare.slice(moduleBase.length).split('/');
  if (!module || !MODULE_NAME.test(module) || rest.length === 0) return null;
  const versioned = rest.length > 1 && isVersion(rest[0]!);
  const version = versioned ? rest[0]! : null;
  const path = (versioned ? rest.slice(1) : rest).join('/');
  // Decoding is not needed: release paths never contain percent escapes (src/core/paths.ts).
  if (unsafePathReason(path) !== null) return null;
  return { module, version, path };
}
