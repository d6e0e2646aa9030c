/**
 * Shared dependencies (trancheApp/trancheModule `shared`): the app build emits each one as a
 * browser ES module under shared/ (React's CommonJS with its named exports, one copy of React
 * between react, react/jsx-runtime and react-dom/client), maps them in the shell's import map and
 * precaches them; the shell and a module import them bare; a module importing a bare specifier
 * nothing in the page resolves fails its build, naming it, and so does a shared specifier that is
 * not installed; an ES package is built as the browser resolves it.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type PluginOption } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShared } from '../../src/vite/sharedDeps.js';
import { trancheApp, trancheModule } from '../../src/vite/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SHARED = ['react', 'react-dom/client', 'react/jsx-runtime'];
const REACT_VERSION = JSON.parse(await readFile(path.join(REPO, 'node_modules/react/package.json'), 'utf8')).version as string;
let app: string;
let html: string;

beforeAll(async () => {
  app = await mkdtemp(path.join(tmpdir(), 'tranche-vite-shared-'));
  await symlink(path.join(REPO, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  await writeFile(path.join(app, 'package.json'), '{ "name": "app", "type": "module" }\n');
  await writeFile(
    path.join(app, 'index.html'),
    '<!doctype html><html><head></head><body><script type="module" src="/main.js"></script></body></html>\n',
  );
  // A CommonJS package requiring a shared dependency, as use-sync-external-store's shim (used by
  // react-redux and zustand) does; lib/ re-exports it to the shell and to a module.
  const legacy = path.join(app, 'lib/node_modules/legacy-react');
  await mkdir(legacy, { recursive: true });
  await writeFile(path.join(legacy, 'package.json'), '{ "name": "legacy-react", "version": "1.0.0", "main": "index.js" }\n');
  await writeFile(path.join(legacy, 'index.js'), "'use strict';\nvar React = require('react');\nexports.hookOf = () => React.useState;\n");
  await writeFile(path.join(app, 'lib/index.js'), "export { hookOf } from 'legacy-react';\n");
  await writeFile(
    path.join(app, 'main.js'),
    "import { useState } from 'react';\nimport { createRoot } from 'react-dom/client';\nimport { hookOf } from './lib/index.js';\n" +
      "console.log(useState, createRoot, hookOf, import('counter'));\n",
  );
  await writeFile(path.join(app, 'sw.js'), 'self.precached = self.__WB_MANIFEST;\nself.shared = self.__TRANCHE_SHARED;\n');
  await mkdir(path.join(app, 'counter'));
  await writeFile(
    path.join(app, 'counter/index.js'),
    "import { useState } from 'react';\nimport { jsx } from 'react/jsx-runtime';\n" +
      "export default function Counter() { const [n] = useState(0); return jsx('p', { children: n }); }\n",
  );
  await build({
    configFile: false,
    logLevel: 'silent',
    root: app,
    plugins: [trancheApp({ modules: { counter: 'counter/index.js' }, shared: SHARED, types: false, worker: { entry: 'sw.js' } })],
  });
  html = await readFile(path.join(app, 'dist/index.html'), 'utf8');
}, 120_000);

afterAll(async () => {
  await rm(app, { recursive: true, force: true });
});

/** The shell's import map, from its HTML. */
function importMap(): Record<string, string> {
  const json = /<script type="importmap">([^<]*)<\/script>/.exec(html)?.[1];
  return (JSON.parse(json!) as { imports: Record<string, string> }).imports;
}

