/**
 * The one check of a module name and a version wherever one enters the release side: each
 * `tranche/node` method (ReleaseStore), the CLI's arguments, `tranche-release.json`. Both become
 * store paths (`records/<module>/<version>.json`, `plans/<module>.json`), so they are checked
 * before anything is read or written: `"../../etc/x"` is refused the same way whether or not such
 * a file exists, and a version too long for a file name is refused before any blob is written.
 */
import { TrancheError } from '../core/TrancheError.js';
import { MODULE_NAME, isVersion } from '../core/names.js';

/**
 * The longest version a store takes: `records/<module>/<version>.json` is written through a temp
 * file named `.<version>.json.<pid>.<random>.tmp`, which must fit a 255-byte file name (ext4,
 * APFS, NTFS) with a 7-digit pid; 200 leaves room for all of it. semver itself allows 256.
 */
const MAX_STORED_VERSION_LENGTH = 200;

/** `text` quoted for a message, cut short when long: a hostile argument must not flood it. */
function quoted(text: unknown): string {
  const json = JSON.stringify(text) ?? String(text);
  return json.length > 66 ? `${json.slice(0, 64)}…` : json;
}

/** Throws `usage` unless `module` is a module name; `what` names the argument, e.g. `--module`. */
export function checkModule(module: unknown, what: string): string {
  if (typeof module !== 'string' || !MODULE_NAME.test(module))
    throw new TrancheError('invalid-argument', {
      where: `${what} ${quoted(module)}`,
      problem: `expected a module name matching [a-z0-9][a-z0-9._-]{0,63}`,
    });
  return module;
}

/** Throws `usage` unless `version` is a semver version a store's file names can hold; `what` names the argument. */
export function checkVersion(version: unknown, what: string): string {
  if (typeof version !== 'string' || !isVersion(version))
    throw new TrancheError('invalid-argument', { where: `${what} ${quoted(version)}`, problem: `expected a semver version such as 1.2.3` });
  if (version.length > MAX_STORED_VERSION_LENGTH)
    throw new TrancheError('invalid-argument', {
      where: `${what} ${quoted(version.slice(0, 24))}… is ${version.length} characters long`,
      problem: `a store takes versions of at most ${MAX_STORED_VERSION_LENGTH} (they become file names)`,
    });
  return version;
}
