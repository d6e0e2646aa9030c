/**
 * `trancheApp()`: the one plugin of the app (its shell) that imports tranche modules by their
 * bare names. It knows the app's modules, so:
 *
 * - `vite build` leaves `import('cart')` (and `cart/…`) to the page's import map, builds the
 *   app's service worker with the shell precached (appWorker.ts), and puts the store's stable
 *   import map script first in the HTML, so a first visit works from any static host;
 * - the app's shared dependencies (React) are built once into `shared/`, put into the shell's
 *   import map and left external in the shell, so the shell and every module get one copy
 *   (sharedDeps.ts);
 * - `vite dev` resolves each module from its source (with HMR) and registers no worker;
 * - `vite preview` serves the store next to the built app;
 * - `import('cart')` type-checks: the module's types come from its source, through a generated
 *   declaration file, with no `paths` in tsconfig.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plugin, ResolvedConfig, UserConfig } from 'vite';
import { DEV_SERVER_META } from '../core/devServer.js';
import { STABLE_IMPORT_MAP_FILE } from '../core/importMap.js';
import { isPathPrefix } from '../core/moduleUrl.js';
import { MODULE_NAME } from '../core/names.js';
import { TrancheError } from '../core/TrancheError.js';
import { storeHandler } from '../release/storeHandler.js';
import { appWorker, appWorkerProblems, type AppWorkerOptions } from './appWorker.js';
import { isUnder, leaveToImportMap, sharedProblems, unsharedPart } from './externals.js';
import { optionProblem } from '../core/optionProblem.js';
import { SHARED_INFO_FILE } from '../release/releaseInfo.js';
import { buildShared, sharedImports, sharedVersions, type SharedBuild } from './sharedDeps.js';

/** Where the app's release store is, for `vite preview` and the first visit's import map. */
export interface AppStoreOptions {
  /**
   * The store directory `vite preview` serves (the `tranche` CLI's `--store`), relative to Vite's `root`.
   * @default 'tranche-store'
   */
  dir?: string;
  /**
   * The URL path the store is served under: the worker's `manifestUrl` is `<url>manifest.json`,
   * and the shell's HTML loads `<url>importmap.js` (the stable versions) on visits no worker serves.
   * @default '/tranche/'
   */
  url?: string;
}

/**
 * Options of {@link trancheApp}. One object, so that later options (shared dependencies, …) join
 * it without breaking a config.
 */
export interface TrancheAppOptions {
  /**
   * The app's modules: bare name -> the module's source entry, relative to Vite's `root`
   * (`{ cart: 'modules/cart/index.ts' }`). `vite build` leaves the name and its subpaths
   * (`cart/…`, resolved next to the entry) to the import map; `vite dev` serves the source.
   */
  modules: Readonly<Record<string, string>>;
  /**
   * The app's service worker, built after the app into `outDir`: its source entry, or
   * `{ entry, publicKey, fileName, precache }`; `false` when the app builds its worker itself.
   * Without a source (no `entry`, no `src/sw.ts`), the worker is one tranche writes, with the
   * public key at `publicKey`.
   * @default { entry: 'src/sw.ts' if it exists, publicKey: 'tranche-keys/public.jwk', fileName: 'sw.js', precache: ['**\/*.{js,css}'] }
   */
  worker?: string | AppWorkerOptions | false;
  /** Where the release store is. @default { dir: 'tranche-store', url: '/tranche/' } */
  store?: AppStoreOptions;
  /**
   * Where the declarations of the modules' types are written (relative to Vite's `root`; inside
   * what tsconfig includes; commit it, so `tsc` passes before any Vite run); `false`: none.
   * @default 'src/tranche-modules.d.ts'
   */
  types?: string | false;
  /**
   * Bare specifiers the shell and every module share one copy of (`['react', 'react-dom/client',
   * 'react/jsx-runtime']`): each is built into `shared/` (CommonJS ones with their named
   * exports), mapped in the shell's import map and precached with it, and left external in the
   * shell's build. Give the same list to each module's `trancheModule({ shared })`. Their versions
   * go to the app's worker and to `tranche-shared.json` in the build, which `tranche shared <outDir>`
   * records in the manifest (docs/manifest.md, "Shared dependencies").
   * @default []
   */
  shared?: readonly string[];
}

const DEFAULT_TYPES = 'src/tranche-modules.d.ts';
const DEFAULT_STORE = { dir: 'tranche-store', url: '/tranche/' };

/**
 * The app's Vite plugin (see the file comment). Throws an `invalid-option` error naming each
 * bad option.
 */
