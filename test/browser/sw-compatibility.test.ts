/**
 * Compatibility ranges in real Chromium (docs/manifest.md, "Compatibility ranges"): cart@2.2.0
 * requires catalog@^1.1.0. Promoted while catalog@1.0.0 is stable (with --allow-incompatible),
 * no page ever gets { cart: 2.2.0, catalog: 1.0.0 }, neither on a client that runs cart@2.1.0
 * nor on a fresh one, nor while catalog@1.1.0 is still downloading after cart@2.2.0 committed.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserFixture } from '../support/browserFixture.js';
import { checkForUpdate, loaded, openApp, waitForState } from '../support/swPage.js';
import { startSwServer, type SwTestServer } from '../support/swServer.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

interface World {
  t: TestStore;
  server: SwTestServer;
  close(): Promise<void>;
}

const fixture = browserFixture<World>(async () => {
  const t = await createTestStore();
  await t.release('catalog', '1.0.0');
  await t.release('catalog', '1.1.0');
  await t.release('cart', '2.1.0');
  await t.release('cart', '2.2.0', undefined, { catalog: '^1.1.0' });
  await t.store.promote('catalog', '1.0.0');
  await t.store.promote('cart', '2.1.0');
  const server = await startSwServer(t.dir, { publicKeys: [t.publicKey], retryDelayMs: 1000, navigationCheckThrottleMs: 0 });
  return {
    t,
    server,
    close: async () => {
      await server.close();
      await t.remove();
    },
  };
});

/** Reloads `page` and returns what its snapshot pins and what its module code rendered. */
async function reload(page: Page): Promise<{ pinned: Record<string, string>; rendered: Record<string, string> }> {
  await page.reload();
  const { snapshot, rendered } = await loaded(page);
  return { pinned: snapshot!.modules, rendered };
}

describe('compatibility ranges in Chromium', () => {
  it('promote cart@2.2.0 (catalog ^1.1.0) beside catalog@1.0.0: no page gets the pair; both move once catalog@1.1.0 is live', async () => {
    const { t, server } = fixture.world();
    const page = await openApp(fixture.context(), server.origin);
    expect((await loaded(page)).rendered).toEqual({ cart: '2.1.0', catalog: '1.0.0' });

    await t.store.promote('cart', '2.2.0', { allowIncompatible: true });
    await checkForUpdate(page);
    // Nothing left to stage (a worker that ignored the range would have staged and committed cart@2.2.0 by now).
    await waitForState(page, (s) => s.sequence === 3 && s.modules.cart?.staging === null, 'the manifest taken in');
    // The client keeps cart@2.1.0: what it is assigned needs a catalog it is not given.
    expect(await reload(page)).toEqual({ pinned: { cart: '2.1.0', catalog: '1.0.0' }, rendered: { cart: '2.1.0', catalog: '1.0.0' } });

    // A fresh browser has no cart it could run beside catalog@1.0.0: it gets none rather than a broken pair.
    const fresh = await openApp(await page.context().browser()!.newContext(), server.origin);
    const first = await loaded(fresh);
    expect(first.snapshot!.modules).toEqual({ catalog: '1.0.0' });
    await fresh.context().close();

    // catalog@1.1.0 goes out; its own files are held back so that cart@2.2.0 commits first.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const heldFiles = await ownFiles(t, 'catalog', '1.1.0');
    server.hook = async (_req, _res, path) => {
      if (heldFiles.has(path)) await held;
      return false;
    };
    await t.store.promote('catalog', '1.1.0');
    await checkForUpdate(page);
    await waitForState(page, (s) => s.modules.cart?.current === '2.2.0', 'cart@2.2.0 committed');
    // Committed, but not beside catalog@1.0.0: page loads keep cart@2.1.0 until catalog@1.1.0 is in.
    expect(await reload(page)).toEqual({ pinned: { cart: '2.1.0', catalog: '1.0.0' }, rendered: { cart: '2.1.0', catalog: '1.0.0' } });
    release();
    await waitForState(page, (s) => s.modules.catalog?.current === '1.1.0', 'catalog@1.1.0 committed');
    expect(await reload(page)).toEqual({ pinned: { cart: '2.2.0', catalog: '1.1.0' }, rendered: { cart: '2.2.0', catalog: '1.1.0' } });
  }, 120_000);
});

/** The store paths of the files module@version has that no other release in the store shares. */
async function ownFiles(t: TestStore, module: string, version: string): Promise<Set<string>> {
  const { readFile, readdir } = await import('node:fs/promises');
  const record = async (m: string, v: string) =>
    JSON.parse(await readFile(`${t.dir}/records/${m}/${v}.json`, 'utf8')) as { files: { sha256: string }[] };
  const others = new Set<string>();
  for (const m of await readdir(`${t.dir}/records`)) {
    for (const file of await readdir(`${t.dir}/records/${m}`)) {
      const v = file.replace(/\.json$/, '');
      if (m === module && v === version) continue;
      for (const f of (await record(m, v)).files) others.add(f.sha256);
    }
  }
  return new Set((await record(module, version)).files.filter((f) => !others.has(f.sha256)).map((f) => `/store/files/${f.sha256}`));
}