describe('shared dependencies', () => {
  it('maps each shared specifier to its versioned, content-addressed file, before any module script', () => {
    const imports = importMap();
    expect(Object.keys(imports).sort()).toEqual([...SHARED].sort());
    expect(imports.react).toMatch(new RegExp(`^/shared/react@${REACT_VERSION.replace(/\./g, '\\.')}-[\\w-]+\\.js$`));
    expect(imports['react-dom/client']).toMatch(/^\/shared\/react-dom_client@[\d.]+-[\w-]+\.js$/);
    expect(html.indexOf('type="importmap"')).toBeLessThan(html.indexOf('type="module"'));
  });

  it('builds CommonJS React into ES modules with named exports and one copy of React', async () => {
    const imports = importMap();
    const react = await import(pathToFileURL(path.join(app, 'dist', imports.react!)).href);
    expect(typeof react.useState).toBe('function');
    expect(typeof react.default.useState).toBe('function');
    const runtime = await import(pathToFileURL(path.join(app, 'dist', imports['react/jsx-runtime']!)).href);
    expect(runtime.jsx('p', {}).type).toBe('p');
    const shared = path.join(app, 'dist/shared');
    const files = await readdir(shared);
    const sources = new Map(await Promise.all(files.map(async (f) => [f, await readFile(path.join(shared, f), 'utf8')] as const)));
    // React (its hooks' dispatcher) is one chunk, which react and react-dom/client both import: a second copy would break hooks.
    const core = files.filter((f) => /\.useState=function/.test(sources.get(f)!));
    expect(core).toHaveLength(1);
    for (const specifier of ['react', 'react-dom/client'])
      expect(sources.get(path.basename(imports[specifier]!))).toContain(`"./${core[0]}"`);
    expect([...sources.values()].join('')).not.toContain('process.env.NODE_ENV');
  });

  it("builds an ES package as the browser resolves it (Node's `svelte` is its server build), default export and all", async () => {
    // A package in the shape of svelte's: ES modules, one file for Node and one for the browser.
    const pkg = path.join(app, 'dual-app/node_modules/dual');
    await mkdir(pkg, { recursive: true });
    await writeFile(path.join(app, 'dual-app/package.json'), '{ "name": "dual-app" }\n');
    const exports = { '.': { browser: './browser.js', default: './server.js' }, './internal': './internal.js' };
    await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: 'dual', version: '5.1.0', type: 'module', exports }));
    await writeFile(path.join(pkg, 'internal.js'), 'export const state = { mounted: 0 };\n');
    await writeFile(
      path.join(pkg, 'browser.js'),
      "import { state } from './internal.js';\nexport function mount() { return ++state.mounted; }\nexport default 'browser';\n",
    );
    await writeFile(
      path.join(pkg, 'server.js'),
      "export function mount() { throw new Error('not on the server'); }\nexport default 'server';\n",
    );
    const { dependencies, files } = await buildShared(['dual', 'dual/internal'], path.join(app, 'dual-app'));
    const out = path.join(app, 'dual-dist');
    for (const file of files) {
      await mkdir(path.dirname(path.join(out, file.fileName)), { recursive: true });
      await writeFile(path.join(out, file.fileName), file.source);
    }
    expect(dependencies.map((d) => [d.specifier, d.version])).toEqual([
      ['dual', '5.1.0'],
      ['dual/internal', '5.1.0'],
    ]);
    const [dual, internal] = await Promise.all(dependencies.map((d) => import(pathToFileURL(path.join(out, d.fileName)).href)));
    expect(dual.default).toBe('browser');
    // One copy of the package's state between its two entries.
    expect(dual.mount()).toBe(1);
    expect(internal.state.mounted).toBe(1);
  });

  it("leaves them bare in the shell's code and precaches them with the shell", async () => {
    const assets = await readdir(path.join(app, 'dist/assets'));
    const main = await readFile(
      path.join(
        app,
        'dist/assets',
        assets.find((f) => f.endsWith('.js'))!,
      ),
      'utf8',
    );
    expect(main).toMatch(/from\s*["']react["']/);
    expect(main).not.toContain('Invalid hook call');
    const worker = await readFile(path.join(app, 'dist/sw.js'), 'utf8');
    for (const url of Object.values(importMap())) expect(worker).toContain(url.slice(1));
  });

  it("gives a bundled CommonJS package requiring a shared specifier the page's copy, in a module and in the shell", async () => {
    const outDir = path.join(app, 'legacy-dist');
    const plugin = trancheModule({ name: 'legacy', version: '1.0.0', entry: 'lib/index.js', shared: SHARED });
    await build({ configFile: false, logLevel: 'silent', root: app, build: { outDir }, plugins: [plugin] });
    // Run where `require` does not exist, as in a browser, with `react` resolved as the import map would.
    const check = "import { hookOf } from './legacy-dist/index.js'; import { useState } from 'react'; console.log(hookOf() === useState);";
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', check], { cwd: app, encoding: 'utf8' })).toBe('true\n');
    const shell = await readFile(
      path.join(
        app,
        'dist/assets',
        (await readdir(path.join(app, 'dist/assets'))).find((f) => f.endsWith('.js'))!,
      ),
      'utf8',
    );
    expect(shell).not.toMatch(/\brequire\b/);
  });

  it('tells the worker and `tranche shared` (tranche-shared.json) the versions the shell provides, by package', async () => {
    const versions = { react: REACT_VERSION, 'react-dom': REACT_VERSION };
    expect(JSON.parse(await readFile(path.join(app, 'dist/tranche-shared.json'), 'utf8'))).toEqual(versions);
    const worker = await readFile(path.join(app, 'dist/sw.js'), 'utf8');
    const injected = /self\.shared\s*=\s*(\{[^}]*\})/.exec(worker)?.[1];
    expect(new Function(`return ${injected}`)()).toEqual(versions);
  });

  it('leaves them bare in a module build, and fails one that imports a bare specifier nothing resolves, naming it', async () => {
    const outDir = path.join(app, 'counter-dist');
    const buildCounter = (external: string[]) =>
      build({
        configFile: false,
        logLevel: 'silent',
        root: app,
        build: { outDir, rolldownOptions: { external } },
        plugins: [trancheModule({ name: 'counter', version: '1.0.0', entry: 'counter/index.js', shared: SHARED })],
      });
    await buildCounter([]);
    // The release records the ranges it was built against: ^ the installed version, by package.
    expect(JSON.parse(await readFile(path.join(outDir, 'tranche-release.json'), 'utf8')).requiresShared).toEqual({
      react: `^${REACT_VERSION}`,
      'react-dom': `^${REACT_VERSION}`,
    });
    const index = await readFile(path.join(outDir, 'index.js'), 'utf8');
    expect(index).toMatch(/from\s*["']react["']/);
    expect(index).toMatch(/from\s*["']react\/jsx-runtime["']/);
    expect(index).not.toContain('Invalid hook call');
    await writeFile(path.join(app, 'counter/index.js'), "import pad from 'left-pad';\nexport default () => pad('x', 3);\n");
    await expect(buildCounter(['left-pad'])).rejects.toThrow(
      'counter@1.0.0: index.js imports "left-pad", which nothing in the page resolves: neither bundled nor shared',
    );
  });

  it('fails a shell or module build importing a part of a shared package that is not shared, naming it', async () => {
    // react-dom's own entry beside the shared react-dom/client: a second copy of React DOM's internals.
    await writeFile(path.join(app, 'portal.js'), "import { createPortal } from 'react-dom';\nexport default createPortal;\n");
    const problem =
      'portal.js imports "react-dom", a part of shared package react-dom that is not shared: bundled, it would be a second copy ' +
      'of react-dom beside the shared one. Add "react-dom" to shared (trancheApp and trancheModule option)';
    const buildWith = (plugins: PluginOption[], input: string) =>
      build({
        configFile: false,
        logLevel: 'silent',
        root: app,
        build: { outDir: path.join(app, 'portal-dist'), write: false, rolldownOptions: { input: path.join(app, input) } },
        plugins,
      });
    await expect(
      buildWith([trancheModule({ name: 'portal', version: '1.0.0', entry: 'portal.js', shared: SHARED })], 'portal.js'),
    ).rejects.toThrow(`portal@1.0.0: ${problem}`);
    await writeFile(path.join(app, 'portal.html'), '<!doctype html><script type="module" src="/portal.js"></script>\n');
    await expect(buildWith(trancheApp({ modules: {}, shared: SHARED, types: false, worker: false }), 'portal.html')).rejects.toThrow(
      problem,
    );
  });

  it('takes a range per shared package from sharedRanges, and refuses one naming no shared package or no range', async () => {
    const outDir = path.join(app, 'ranged-dist');
    await writeFile(path.join(app, 'ranged.js'), "import { useState } from 'react';\nexport default useState;\n");
    await build({
      configFile: false,
      logLevel: 'silent',
      root: app,
      build: { outDir },
      plugins: [
        trancheModule({ name: 'ranged', version: '1.0.0', entry: 'ranged.js', shared: SHARED, sharedRanges: { react: '>=18.3.0 <20' } }),
      ],
    });
    expect(JSON.parse(await readFile(path.join(outDir, 'tranche-release.json'), 'utf8')).requiresShared).toEqual({
      react: '>=18.3.0 <20',
      'react-dom': `^${REACT_VERSION}`,
    });
    expect(() =>
      trancheModule({ name: 'ranged', version: '1.0.0', shared: ['react'], sharedRanges: { vue: '^3.0.0', react: 'soon' } }),
    ).toThrow(
      'trancheModule() options:\n' +
        '  sharedRanges key "vue": expected the package of a specifier in shared, got "vue"\n' +
        '  sharedRanges.react: expected a semver range such as ^19.0.0, got "soon"',
    );
  });

  it('names a shared specifier that is not installed, in the app build and in a module build', async () => {
    const buildWith = (plugin: PluginOption) =>
      build({ configFile: false, logLevel: 'silent', root: app, build: { outDir: path.join(app, 'missing-dist') }, plugins: [plugin] });
    await expect(buildWith(trancheApp({ modules: {}, shared: ['react', 'no-such-package'], types: false }))).rejects.toThrow(
      `trancheApp() option shared: "no-such-package" is not installed in ${app} (npm install it)`,
    );
    const shared = ['react', 'no-such-package/client'];
    await expect(buildWith(trancheModule({ name: 'ranged', version: '1.0.0', entry: 'ranged.js', shared }))).rejects.toThrow(
      `trancheModule() option shared: "no-such-package/client" is not installed in ${app}, so the version the module works with ` +
        'is unknown: install it, or give sharedRanges["no-such-package"]',
    );
  });
});
