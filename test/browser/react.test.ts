/**
 * tranche/react in Chromium: a React 19 shell (test/browser/fixtures/react-app.ts) renders cart
 * through the real worker. A cart version whose render throws fails at once, after one page
 * load, whether a TrancheBoundary, the app's own boundary (trancheRootOptions' onCaughtError)
 * or nothing (onUncaughtError: the root unmounts) meets the error; TrancheReady vouches for a
 * page load only once cart has committed.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { beforeEach, describe, expect, it } from 'vitest';
import { CART, fallbackTest, moveTo, poll, tab, type FallbackWorld, type OtherApp } from '../support/fallbackApp.js';
import type { Page } from 'playwright-core';

const ENTRY = fileURLToPath(new URL('fixtures/react-app.ts', import.meta.url));
/** cart's version that throws while React renders it. */
const THROWS_IN_RENDER = '6.0.0';

let bundled: Promise<string> | null = null;

/** The React app, bundled with React as a production build; cart comes from the import map. */
async function reactApp(): Promise<OtherApp> {
  bundled ??= build({
    configFile: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    build: {
      write: false,
      minify: true,
      lib: { entry: ENTRY, formats: ['es'], fileName: 'react-app' },
      rollupOptions: { external: ['cart'] },
    },
  })
    .then((result) => (Array.isArray(result) ? result[0]! : result) as { output: { code?: string }[] })
    .then((r) => r.output[0]!.code!);
  return {
    html:
      '<!doctype html><html><head><meta charset="utf-8"><title>react</title></head>' +
      '<body><div id="root"></div><script type="module" src="/react-app.js"></script></body></html>',
    files: { '/react-app.js': ['text/javascript', await bundled] },
  };
}

const t = fallbackTest({}, undefined, reactApp);
let world: FallbackWorld;
let page: Page;

beforeEach(async () => {
  ({ world, page } = t);
  await world.t.release('cart', THROWS_IN_RENDER, {
    'index.js': `export function render(el) { el.dataset.cart = '${THROWS_IN_RENDER}'; }
export function label() { throw new Error('cart@${THROWS_IN_RENDER} cannot render'); }
`,
  });
});

const readyAfter = (p: Page) => p.evaluate(() => document.body.dataset.readyAfter);

describe('tranche/react in Chromium', () => {
  it('TrancheReady calls ready() once cart has committed', async () => {
    await page.goto(`${world.server.origin}/?boundary=tranche`);
    await poll(() => readyAfter(page)).toBe(CART.good);
    expect(await page.evaluate(() => document.body.dataset.booted)).toBe('yes');
  });

  it.each(['tranche', 'own', 'none'])(
    'a render error met by boundary=%s fails cart after one page load, which reloads onto the good version',
    async (boundary) => {
      await moveTo(world, page, THROWS_IN_RENDER);
      const before = (await tab(page)).loads;
      await page.goto(`${world.server.origin}/?boundary=${boundary}`);
      // One broken load, then the reload onto the good version.
      await poll(() => readyAfter(page)).toBe(CART.good);
      expect(await tab(page)).toMatchObject({
        loads: before + 2,
        rolledBack: [
          { module: 'cart', version: THROWS_IN_RENDER, reason: 'fatal-error', to: CART.good, affectsThisPage: true, willReload: true },
        ],
      });
    },
  );
});
