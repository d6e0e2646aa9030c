/**
 * `tranche-release.json`: what a module's build says about itself (`trancheModule` writes it
 * next to the entry), so `tranche release <dir>` needs no `--module` or `--version`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import semverValid from 'semver/functions/valid.js';
import { sharedVersionsSchema } from '../core/manifest.js';
import { MODULE_NAME } from '../core/names.js';
import { TrancheError } from '../core/TrancheError.js';
import { unlessMissing } from './missing.js';
import { parseDocument, parseJson } from '../core/validate.js';

/** The file written next to the entry with what `tranche release` would otherwise be told. */
export const RELEASE_INFO_FILE = 'tranche-release.json';

/**
 * The file `trancheApp()` writes into the app's build: the versions of the shared dependencies
 * the shell provides (package -> version), which `tranche shared <app-build-dir>` records in the manifest.
 */
export const SHARED_INFO_FILE = 'tranche-shared.json';

/** What {@link SHARED_INFO_FILE} in the app build `dir` says; `not-found` when there is none. */
export async function readSharedInfo(dir: string): Promise<Record<string, string>> {
  const file = path.join(dir, SHARED_INFO_FILE);
  const text = await unlessMissing(readFile(file, 'utf8'));
  if (text === null)
    throw new TrancheError('not-found', {
      what: `${file} (trancheApp() writes it into the app build when the app has shared dependencies)`,
    });
  return parseDocument(sharedVersionsSchema, parseJson(text, file), file);
}

/** What {@link RELEASE_INFO_FILE} holds. */
export interface ReleaseInfo {
  module: string;
  version: string;
  entry: string;
  /** The shared dependencies' ranges the build works with (package -> semver range); absent: none. */
  requiresShared?: Record<string, string>;
}

const releaseInfoSchema = v.object({
  module: v.pipe(v.string('expected a string'), v.regex(MODULE_NAME, 'expected a module name matching [a-z0-9][a-z0-9._-]{0,63}')),
  version: v.pipe(
    v.string('expected a string'),
    v.check((s) => semverValid(s) === s, 'expected a semver version such as 1.2.3'),
  ),
  entry: v.pipe(v.string('expected a string'), v.minLength(1, 'expected a file of the build')),
  // Checked as a release option (release.ts): a bad name or range is named there.
  requiresShared: v.optional(v.record(v.string(), v.string('expected a semver range'))),
});

/** The release info in `dir`, or null when the build has none. */
export async function readReleaseInfo(dir: string): Promise<ReleaseInfo | null> {
  const file = path.join(dir, RELEASE_INFO_FILE);
  const text = await unlessMissing(readFile(file, 'utf8'));
  return text === null ? null : parseDocument(releaseInfoSchema, parseJson(text, file), file);
}

/**
 * `module`, `version` and `entry` of a release of `dir`: the flags, else the build's release
 * info. A flag that contradicts the info is refused (the build was made as something else).
 */
export async function releaseIdentity(
  dir: string,
  flags: { module?: string | undefined; version?: string | undefined; entry?: string | undefined },
): Promise<{ module: string; version: string; entry?: string }> {
  const info = await readReleaseInfo(dir);
  if (!info) {
    if (flags.module === undefined || flags.version === undefined)
      throw new TrancheError('usage', {
        reason:
          `${path.join(dir, RELEASE_INFO_FILE)} not found: ` +
          'pass --module and --version (trancheModule writes that file into its build)',
      });
    return { module: flags.module, version: flags.version, ...(flags.entry !== undefined && { entry: flags.entry }) };
  }
  for (const key of ['module', 'version', 'entry'] as const) {
    const flag = flags[key];
    if (flag !== undefined && flag !== info[key])
      throw new TrancheError('usage', {
        reason:
          `--${key} ${flag} contradicts ${path.join(dir, RELEASE_INFO_FILE)}, which says ${JSON.stringify(info[key])}: ` +
          `rebuild the module as ${flag}, or drop --${key}`,
      });
  }
  return { module: info.module, version: info.version, entry: info.entry };
}
