/**
 * Builds every version of the demo shop's modules with `trancheModule`, each into
 * `<outDir>/<module>/<version>/`, a directory `tranche release` (or the release API) ingests as
 * is. The module sources and the shell/module contract are in demo/modules/ (contract.ts).
 *
 * As a script: `tsx demo/buildModules.ts <outDir>` prints one `<module>@<version> <dir>` line per build.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'vite';
import { ENTRY_FILE, trancheModule } from '../src/vite/index.js';

const MODULES_DIR = fileURLToPath(new URL('./modules/', import.meta.url));

/**
 * Every module version the demo ships, oldest first; each is built from
 * `demo/modules/<module>/<version>.ts`. `1.0.0` is the stable start of each module.
 */
export const DEMO_MODULES = {
  header: ['1.0.0', '2.0.0', '3.0.0'],
  catalog: ['1.0.0', '1.1.0'],
  cart: ['1.0.0', '2.0.0', '2.1.0'],
} as const satisfies Record<string, readonly string[]>;

/** One built module version. */
export interface BuiltModule {
  module: string;
  version: string;
  /** The release directory: `<outDir>/<module>/<version>`. */
  dir: string;
  /** The entry file inside `dir`. */
  entry: string;
}

/** Builds one module version into `dir`. */
async function buildOne(module: string, version: string, dir: string): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: MODULES_DIR,
    publicDir: false,
    build: { outDir: dir },
    plugins: [trancheModule({ name: module, version, entry: `${module}/${version}.ts` })],
  });
}

/** Where {@link buildDemoModules} puts each module version under `outDir`. */
export function demoModuleDirs(outDir: string): BuiltModule[] {
  return Object.entries(DEMO_MODULES).flatMap(([module, versions]) =>
    versions.map((version) => ({ module, version, dir: path.join(outDir, module, version), entry: ENTRY_FILE })),
  );
}

/** Builds every module version of {@link DEMO_MODULES} under `outDir`, in one process. */
export async function buildDemoModules(outDir: string): Promise<BuiltModule[]> {
  const builds = demoModuleDirs(outDir);
  // Rolldown bundles on its own threads, so running the builds side by side overlaps their
  // JavaScript parts (config, plugins) with the native ones.
  await Promise.all(builds.map((b) => buildOne(b.module, b.version, b.dir)));
  return builds;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: tsx demo/buildModules.ts <outDir>');
    process.exit(2);
  }
  for (const b of await buildDemoModules(path.resolve(outDir))) console.log(`${b.module}@${b.version} ${b.dir}`);
}
