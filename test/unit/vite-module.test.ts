/**
 * trancheModule(): a module's vite build is a directory `tranche release` ingests as is, and
 * the built code runs from any versioned URL prefix with other modules resolved at run time.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type InlineConfig } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsafePathReason } from '../../src/core/paths.js';
import { isTrancheError } from '../../src/core/TrancheError.js';
import { trancheModule, type TrancheModuleOptions } from '../../src/vite/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/vite/module/', import.meta.url));
let tmp: string;

/** Builds the fixture; `extra` is merged over the base config (the way a vite.config would set it). */
function buildFixture(outDir: string, options: TrancheModuleOptions, extra: InlineConfig['build'] = {}): Promise<unknown> {
  return build({
    configFile: false,
    logLevel: 'silent',
    root: FIXTURE,
    build: { outDir, assetsInlineLimit: 0, ...extra },
    plugins: [trancheModule(options)],
  });
}

/** Every file under `dir`, as release-relative paths. */
async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** Where the build for `version` lives: the same layout the worker serves, /modules/<name>/<version>/. */
const releaseDir = (version: string) => path.join(tmp, 'modules', 'fixture', version);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tranche-vite-module-'));
  // What the page's import map would provide: the other module, found here by Node's resolution.
  const other = path.join(tmp, 'node_modules', 'other-module');
  await mkdir(other, { recursive: true });
  await writeFile(
    path.join(other, 'package.json'),
    JSON.stringify({ name: 'other-module', type: 'module', exports: { '.': './index.js', './banner.js': './banner.js' } }),
  );
  await writeFile(path.join(other, 'index.js'), 'export const formatPrice = (p) => `$${p.toFixed(2)}`;\n');
  await writeFile(path.join(other, 'banner.js'), 'export const banner = "[other]";\n');
  // A file left from an earlier build must not end up in the release.
  await mkdir(releaseDir('1.0.0'), { recursive: true });
  await writeFile(path.join(releaseDir('1.0.0'), 'stale.js'), 'old');
  await buildFixture(releaseDir('1.0.0'), { name: 'fixture', version: '1.0.0', entry: 'main.ts', external: ['other-module'] });
  // The second version names its entry the usual vite way instead of through the option.
  await buildFixture(
    releaseDir('1.1.0'),
    { name: 'fixture', version: '1.1.0', external: ['other-module'] },
    { rolldownOptions: { input: 'main.ts' } },
  );
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('trancheModule output', () => {
  it('has index.js and tranche-release.json at the top, everything else hashed under assets/, nothing stale', async () => {
    const files = await filesOf(releaseDir('1.0.0'));
    expect(files).toEqual([
      expect.stringMatching(/^assets\/icon-[\w-]{6,}\.svg$/),
      // The source file "lazy part.ts" has a space, which a release path must not.
      expect.stringMatching(/^assets\/lazy_part-[\w-]{6,}\.js$/),
      'index.js',
      'tranche-release.json',
    ]);
    for (const file of files) expect(unsafePathReason(file), file).toBeNull();
  });

  it('writes tranche-release.json with the module, version and entry', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const info = JSON.parse(await readFile(path.join(releaseDir(version), 'tranche-release.json'), 'utf8'));
      expect(info).toEqual({ module: 'fixture', version, entry: 'index.js' });
    }
  });

  it('keeps other modules as bare imports and refers to its own files relatively', async () => {
    const code = await readFile(path.join(releaseDir('1.0.0'), 'index.js'), 'utf8');
    expect(code).toMatch(/from\s*["'`]other-module["'`]/);
    expect(code).toMatch(/from\s*["'`]other-module\/banner\.js["'`]/);
    expect(code).toMatch(/import\(\s*["'`]\.\/assets\/lazy_part-[\w-]+\.js["'`]\s*\)/);
    expect(code).not.toMatch(/["'`]\/assets\//);
  });

  it('runs from its versioned directory: lazy chunk, asset URL, external module and its own version', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const mod = await import(pathToFileURL(path.join(releaseDir(version), 'index.js')).href);
      expect(mod.version).toBe(version);
      await expect(mod.details(3)).resolves.toBe('[other] details: $3.00');
      const icon = fileURLToPath(mod.icon);
      expect(path.dirname(icon)).toBe(path.join(releaseDir(version), 'assets'));
      await expect(readFile(icon, 'utf8')).resolves.toContain('<svg');
    }
  });

  it('emits an unchanged lazy chunk with the same name and bytes in every version, so the store keeps it once', async () => {
    const [a, b] = await Promise.all([filesOf(releaseDir('1.0.0')), filesOf(releaseDir('1.1.0'))]);
    const lazy = a.filter((f) => f.startsWith('assets/lazy_part-'));
    expect(lazy).toHaveLength(1);
    expect(b).toContain(lazy[0]);
    const bytes = (version: string, file: string) => readFile(path.join(releaseDir(version), file));
    expect((await bytes('1.1.0', lazy[0]!)).equals(await bytes('1.0.0', lazy[0]!))).toBe(true);
    // ...while the entry, which carries its version, does differ.
    expect((await bytes('1.1.0', 'index.js')).equals(await bytes('1.0.0', 'index.js'))).toBe(false);
  });
});

describe('trancheModule options', () => {
  it('rejects a bad name and version, naming each option', () => {
    let error: unknown;
    try {
      trancheModule({ name: 'Shop Cart', version: '1.0', external: ['./relative'] });
    } catch (err) {
      error = err;
    }
    expect(isTrancheError(error, 'invalid-option')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('trancheModule() options:');
    expect(message).toContain('name: expected a module name matching [a-z0-9][a-z0-9._-]{0,63}, got "Shop Cart"');
    expect(message).toContain('version: expected a semver version such as 1.2.3, got "1.0"');
    expect(message).toContain('external[0]: expected a bare specifier such as "cart", got "./relative"');
  });

  it('fails the build, naming the entry option, when no single entry is known', async () => {
    const outDir = path.join(tmp, 'no-entry');
    await expect(
      buildFixture(outDir, { name: 'fixture', version: '1.0.0' }, { rolldownOptions: { input: ['main.ts', 'lazy part.ts'] } }),
    ).rejects.toThrow(/entry: expected the module's one source entry/);
  });
});
