/**
 * trancheServiceWorker(): the app's worker is built after the app, with the shell's files and
 * the SHA-256 of their bytes injected where the worker reads self.__WB_MANIFEST.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/integrity.js';
import { trancheServiceWorker, type TrancheServiceWorkerOptions } from '../../src/vite/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/vite/app/', import.meta.url));
let tmp: string;
let builds = 0;

async function buildApp(options: TrancheServiceWorkerOptions): Promise<string> {
  const outDir = path.join(tmp, `app-${builds++}`);
  await build({ configFile: false, logLevel: 'silent', root: FIXTURE, build: { outDir }, plugins: [trancheServiceWorker(options)] });
  return outDir;
}

/** Runs the built worker and returns the precache list it read. */
async function injectedList(workerFile: string): Promise<unknown> {
  const self: { precacheList?: unknown } = {};
  vm.runInNewContext(await readFile(workerFile, 'utf8'), { self });
  return self.precacheList;
}

/** What the list should be for the files of `outDir` matching `pattern`, relative to `from`. */
async function expectedList(outDir: string, pattern: RegExp, from: string): Promise<Array<{ url: string; revision: string }>> {
  const files = (await readdir(outDir, { recursive: true }))
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => pattern.test(f))
    .sort();
  return Promise.all(
    files.map(async (f) => ({ url: path.posix.relative(from, f), revision: await sha256Hex(await readFile(path.join(outDir, f))) })),
  );
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tranche-vite-sw-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('trancheServiceWorker', () => {
  it('injects the built HTML and page bundle with the SHA-256 of their bytes', async () => {
    const outDir = await buildApp({ entry: 'probe-sw.ts' });
    const list = await injectedList(path.join(outDir, 'sw.js'));
    const expected = await expectedList(outDir, /^(index\.html|assets\/.*\.js)$/, '.');
    expect(expected.map((e) => e.url)).toEqual([expect.stringMatching(/^assets\/index-[\w-]+\.js$/), 'index.html']);
    expect(list).toEqual(expected);
  });

  it('lists only what precache matches, with URLs relative to where the worker is', async () => {
    const outDir = await buildApp({ entry: 'probe-sw.ts', fileName: 'worker/sw.js', precache: ['*.html'] });
    const list = await injectedList(path.join(outDir, 'worker', 'sw.js'));
    expect(list).toEqual(await expectedList(outDir, /^index\.html$/, 'worker'));
    expect(list).toEqual([{ url: '../index.html', revision: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('builds a real workbox worker into one file', async () => {
    const outDir = await buildApp({ entry: 'sw.ts' });
    const files = (await readdir(outDir, { recursive: true }))
      .map((f) => f.split(path.sep).join('/'))
      .filter((f) => f.endsWith('.js'))
      .sort();
    expect(files).toEqual([expect.stringMatching(/^assets\/index-/), 'sw.js']);
    const code = await readFile(path.join(outDir, 'sw.js'), 'utf8');
    expect(code).not.toMatch(/\bimport\s*[({"'`]|__WB_MANIFEST/);
  });

  it('fails the build when the worker never reads self.__WB_MANIFEST', async () => {
    await expect(buildApp({ entry: 'main.ts' })).rejects.toThrow('trancheServiceWorker entry main.ts: never reads self.__WB_MANIFEST');
  });

  it('fails the build when precache matches none of the app files', async () => {
    await expect(buildApp({ entry: 'probe-sw.ts', precache: ['**/*.png'] })).rejects.toThrow(
      /trancheServiceWorker option precache: \["\*\*\/\*\.png"\] matched none of the app build's files \(.*index\.html/,
    );
  });

  it('names each bad option', () => {
    expect(() => trancheServiceWorker({ entry: '', fileName: '../sw.js', precache: [] })).toThrow(
      /entry: expected a path to the service worker source, got ""\n\s+fileName: expected a relative path ending in \.js, but it contains "\.\." \(escapes its release\), got "\.\.\/sw\.js"\n\s+precache: expected a non-empty array of globs, got \[\]/,
    );
  });
});
