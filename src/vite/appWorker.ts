/**
 * The app's own service worker (the file that calls `installTranche` from `tranche/sw`), built
 * by `trancheApp()` after the app build, with the app shell's precache list baked in, so the
 * shell starts offline even on a first visit's second load.
 *
 * The list is injected where tranche/sw reads `self.__WB_MANIFEST` (workbox-precaching's
 * convention, so workbox-build's injectManifest fills the same place), as `[{url, revision}]`:
 * `url` relative to the worker script (workbox resolves it against the worker's location) and
 * `revision` the SHA-256 of the bytes as written, so a changed file is fetched again and an
 * unchanged one is not.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { build, type Plugin, type ResolvedConfig, type Rolldown } from 'vite';
import { sha256Hex } from '../core/integrity.js';
import { unsafePathReason } from '../core/paths.js';
import { TrancheError } from '../core/TrancheError.js';
import { optionProblem } from '../core/optionProblem.js';

/** Where the precache list is injected: the expression tranche/sw reads it from. */
export const PRECACHE_INJECTION_POINT = 'self.__WB_MANIFEST';
/** Where the shell's shared dependencies' versions (package -> version) are injected: tranche/sw reads them there. */
export const SHARED_INJECTION_POINT = 'self.__TRANCHE_SHARED';

/** The `worker` option of `trancheApp()`. */
export interface AppWorkerOptions {
  /** The worker's source entry, relative to Vite's `root`; it calls `installTranche` from `tranche/sw`. */
  entry: string;
  /**
   * Where the built worker goes, relative to the build's `outDir`. Its directory is the
   * widest scope the worker can control without a `Service-Worker-Allowed` header.
   * @default 'sw.js'
   */
  fileName?: string;
  /**
   * Globs (picomatch, relative to `outDir`) choosing which files of the app build the worker
   * precaches: the shell's scripts and styles. Its HTML is not needed: tranche keeps its own
   * copy of the last good shell HTML (it injects each page load's import map into it).
   * @default ['**\/*.{js,css}']
   */
  precache?: readonly string[];
}

/** One entry of the injected precache list, as workbox-precaching reads it. */
export interface PrecacheEntry {
  url: string;
  revision: string;
}

const DEFAULT_PRECACHE: readonly string[] = ['**/*.{js,css}'];

/**
 * A plugin that, once the app build is written, bundles the worker into one classic-script
 * file (an IIFE, so it registers as a classic or a module worker alike) with the precache list
 * of the app's files matching `precache` injected as `self.__WB_MANIFEST`, and the shell's
 * shared dependencies' versions (`shared()`) as `self.__TRANCHE_SHARED`.
 * Fails the build when `precache` matches nothing, when `fileName` would overwrite a file of
 * the app, or when the worker never reads the list (it does not call `installTranche`).
 */
export function appWorker(options: AppWorkerOptions, shared: () => Record<string, string>): Plugin {
  const { entry, fileName = 'sw.js', precache = DEFAULT_PRECACHE } = options;
  let config: ResolvedConfig;
  return {
    name: 'tranche:app-worker',
    apply: 'build',
    // An SSR build of the same config has no shell to precache and must not emit a worker.
    applyToEnvironment: (environment) => environment.config.consumer === 'client',
    configResolved(resolved) {
      config = resolved;
    },
    async writeBundle(output, bundle) {
      const outDir = output.dir ?? path.resolve(config.root, config.build.outDir);
      if (fileName in bundle) {
        throw new TrancheError('invalid-option', {
          where: 'trancheApp()',
          problems: [`worker.fileName ${JSON.stringify(fileName)}: the app build already emits a file of that name`],
        });
      }
      const entries = await precacheList(outDir, Object.keys(bundle), precache, fileName);
      const worker = await buildWorker(config, { entry, fileName, outDir, entries, shared: shared() });
      // define only replaces what the code reads; a worker that never reads the list would
      // build fine and silently precache nothing.
      if (!entries.every((e) => worker.includes(e.revision))) {
        throw new TrancheError('invalid-option', {
          where: 'trancheApp()',
          problems: [
            `worker.entry ${entry}: never reads ${PRECACHE_INJECTION_POINT} (installTranche from tranche/sw does), ` +
              'so the app shell would not be precached',
          ],
        });
      }
    },
  };
}

/** The precache list for the app files in `outDir` whose names match `globs`, sorted by URL. */
async function precacheList(
  outDir: string,
  files: readonly string[],
  globs: readonly string[],
  workerFile: string,
): Promise<PrecacheEntry[]> {
  const isMatch = picomatch(globs as string[]);
  const chosen = files.filter((f) => isMatch(f)).sort();
  if (chosen.length === 0) {
    throw new TrancheError('invalid-option', {
      where: 'trancheApp()',
      problems: [`worker.precache: ${JSON.stringify(globs)} matched none of the app build's files (${files.join(', ') || 'none'})`],
    });
  }
  const workerDir = path.posix.dirname(workerFile);
  return Promise.all(
    chosen.map(async (file) => ({
      url: path.posix.relative(workerDir, file),
      revision: await sha256Hex(await readFile(path.join(outDir, file))),
    })),
  );
}

interface WorkerBuild {
  entry: string;
  fileName: string;
  outDir: string;
  entries: PrecacheEntry[];
  shared: Record<string, string>;
}

/** Builds the worker with the app's root, mode and defines; returns its code. */
async function buildWorker(app: ResolvedConfig, { entry, fileName, outDir, entries, shared }: WorkerBuild): Promise<string> {
  const result = await build({
    configFile: false,
    root: app.root,
    mode: app.mode,
    logLevel: app.logLevel,
    publicDir: false,
    resolve: { alias: app.resolve.alias },
    define: { ...app.define, [PRECACHE_INJECTION_POINT]: JSON.stringify(entries), [SHARED_INJECTION_POINT]: JSON.stringify(shared) },
    build: {
      outDir,
      emptyOutDir: false,
      minify: app.build.minify,
      sourcemap: app.build.sourcemap,
      rolldownOptions: {
        input: path.resolve(app.root, entry),
        output: { format: 'iife', entryFileNames: fileName },
      },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunk = outputs.flatMap((o) => o.output).find((file) => file.fileName === fileName);
  if (chunk?.type !== 'chunk') throw new TrancheError('not-found', { what: `built service worker ${fileName}` });
  return chunk.code;
}

/** The problems of a `worker` option (`trancheApp`), worded `worker.<field>: expected …`. */
export function appWorkerProblems(worker: AppWorkerOptions): string[] {
  const problems: string[] = [];
  const { entry, fileName, precache } = worker;
  if (typeof entry !== 'string' || entry === '') problems.push(optionProblem('worker.entry', 'a path to the service worker source', entry));
  if (fileName !== undefined) {
    const reason = typeof fileName === 'string' ? unsafePathReason(fileName) : 'is not a string';
    if (reason || !fileName.endsWith('.js'))
      problems.push(optionProblem('worker.fileName', `a relative path ending in .js${reason ? `, but it ${reason}` : ''}`, fileName));
  }
  if (
    precache !== undefined &&
    (!Array.isArray(precache) || precache.length === 0 || !precache.every((g) => typeof g === 'string' && g !== ''))
  ) {
    problems.push(optionProblem('worker.precache', 'a non-empty array of globs', precache));
  }
  return problems;
}