export function trancheApp(options: TrancheAppOptions): Plugin[] {
  const { modules, worker = {}, store = {}, types = DEFAULT_TYPES, shared = [] } = checkOptions(options);
  const names = Object.keys(modules);
  const storeDir = store.dir ?? DEFAULT_STORE.dir;
  const storeUrl = store.url ?? DEFAULT_STORE.url;
  let config: ResolvedConfig;
  let sharedBuild: SharedBuild | null = null;
  const plugins: Plugin[] = [
    {
      name: 'tranche:app',
      // Before Vite's resolver, which would fail on a bare name no package provides.
      enforce: 'pre',
      config(user: UserConfig, { command }) {
        if (command !== 'build') return;
        // Mutated rather than returned: Vite's deep merge cannot merge a function with an array.
        const build = (user.build ??= {});
        leaveToImportMap((build.rolldownOptions ??= {}), names, shared);
      },
      async configResolved(resolved) {
        config = resolved;
        if (types !== false) await writeTypes(path.resolve(resolved.root, types), modules, resolved.root);
      },
      async buildStart() {
        if (config.command === 'build' && !config.build.ssr && shared.length) sharedBuild = await buildShared(shared, config.root);
      },
      generateBundle() {
        if (!sharedBuild) return;
        for (const file of sharedBuild.files) this.emitFile({ type: 'asset', fileName: file.fileName, source: file.source });
        // For `tranche shared <outDir>`: the manifest carries the versions, checked against modules' ranges.
        const versions = `${JSON.stringify(sharedVersions(sharedBuild.dependencies), null, 2)}\n`;
        this.emitFile({ type: 'asset', fileName: SHARED_INFO_FILE, source: versions });
      },
      resolveId(source, importer) {
        if (config.command === 'build') {
          const problem = unsharedPart(shared, source, importer && path.relative(config.root, importer));
          if (problem) this.error(problem);
        }
        if (config.command !== 'serve' || !isUnder(names, source)) return null;
        const name = names.find((n) => source === n || source.startsWith(`${n}/`))!;
        const entry = path.resolve(config.root, modules[name]!);
        return source === name ? entry : path.join(path.dirname(entry), source.slice(name.length + 1));
      },
      transformIndexHtml() {
        // Served by `vite dev`: modules run from source, the page client registers no worker.
        if (config.command === 'serve') return [{ tag: 'meta', attrs: { name: DEV_SERVER_META, content: '' }, injectTo: 'head-prepend' }];
        // Built: the shared dependencies' import map, which the worker merges into each page
        // load's, and the stable versions' import map for visits no worker serves; before any module script.
        const imports = sharedImports(sharedBuild?.dependencies ?? [], config.base);
        return [
          ...(Object.keys(imports).length
            ? [{ tag: 'script', attrs: { type: 'importmap' }, children: JSON.stringify({ imports }), injectTo: 'head-prepend' as const }]
            : []),
          { tag: 'script', attrs: { src: `${storeUrl}${STABLE_IMPORT_MAP_FILE}` }, injectTo: 'head-prepend' },
        ];
      },
      configurePreviewServer(server) {
        const handler = storeHandler(path.resolve(server.config.root, storeDir), { mount: storeUrl });
        server.middlewares.use((req, res, next) => {
          handler.handle(req, res).then((handled) => handled || next(), next);
        });
      },
    },
  ];
  // The worker knows the shared versions of the shell it is built with: it never assigns a module version whose ranges they miss.
  const workerShared = () => sharedVersions(sharedBuild?.dependencies ?? []);
  const context = { shared: workerShared, manifestUrl: `${storeUrl}manifest.json` };
  if (worker !== false) plugins.push(appWorker(typeof worker === 'string' ? { entry: worker } : worker, context));
  return plugins;
}

/** Writes the modules' type declarations to `file`, unless it already holds exactly them. */
async function writeTypes(file: string, modules: Readonly<Record<string, string>>, root: string): Promise<void> {
  const lines = ["// Written by trancheApp() (tranche/vite): each module's types, from its source. Commit it; do not edit."];
  for (const [name, entry] of Object.entries(modules)) {
    let from = path.relative(path.dirname(file), path.resolve(root, entry)).split(path.sep).join('/');
    from = (from.startsWith('.') ? from : `./${from}`).replace(/\.(ts|tsx|mts|js|jsx|mjs)$/, '');
    lines.push(`declare module '${name}' {`, `  const module: typeof import('${from}');`, '  export = module;', '}');
  }
  const text = `${lines.join('\n')}\n`;
  if ((await readFile(file, 'utf8').catch(() => null)) === text) return;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

function checkOptions(options: TrancheAppOptions): TrancheAppOptions {
  const problems: string[] = [];
  const { modules, worker, store, types, shared } = options ?? {};
  if (typeof modules !== 'object' || modules === null || Array.isArray(modules)) {
    problems.push(optionProblem('modules', "an object of module name -> source entry, such as { cart: 'modules/cart/index.ts' }", modules));
  } else {
    for (const [name, entry] of Object.entries(modules)) {
      if (!MODULE_NAME.test(name))
        problems.push(optionProblem(`modules key ${JSON.stringify(name)}`, 'a module name matching [a-z0-9][a-z0-9._-]{0,63}', name));
      if (typeof entry !== 'string' || entry === '')
        problems.push(optionProblem(`modules.${name}`, "a path to the module's source entry", entry));
    }
  }
  if (typeof worker === 'object' && worker !== null) problems.push(...appWorkerProblems(worker));
  else if (worker !== undefined && worker !== false && (typeof worker !== 'string' || worker === ''))
    problems.push(
      optionProblem('worker', 'a path to the service worker source, { entry, publicKey, fileName, precache }, or false', worker),
    );
  if (store !== undefined) {
    if (store.dir !== undefined && (typeof store.dir !== 'string' || store.dir === ''))
      problems.push(optionProblem('store.dir', 'a path to the release store', store.dir));
    if (store.url !== undefined && !isPathPrefix(store.url))
      problems.push(optionProblem('store.url', 'a path such as /tranche/ (starting and ending with /)', store.url));
  }
  problems.push(...sharedProblems(shared));
  if (types !== undefined && types !== false && (typeof types !== 'string' || !types.endsWith('.d.ts')))
    problems.push(optionProblem('types', 'a path ending in .d.ts, or false', types));
  if (problems.length) throw new TrancheError('invalid-option', { where: 'trancheApp()', problems });
  return options;
}
