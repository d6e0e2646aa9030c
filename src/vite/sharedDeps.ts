/**
 * The app's shared dependencies (`trancheApp({ shared })`): packages the shell and every module
 * import by their bare specifiers and must get one copy of (two Reacts break hooks). They are
 * built once, with the shell, into browser ES modules under `shared/` in the app's output, named
 * by specifier, version and content hash, and the shell's HTML carries their import map, which
 * the worker merges into each page load's map (src/core/importMap.ts) and which a first visit
 * reads beside the store's `importmap.js`. The worker precaches them with the shell's scripts.
 *
 * Each specifier is resolved as the app's browser build resolves it (Svelte's and Vue's
 * packages give Node other files). An ES module is its own entry; a CommonJS one (React) gets
 * an ES wrapper whose named exports are the keys of its `module.exports`, read by requiring it
 * in Node: `export * from` a CommonJS module gives only `default`. Every entry is built in one
 * build, so code they share (react-dom requires react, `svelte` and `svelte/internal/client`
 * share Svelte's runtime) is one chunk: one copy.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build, parseAst, type Plugin, type Rolldown } from 'vite';
import { packageOf } from '../core/names.js';
import { TrancheError } from '../core/TrancheError.js';

/** Where shared dependencies go in the app's output, and their URL path under the app's base. */
export const SHARED_DIR = 'shared/';

/** One shared dependency, built. */
export interface SharedDependency {
  /** The bare specifier (`react`, `react-dom/client`). */
  specifier: string;
  /** Its package's version. */
  version: string;
  /** Its entry file in the app's output (`shared/react@19.2.0-<hash>.js`). */
  fileName: string;
}

/** What the build of the shared dependencies gives the app build. */
export interface SharedBuild {
  dependencies: SharedDependency[];
  /** Every file to add to the app's output (entries and the chunks they share). */
  files: { fileName: string; source: string | Uint8Array }[];
}

const VIRTUAL = '\0tranche-shared:';
/** A CommonJS file's ES wrapper: the prefix, then the file's path. */
const COMMONJS = '\0tranche-shared-cjs:';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Builds `specifiers` for the browser (production mode) from the app at `root`. */
export async function buildShared(specifiers: readonly string[], root: string): Promise<SharedBuild> {
  const require = createRequire(path.join(root, 'package.json'));
  const entries = specifiers.map((specifier) => {
    const { version } = installedShared(specifier, root, 'trancheApp()', ' (npm install it)');
    return { specifier, version, name: `${specifier.replace(/\//g, '_')}@${version}` };
  });
  const specifierOf = new Map(entries.map((e) => [`${VIRTUAL}${e.name}`, e.specifier]));
  const importer = path.join(root, 'index.html');
  const virtual: Plugin = {
    name: 'tranche:shared-entries',
    async resolveId(id) {
      const specifier = specifierOf.get(id);
      if (specifier === undefined) return null;
      // Resolved as the browser build resolves it (`browser` and `production` conditions), not
      // as Node does: Node's `svelte` is its server build, Node's `vue` its CommonJS build.
      const resolved = await this.resolve(specifier, importer, { skipSelf: true });
      if (!resolved || resolved.external) this.error(`shared: "${specifier}" does not resolve to a file for the browser from ${root}`);
      // An ES module is its own entry, whose exports (default included) the build keeps as they are.
      return isEsModule(resolved.id) ? resolved.id : `${COMMONJS}${resolved.id}`;
    },
    load: (id) => (id.startsWith(COMMONJS) ? commonJsWrapper(require, id.slice(COMMONJS.length)) : null),
  };
  const result = await build({
    configFile: false,
    logLevel: 'warn',
    root,
    mode: 'production',
    publicDir: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [virtual],
    build: {
      write: false,
      minify: true,
      rolldownOptions: {
        input: Object.fromEntries(entries.map((e) => [e.name, `${VIRTUAL}${e.name}`])),
        preserveEntrySignatures: 'strict',
        output: { format: 'es', entryFileNames: `${SHARED_DIR}[name]-[hash].js`, chunkFileNames: `${SHARED_DIR}[name]-[hash].js` },
      },
    },
  });
  const output = (Array.isArray(result) ? result[0]! : result) as Rolldown.RolldownOutput;
  const files = output.output.map((file) => ({ fileName: file.fileName, source: file.type === 'chunk' ? file.code : file.source }));
  const dependencies = entries.map(({ specifier, version, name }) => {
    const chunk = output.output.find((f) => f.type === 'chunk' && f.isEntry && f.name === name)!;
    return { specifier, version, fileName: chunk.fileName };
  });
  return { dependencies, files };
}

/** Whether `file` is an ES module by its syntax (Vue's `*.esm-bundler.js` are, in a package Node takes for CommonJS). */
function isEsModule(file: string): boolean {
  return parseAst(readFileSync(file, 'utf8'), { sourceType: 'unambiguous' }, file).sourceType === 'module';
}

/**
 * The ES module re-exporting the CommonJS `file`: `default` and each key of its exports, read
 * by requiring it in Node (`export * from` a CommonJS module gives only `default`).
 */
function commonJsWrapper(require: NodeJS.Require, file: string): string {
  let exported: unknown;
  try {
    exported = require(file);
  } catch (err) {
    throw new TrancheError('invalid-option', {
      where: 'trancheApp()',
      problems: [`shared: ${file} is CommonJS, and requiring it in Node to read its exports failed: ${(err as Error).message}`],
    });
  }
  const from = JSON.stringify(file);
  const names = Object.keys(exported as object).filter((k) => k !== 'default' && IDENTIFIER.test(k));
  return `import m from ${from};\nexport const { ${names.join(', ')} } = m;\nexport default m;\n`;
}

/**
 * The file `specifier` resolves to from the app or module at `root`, and the version of its
 * package there. When it is not installed, the one-line error names `where` (the plugin) and
 * ends with `remedy`.
 */
export function installedShared(specifier: string, root: string, where: string, remedy: string): { resolved: string; version: string } {
  let resolved: string;
  try {
    resolved = createRequire(path.join(root, 'package.json')).resolve(specifier);
  } catch {
    throw new TrancheError('invalid-option', { where, problems: [`shared: "${specifier}" is not installed in ${root}${remedy}`] });
  }
  return { resolved, version: packageVersion(resolved, specifier, where) };
}

/** The version in the package.json of the package `resolved` (what `specifier` resolved to) belongs to. */
function packageVersion(resolved: string, specifier: string, where: string): string {
  const name = packageOf(specifier);
  for (let dir = path.dirname(resolved); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
  }
  throw new TrancheError('invalid-option', {
    where,
    problems: [`shared: no package.json of ${name} above ${resolved}`],
  });
}

/**
 * The versions the shell provides, by package (`react/jsx-runtime` is `react`'s): what the app
 * build writes to tranche-shared.json and gives its worker.
 */
export function sharedVersions(dependencies: readonly SharedDependency[]): Record<string, string> {
  return Object.fromEntries(dependencies.map((d) => [packageOf(d.specifier), d.version]));
}

/** The import map entries of `dependencies`, under the app's `base` URL. */
export function sharedImports(dependencies: readonly SharedDependency[], base: string): Record<string, string> {
  return Object.fromEntries(dependencies.map((d) => [d.specifier, `${base}${d.fileName}`]));
}
