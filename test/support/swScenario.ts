/**
 * One browser test's world: a fresh store with cart@1.0.0 stable, served by its own test
 * server; removed by `close`. Each test gets its own, so tests never see each other's changes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseRecord } from '../../src/core/manifest.js';
import { startSwServer, type SwTestServer } from './swServer.js';
import { createTestStore, moduleFiles, type TestStore } from './trancheStore.js';

/** A store and its server. */
export interface Scenario {
  t: TestStore;
  server: SwTestServer;
  /** The release record of module@version, as stored. */
  record(module: string, version: string): Promise<ReleaseRecord>;
  close(): Promise<void>;
}

/**
 * cart@1.0.0 as stable plus cart@2.0.0 released (not live). Each version also has a worker
 * script that reports the version of `index.js` it loads through the unversioned URL, and
 * three larger parts, so a download can fail in the middle of a version.
 */
export async function scenario(retryDelayMs = 1000): Promise<Scenario> {
  const t = await createTestStore();
  for (const version of ['1.0.0', '2.0.0']) {
    const files = moduleFiles('cart', version);
    files['worker.js'] = "import { version } from '/modules/cart/index.js';\npostMessage(version);\n";
    for (let i = 0; i < 3; i++)
      files[`assets/part-${i}.js`] = `export const part = ${JSON.stringify(`${version}/${i}/${'x'.repeat(20_000)}`)};\n`;
    await t.release('cart', version, files);
  }
  await t.store.promote('cart', '1.0.0');
  const server = await startSwServer(t.dir, { publicKeys: [t.publicKey], retryDelayMs, navigationCheckThrottleMs: 0 });
  return {
    t,
    server,
    record: async (module, version) => JSON.parse(await readFile(join(t.dir, 'records', module, `${version}.json`), 'utf8')),
    close: async () => {
      await server.close();
      await t.remove();
    },
  };
}

/** The store paths (`/store/files/<sha>`) of the files `version` has that `other` lacks. */
export async function newFilePaths(s: Scenario, version: string, other: string): Promise<string[]> {
  const old = new Set((await s.record('cart', other)).files.map((f) => f.sha256));
  return [...new Set((await s.record('cart', version)).files.map((f) => f.sha256).filter((sha) => !old.has(sha)))].map(
    (sha) => `/store/files/${sha}`,
  );
}
