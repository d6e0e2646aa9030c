/**
 * `trancheModule()`: makes a module's `vite build` emit a directory that `tranche release`
 * ingests as is. The release is served under `/modules/<name>/<version>/`, a prefix the build
 * cannot know and that differs per version, so every URL inside the output is relative: the
 * same bytes run under any prefix, and a chunk that did not change between versions hashes to
 * the same content address and is stored and downloaded once.
 */
import path from 'node:path';
import type { Plugin, UserConfig } from 'vite';
import semverValid from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';
import { MODULE_NAME } from '../core/manifest.js';
import { packageOf } from '../core/names.js';
import { TrancheError } from '../core/TrancheError.js';
import { externalMatcher, isBareSpecifier, leaveToImportMap, sharedProblems, unsharedPart } from './externals.js';
import { optionProblem } from '../core/optionProblem.js';
import { RELEASE_INFO_FILE, type ReleaseInfo } from '../release/releaseInfo.js';
import { installedShared } from './sharedDeps.js';

/** The entry file every release built by `trancheModule` has, at the top of its directory. */
export const ENTRY_FILE = 'index.js';

/** Options of {@link trancheModule}. */
export interface TrancheModuleOptions {
  /** The module's name: its bare import specifier and its URL segment. */
  name: string;
  /** The semver version this build is released as. */
  version: string;
  /**
   * The module's source entry, relative to Vite's `root`.
   * @default the build's own single input (`build.lib.entry` or `build.rolldownOptions.input`)
   */
  entry?: string;
  /**
   * Bare specifiers the page's import map resolves at run time: other tranche modules (a name
   * also covers its subpaths, `cart` covers `cart/x.js`) and anything else the app provides.
   * The build's own `rolldownOptions.external` still applies as well.
   * @default []
   */
  external?: readonly string[];
  /**
   * The app's shared dependencies, the list given to `trancheApp({ shared })`: left external
   * (exactly these specifiers), the shell's import map provides them.
   * @default []
   */
  shared?: readonly string[];
  /**
   * The range of each shared package this version works with (package name -> semver range,
   * `{ react: '>=18.3.0 <20' }`), recorded in its release and checked against the shell's
   * versions at `promote`/`rollout` and by each worker (docs/manifest.md, "Shared dependencies").
   * @default `^` the version installed where the module is built, for each package of `shared`
   */
  sharedRanges?: Readonly<Record<string, string>>;
}

/**
 * A Vite plugin that builds one version of a tranche module: ES module output with the entry
 * at `index.js`, other chunks and assets content-hashed under `assets/`, relative imports and
 * asset URLs (`base: './'`), `external` specifiers left bare for the import map, and
 * `tranche-release.json` (`{module, version, entry, requiresShared}`) in the output directory. The build fails,
 * naming the file, when the output imports a bare specifier that is neither a module
 * (`external`) nor shared: nothing in the page would resolve it.
 * The build's code can read `import.meta.env.TRANCHE_MODULE` and `import.meta.env.TRANCHE_VERSION`.
 * Throws an `invalid-option` error naming each bad option.
 */
export function trancheModule(options: TrancheModuleOptions): Plugin {
  const { name, version, entry, external = [], shared = [], sharedRanges = {} } = checkOptions(options);
  let root = process.cwd();
  return {
    name: 'tranche:module',
    apply: 'build',
    // Before Vite's resolver, which would resolve a part of a shared package into the bundle.
    enforce: 'pre',
    configResolved(config) {
      root = config.root;
    },
    resolveId(source, importer) {
      const problem = unsharedPart(shared, source, importer && path.relative(root, importer));
      if (problem) this.error(`${name}@${version}: ${problem}`);
      return null;
    },
    // Mutating rather than returning a partial config: Vite's deep merge would add our input
    // to the user's instead of replacing it, giving the build a second entry.
    config(user: UserConfig) {
      const build = (user.build ??= {});
      const rolldown = build.rolldownOptions ?? build.rollupOptions ?? {};
      const input = entry ?? singleInput(build);
      delete build.rollupOptions;
      // Library mode would inline every asset and name files itself; an app build with the
      // entry's exports preserved gives the same module with normal hashed assets.
      build.lib = false;
      // A stale chunk left from an earlier build would be ingested into the release.
      build.emptyOutDir ??= true;
      build.rolldownOptions = {
        ...rolldown,
        input: { index: input },
        preserveEntrySignatures: 'strict',
        output: {
          ...(Array.isArray(rolldown.output) ? {} : rolldown.output),
          format: 'es',
          entryFileNames: ENTRY_FILE,
          chunkFileNames: 'assets/[name]-[hash].js',
          assetFileNames: 'assets/[name]-[hash][extname]',
          sanitizeFileName: safeFileName,
        },
      };
      leaveToImportMap(build.rolldownOptions, external, shared);
      user.base = './';
      // The app's public/ (favicon, icons) belongs to the shell: never ingested into a release.
      user.publicDir = false;
      user.define = {
        ...user.define,
        'import.meta.env.TRANCHE_MODULE': JSON.stringify(name),
        'import.meta.env.TRANCHE_VERSION': JSON.stringify(version),
      };
    },
    generateBundle(_, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const unresolved = [...chunk.imports, ...chunk.dynamicImports].filter(
          (id) =>
            !(id in bundle) && isBareSpecifier(id) && !shared.includes(id) && !externalMatcher(external, undefined)(id, undefined, false),
        );
        if (unresolved.length)
          this.error(
            `${name}@${version}: ${chunk.fileName} imports ${unresolved.map((id) => `"${id}"`).join(', ')}, ` +
              'which nothing in the page resolves: neither bundled nor shared. ' +
              'Share it (trancheApp and trancheModule option shared), or bundle it (remove it from external)',
          );
      }
      const requiresShared = sharedRequirements(shared, sharedRanges, root);
      const info: ReleaseInfo = {
        module: name,
        version,
        entry: ENTRY_FILE,
        ...(Object.keys(requiresShared).length ? { requiresShared } : {}),
      };
      this.emitFile({ type: 'asset', fileName: RELEASE_INFO_FILE, source: `${JSON.stringify(info, null, 2)}\n` });
    },
  };
}

