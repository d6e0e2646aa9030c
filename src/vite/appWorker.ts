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
 *
 * An app with no worker source of its own gets the worker every guide has the reader write,
 * written here: `installTranche` with the store's manifest, the app's public key and, for a
 * single-page app, its shell.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
  /**
   * The worker's source entry, relative to Vite's `root`; it calls `installTranche` from `tranche/sw`.
   * @default 'src/sw.ts' when the app has that file; else the worker tranche writes (see `publicKey`)
   */
  entry?: string;
  /**
   * Without a worker source of its own, the app gets one calling `installTranche({ manifestUrl:
   * '<store.url>manifest.json', publicKeys: [<this key>], navigation })` (`navigation: { shellUrl:
   * base }` for Vite's default `appType: 'spa'`, else `{}`): the public key file (a JWK, `tranche
   * keygen`'s `public.jwk`) it verifies manifests with, relative to Vite's `root`.
   * @default 'tranche-keys/public.jwk'
   */
  publicKey?: string;
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
/** The worker source an app has when it writes its own. */
const DEFAULT_ENTRY = 'src/sw.ts';
/** Where `tranche keygen --out tranche-keys`, as every guide runs it, writes the public key. */
const DEFAULT_PUBLIC_KEY = 'tranche-keys/public.jwk';
/** The id of the worker source written for an app without its own. */
const WRITTEN_ENTRY = '\0tranche:written-worker';

/** What the worker needs to know of the app beyond its `worker` option. */
interface AppWorkerContext {
  /** The versions of the shell's shared dependencies, by package. */
  shared: () => Record<string, string>;
  /** The URL of the store's manifest (`<store.url>manifest.json`). */
  manifestUrl: string;
}

/**
 * A plugin that, once the app build is written, bundles the worker into one classic-script
 * file (an IIFE, so it registers as a classic or a module worker alike) with the precache list
 * of the app's files matching `precache` injected as `self.__WB_MANIFEST`, and the shell's
 * shared dependencies' versions (`shared()`) as `self.__TRANCHE_SHARED`.
 * Fails the build when `precache` matches nothing, when `fileName` would overwrite a file of
 * the app, when the worker never reads the list (it does not call `installTranche`), or when
 * the app has no worker source and no public key for the one tranche writes.
 */
export function appWorker(options: AppWorkerOptions, { shared, manifestUrl }: AppWorkerContext): Plugin {
  const { fileName = 'sw.js', precache = DEFAULT_PRECACHE } = options;
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
      const entry = options.entry ?? (existsSync(path.resolve(config.root, DEFAULT_ENTRY)) ? DEFAULT_ENTRY : null);
      const source = entry ?? (await writtenWorker(config, options.publicKey ?? DEFAULT_PUBLIC_KEY, manifestUrl));
      const worker = await buildWorker(config, { source, fileName, outDir, entries, shared: shared() });
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

/** The source of the worker an app without its own gets (see `AppWorkerOptions.publicKey`). */
async function writtenWorker(app: ResolvedConfig, publicKey: string, manifestUrl: string): Promise<{ code: string }> {
  const keyFile = path.resolve(app.root, publicKey);
  let key: unknown;
  try {
    key = JSON.parse(await readFile(keyFile, 'utf8'));
  } catch (err) {
    const problem = existsSync(keyFile)
      ? `${keyFile} is not a JWK file: ${(err as Error).message}`
      : `the app has no ${DEFAULT_ENTRY} and no public key at ${keyFile} for the worker tranche writes ` +
        '(npx tranche keygen --out tranche-keys writes one)';
    throw new TrancheError('invalid-option', { where: 'trancheApp()', problems: [`worker: ${problem}`] });
  }
  // A single-page app's every navigation is its one shell, kept from install on (docs/service-worker.md, navigation.shellUrl).
  const navigation = app.appType === 'spa' && app.base.startsWith('/') ? { shellUrl: app.base } : {};
  const options = { manifestUrl, publicKeys: [key], navigation };
  // This package's own tranche/sw, the one the app's tranche/vite came with.
  const from = createRequire(import.meta.url).resolve('tranche/sw');
  return { code: `import { installTranche } from ${JSON.stringify(from)};\ninstallTranche(${JSON.stringify(options)});\n` };
}

interface WorkerBuild {
  /** The worker's source entry relative to the app's root, or the source itself. */
  source: string | { code: string };
  fileName: string;
  outDir: string;
  entries: PrecacheEntry[];
  shared: Record<string, string>;
}

/** Builds the worker with the app's root, mode and defines; returns its code. */
async function buildWorker(app: ResolvedConfig, { source, fileName, outDir, entries, shared }: WorkerBuild): Promise<string> {
  const written: Plugin | null =
    typeof source === 'string'
      ? null
      : {
          name: 'tranche:written-worker',
          resolveId: (id) => (id === WRITTEN_ENTRY ? id : null),
          load: (id) => (id === WRITTEN_ENTRY ? source.code : null),
        };
  const result = await build({
    configFile: false,
    root: app.root,
    mode: app.mode,
    logLevel: app.logLevel,
    publicDir: false,
    resolve: { alias: app.resolve.alias },
    plugins: written ? [written] : [],
    define: { ...app.define, [PRECACHE_INJECTION_POINT]: JSON.stringify(entries), [SHARED_INJECTION_POINT]: JSON.stringify(shared) },
    build: {
      outDir,
      emptyOutDir: false,
      minify: app.build.minify,
      sourcemap: app.build.sourcemap,
      rolldownOptions: {
        input: typeof source === 'string' ? path.resolve(app.root, source) : WRITTEN_ENTRY,
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
  const { entry, publicKey, fileName, precache } = worker;
  if (entry !== undefined && (typeof entry !== 'string' || entry === ''))
    problems.push(optionProblem('worker.entry', 'a path to the service worker source', entry));
  if (publicKey !== undefined && (typeof publicKey !== 'string' || publicKey === ''))
    problems.push(optionProblem('worker.publicKey', 'a path to a public key file (JWK)', publicKey));
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
