/**
 * The demo's module builds: every module@version becomes a release directory with its entry,
 * its tranche-release.json and, for the cart, the lazy drawer chunk shared by every version.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildDemoModules, DEMO_MODULES, type BuiltModule } from '../../demo/buildModules.js';

let tmp: string;
let built: BuiltModule[];

const filesIn = async (dir: string) => (await readdir(dir, { recursive: true })).map((f) => f.split(path.sep).join('/')).sort();

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tranche-demo-modules-'));
  built = await buildDemoModules(tmp);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

it('builds every module version into <outDir>/<module>/<version> with index.js and tranche-release.json', async () => {
  const expected = Object.entries(DEMO_MODULES).flatMap(([module, versions]) => versions.map((version) => `${module}@${version}`));
  expect(built.map((b) => `${b.module}@${b.version}`)).toEqual(expected);
  expect(expected).toHaveLength(8);
  for (const b of built) {
    expect(b.dir).toBe(path.join(tmp, b.module, b.version));
    expect(await filesIn(b.dir)).toEqual(expect.arrayContaining([b.entry, 'tranche-release.json']));
    const info = JSON.parse(await readFile(path.join(b.dir, 'tranche-release.json'), 'utf8'));
    expect(info).toEqual({ module: b.module, version: b.version, entry: 'index.js' });
  }
});

it('gives every cart version a lazy drawer chunk, byte-identical across versions', async () => {
  const carts = built.filter((b) => b.module === 'cart');
  const chunks = await Promise.all(carts.map(async (b) => (await filesIn(b.dir)).filter((f) => f.startsWith('assets/'))));
  for (const [i, b] of carts.entries()) {
    expect(chunks[i], `cart@${b.version}`).toEqual([expect.stringMatching(/^assets\/drawer-[\w-]+\.js$/)]);
    const entry = await readFile(path.join(b.dir, 'index.js'), 'utf8');
    // Loaded relatively, by dynamic import, from the entry.
    expect(entry).toMatch(/import\(\s*["'`]\.\/assets\/drawer-[\w-]+\.js["'`]\s*\)/);
    expect(entry).toContain(chunks[i]![0]);
  }
  const bytes = await Promise.all(carts.map((b, i) => readFile(path.join(b.dir, chunks[i]![0]!))));
  for (const other of bytes.slice(1)) expect(other.equals(bytes[0]!)).toBe(true);
});

it('keeps header and catalog to a single entry file', async () => {
  for (const b of built.filter((m) => m.module !== 'cart')) {
    expect(await filesIn(b.dir), `${b.module}@${b.version}`).toEqual(['index.js', 'tranche-release.json']);
  }
});