/**
 * The ranges of the shared packages a build works with: `sharedRanges`' own, else `^` the version
 * installed for the module at `root` (what it was built and tested against).
 */
function sharedRequirements(shared: readonly string[], ranges: Readonly<Record<string, string>>, root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const specifier of shared) {
    const pkg = packageOf(specifier);
    if (pkg in out) continue;
    if (ranges[pkg] !== undefined) {
      out[pkg] = ranges[pkg];
      continue;
    }
    const remedy = `, so the version the module works with is unknown: install it, or give sharedRanges[${JSON.stringify(pkg)}]`;
    out[pkg] = `^${installedShared(specifier, root, 'trancheModule()', remedy).version}`;
  }
  return out;
}

function checkOptions(options: TrancheModuleOptions): TrancheModuleOptions {
  const problems: string[] = [];
  const { name, version, entry, external, shared, sharedRanges } = options;
  if (typeof name !== 'string' || !MODULE_NAME.test(name)) {
    problems.push(optionProblem('name', 'a module name matching [a-z0-9][a-z0-9._-]{0,63}', name));
  }
  if (typeof version !== 'string' || semverValid(version) !== version) {
    problems.push(optionProblem('version', 'a semver version such as 1.2.3', version));
  }
  if (entry !== undefined && (typeof entry !== 'string' || entry === '')) {
    problems.push(optionProblem('entry', 'a path to the source entry', entry));
  }
  if (external !== undefined && !Array.isArray(external)) {
    problems.push(optionProblem('external', 'an array of bare specifiers', external));
  }
  (Array.isArray(external) ? external : []).forEach((specifier: unknown, i) => {
    if (typeof specifier !== 'string' || !isBareSpecifier(specifier)) {
      problems.push(optionProblem(`external[${i}]`, 'a bare specifier such as "cart"', specifier));
    }
  });
  problems.push(...sharedProblems(shared));
  if (sharedRanges !== undefined && (typeof sharedRanges !== 'object' || sharedRanges === null || Array.isArray(sharedRanges))) {
    problems.push(optionProblem('sharedRanges', "an object of package name -> semver range, such as { react: '^19.0.0' }", sharedRanges));
  } else {
    const packages = new Set((Array.isArray(shared) ? shared : []).map((s: unknown) => (typeof s === 'string' ? packageOf(s) : '')));
    for (const [pkg, range] of Object.entries(sharedRanges ?? {})) {
      if (!packages.has(pkg))
        problems.push(optionProblem(`sharedRanges key ${JSON.stringify(pkg)}`, 'the package of a specifier in shared', pkg));
      else if (typeof range !== 'string' || validRange(range) === null)
        problems.push(optionProblem(`sharedRanges.${pkg}`, 'a semver range such as ^19.0.0', range));
    }
  }
  if (problems.length) throw new TrancheError('invalid-option', { where: 'trancheModule()', problems });
  return options;
}

/** The one entry the user's build config names, for when the `entry` option is not given. */
function singleInput(build: NonNullable<UserConfig['build']>): string {
  const lib = build.lib === false ? undefined : build.lib?.entry;
  const input = lib ?? (build.rolldownOptions ?? build.rollupOptions)?.input;
  const inputs = typeof input === 'string' ? [input] : Object.values(input ?? {});
  if (inputs.length !== 1 || typeof inputs[0] !== 'string') {
    const problem = optionProblem('entry', "the module's one source entry (the build config names none, or several)", input);
    throw new TrancheError('invalid-option', { where: 'trancheModule()', problems: [problem] });
  }
  return inputs[0];
}

/**
 * File names the release store accepts (see core/paths.ts): chunk names come from source file
 * names, which may hold spaces or other characters a release path must not, or start with a dot.
 */
function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._~@+=,/-]/g, '_').replace(/(^|\/)\./g, '$1_');
}
