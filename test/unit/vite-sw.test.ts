/**
 * trancheApp()'s worker: built after the app, with the shell's files and the SHA-256 of their
 * bytes injected where tranche/sw reads self.__WB_MANIFEST.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/integrity.js';
import { trancheApp, type AppWorkerOptions } from '../../src/vite/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/vite/app/', import.meta.url));
/** A public key, as `tranche keygen` writes one. */
const KEY = { kty: 'OKP', crv: 'Ed25519', x: 'Qk5wcmV0ZW5kLXRoaXMtaXMtYS1wdWJsaWMta2V5LQ' };
let tmp: string;
let builds = 0;

async function buildApp(worker: AppWorkerOptions): Promise<string> {
  const outDir = path.join(tmp, `app-${builds++}`);
  const plugins = trancheApp({ modules: {}, worker, types: false });
  await build({ configFile: false, logLevel: 'silent', root: FIXTURE, build: { outDir }, plugins });
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

describe("trancheApp's worker", () => {
  it("injects the shell's scripts and styles (not its HTML) with the SHA-256 of their bytes", async () => {
    const outDir = await buildApp({ entry: 'probe-sw.ts' });
    const list = await injectedList(path.join(outDir, 'sw.js'));
    const expected = await expectedList(outDir, /^assets\/.*\.(js|css)$/, '.');
    expect(expected.map((e) => e.url)).toEqual([expect.stringMatching(/^assets\/index-[\w-]+\.js$/)]);
    expect(list).toEqual(expected);
  });

  it('lists only what precache matches, with URLs relative to where the worker is', async () => {
    const outDir = await buildApp({ entry: 'probe-sw.ts', fileName: 'worker/sw.js', precache: ['*.html'] });
    const list = await injectedList(path.join(outDir, 'worker', 'sw.js'));
    expect(list).toEqual(await expectedList(outDir, /^index\.html$/, 'worker'));
    expect(list).toEqual([{ url: '../index.html', revision: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('builds a real tranche worker into one file', async () => {
    const outDir = await buildApp({ entry: 'sw.ts' });
    const files = (await readdir(outDir, { recursive: true }))
      .map((f) => f.split(path.sep).join('/'))
      .filter((f) => f.endsWith('.js'))
      .sort();
    expect(files).toEqual([expect.stringMatching(/^assets\/index-/), 'sw.js']);
    const code = await readFile(path.join(outDir, 'sw.js'), 'utf8');
    expect(code).not.toMatch(/\bimport\s*[({"'`]|__WB_MANIFEST/);
  });

  it('writes the worker of an app with no worker source: installTranche with the store and its public key', async () => {
    const keyFile = path.join(tmp, 'public.jwk');
    await writeFile(keyFile, JSON.stringify(KEY));
    const outDir = await buildApp({ publicKey: keyFile });
    const code = await readFile(path.join(outDir, 'sw.js'), 'utf8');
    expect(code).not.toMatch(/\bimport\s*[({"'`]|__WB_MANIFEST/);
    // The key, the store's manifest URL and the shell of a single-page app, as the guides' src/sw.ts gives them.
    expect(code).toContain(KEY.x);
    expect(code).toMatch(/manifestUrl:\s*[`"']\/tranche\/manifest\.json/);
    expect(code).toMatch(/shellUrl:\s*[`"']\/[`"']/);
  });

  it('fails the build of an app with no worker source and no public key, saying how to make one', async () => {
    const build = buildApp({ publicKey: 'no-such-dir/public.jwk' });
    await expect(build).rejects.toThrow(
      /trancheApp\(\) option worker: the app has no src\/sw\.ts and no public key at .*no-such-dir\/public\.jwk/,
    );
    await expect(build).rejects.toThrow(/ for the worker tranche writes \(npx tranche keygen --out tranche-keys writes one\)\n/);
  });

  it('fails the build when the worker never reads self.__WB_MANIFEST', async () => {
    await expect(buildApp({ entry: 'main.ts' })).rejects.toThrow(
      'trancheApp() option worker.entry main.ts: never reads self.__WB_MANIFEST',
    );
  });

  it('fails the build when precache matches none of the app files', async () => {
    await expect(buildApp({ entry: 'probe-sw.ts', precache: ['**/*.png'] })).rejects.toThrow(
      /trancheApp\(\) option worker\.precache: \["\*\*\/\*\.png"\] matched none of the app build's files \(.*index\.html/,
    );
  });

  it('names each bad option', () => {
    expect(() => trancheApp({ modules: { cart: '' }, worker: { entry: '', fileName: '../sw.js', precache: [] } })).toThrow(
      new RegExp(
        [
          String.raw`modules\.cart: expected a path to the module's source entry, got ""`,
          String.raw`worker\.entry: expected a path to the service worker source, got ""`,
          String.raw`worker\.fileName: expected a relative path ending in \.js, ` +
            String.raw`but it contains "\.\." \(escapes its release\), got "\.\./sw\.js"`,
          String.raw`worker\.precache: expected a non-empty array of globs, got \[\]`,
        ].join(String.raw`\n\s+`),
      ),
    );
  });
});
