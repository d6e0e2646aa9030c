/**
 * Lists every file of a build directory as a release path. Nothing is skipped silently: a path
 * that cannot be a release path (docs/manifest.md, "Paths"), a symlink leading out of the build,
 * a socket or a device is an error, listed with all the others in one message.
 */
import { statSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { TrancheError } from '../core/TrancheError.js';
import { unsafePathReason } from '../core/paths.js';
import { isMissing } from './missing.js';

/** A file to ingest: its path in the release and where its bytes are read from. */
export interface BuildFile {
  path: string;
  source: string;
}

const MAX_LISTED_PROBLEMS = 20;
/** The largest file Node reads whole (fs.readFile's limit), which is how a file is hashed and stored. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/** The files under `buildDir`, sorted by release path. */
export async function listBuildFiles(buildDir: string): Promise<BuildFile[]> {
  const root = await buildRoot(buildDir);
  const files: BuildFile[] = [];
  const problems: string[] = [];
  await walk(root, root, '', new Set([root]), files, problems);
  if (problems.length) {
    const shown = problems.slice(0, MAX_LISTED_PROBLEMS);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    throw new TrancheError('unreleasable-files', {
      what: `build directory ${buildDir}`,
      reason: `cannot release these paths:\n  ${shown.join('\n  ')}`,
    });
  }
  if (!files.length) throw new TrancheError('empty-build', { buildDir });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function buildRoot(buildDir: string): Promise<string> {
  try {
    const root = await realpath(buildDir);
    if ((await stat(root)).isDirectory()) return root;
  } catch (err) {
    if (!isMissing(err)) throw err;
    throw new TrancheError('not-found', { what: `build directory ${buildDir}` });
  }
  throw new TrancheError('invalid-argument', { where: `build directory ${buildDir}`, problem: 'is not a directory' });
}

/**
 * `source`, refused when too large to read, before anything is read or written. Synchronous:
 * one stat per file of a 5,000-file build costs milliseconds this way (ingest.ts says why).
 */
function checkSize(source: string): string {
  const { size } = statSync(source);
  if (size > MAX_FILE_BYTES)
    throw new TrancheError('unreleasable-files', {
      what: source,
      reason: `${size} bytes is more than a release file may hold (at most ${MAX_FILE_BYTES} bytes, 2 GiB: each file is read whole)`,
    });
  return source;
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
}

async function walk(
  root: string,
  dir: string,
  prefix: string,
  ancestors: Set<string>,
  files: BuildFile[],
  problems: string[],
): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    let source = join(dir, entry.name);
    let kind: { isFile(): boolean; isDirectory(): boolean } = entry;
    if (entry.isSymbolicLink()) {
      const target = await realpath(source).catch(() => null);
      if (target === null) {
        problems.push(`${path}: is a symlink to nothing`);
        continue;
      }
      if (!inside(root, target)) {
        problems.push(`${path}: is a symlink to ${target}, outside the build directory`);
        continue;
      }
      source = target;
      kind = await stat(target);
    }
    if (kind.isDirectory()) {
      if (ancestors.has(source)) {
        problems.push(`${path}: is a symlink loop`);
        continue;
      }
      await walk(root, source, path, new Set([...ancestors, source]), files, problems);
    } else if (kind.isFile()) {
      const reason = unsafePathReason(path);
      if (reason) problems.push(`${path}: ${reason}`);
      else files.push({ path, source: checkSize(source) });
    } else {
      problems.push(`${path}: is neither a file nor a directory`);
    }
  }
}
