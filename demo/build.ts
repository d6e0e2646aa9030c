/**
 * Builds the whole demo with vite into one directory:
 *
 * ```
 * <outDir>/modules/<module>/<version>/   every module version, a release directory (buildModules.ts)
 * <outDir>/app/                          the shop's shell (index.html, assets/) and its worker sw.js
 * <outDir>/dashboard/                    the dashboard page, served under /dashboard/
 * <outDir>/build.json                    what the build was made from (see `buildDemo`)
 * ```
 *
 * The worker trusts one public key, put in at build time, so a build belongs to one key pair.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { trancheApp } from '../src/vite/index.js';
import { buildDemoModules, DEMO_MODULES, demoModuleDirs, type BuiltModule } from './buildModules.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const DEMO = path.join(REPO, 'demo');
/** What the demo is built from: a change to any file here makes the next build a real one. */
const SOURCE_DIRS = ['demo', 'src', 'sw'];
const SOURCE_FILES = ['package-lock.json'];

/** A finished demo build. */
export interface DemoBuild {
  outDir: string;
  modules: BuiltModule[];
  /** The shell and its worker. */
  appDir: string;
  dashboardDir: string;
  /** True when an identical earlier build was reused. */
  reused: boolean;
}

/** What build.json records. */
interface BuildInfo {
  hash: string;
  publicKey: unknown;
  built: string;
}

/** SHA-256 over every source file's path and bytes, and the public key. */
async function sourceHash(publicKey: unknown): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(publicKey));
  const files = [...SOURCE_FILES];
  for (const dir of SOURCE_DIRS) {
    for (const entry of await readdir(path.join(REPO, dir), { recursive: true, withFileTypes: true })) {
      const file = path.relative(REPO, path.join(entry.parentPath, entry.name));
      // Dot folders under demo/ are its outputs and data (.build, .store, .keys, .data).
      if (entry.isFile() && !file.split(path.sep).some((s) => s.startsWith('.'))) files.push(file);
    }
  }
  for (const file of files.sort()) hash.update(`${file}\0`).update(await readFile(path.join(REPO, file)));
  return hash.digest('hex');
}

function layout(outDir: string, reused: boolean): DemoBuild {
  return {
    outDir,
    reused,
    modules: demoModuleDirs(path.join(outDir, 'modules')),
    appDir: path.join(outDir, 'app'),
    dashboardDir: path.join(outDir, 'dashboard'),
  };
}

async function readInfo(outDir: string): Promise<BuildInfo | null> {
  return readFile(path.join(outDir, 'build.json'), 'utf8').then(
    (text) => JSON.parse(text) as BuildInfo,
    () => null,
  );
}

async function buildApp(outDir: string, publicKey: unknown): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: path.join(DEMO, 'app'),
    publicDir: false,
    define: { __DEMO_PUBLIC_KEY__: JSON.stringify(publicKey) },
    build: { outDir, emptyOutDir: true },
    plugins: [
      trancheApp({
        // Each module's types (and its source under `vite dev`) from its first version.
        modules: Object.fromEntries(Object.keys(DEMO_MODULES).map((name) => [name, `../modules/${name}/1.0.0.ts`])),
        worker: 'sw.ts',
        types: 'tranche-modules.d.ts',
      }),
    ],
  });
}

async function buildDashboard(outDir: string): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: path.join(DEMO, 'dashboard'),
    base: '/dashboard/',
    publicDir: false,
    build: { outDir, emptyOutDir: true },
  });
}

/**
 * Builds the demo into `outDir` for the worker to trust `publicKey` (a public JWK), unless
 * `outDir` already holds a build of the same sources and key.
 */
export async function buildDemo(outDir: string, publicKey: unknown): Promise<DemoBuild> {
  const hash = await sourceHash(publicKey);
  if ((await readInfo(outDir))?.hash === hash) return layout(outDir, true);
  const built = layout(outDir, false);
  await Promise.all([
    buildDemoModules(path.join(outDir, 'modules')),
    buildApp(built.appDir, publicKey),
    buildDashboard(built.dashboardDir),
  ]);
  // Written last: an interrupted build never looks finished.
  const info: BuildInfo = { hash, publicKey, built: new Date().toISOString() };
  await writeFile(path.join(outDir, 'build.json'), `${JSON.stringify(info, null, 2)}\n`);
  return built;
}

/**
 * The build in `outDir` as it is (`--no-build`). Fails naming the problem when there is none,
 * or when its worker trusts another key than `publicKey` (it would refuse every manifest).
 */
export async function existingDemoBuild(outDir: string, publicKey: unknown): Promise<DemoBuild> {
  const info = await readInfo(outDir);
  if (!info) throw new Error(`no finished demo build in ${outDir}: run without --no-build once`);
  if (JSON.stringify(info.publicKey) !== JSON.stringify(publicKey)) {
    throw new Error(`the demo build in ${outDir} trusts another public key than the one in --keys: run without --no-build to rebuild it`);
  }
  return layout(outDir, true);
}
