/** Reading what a release stored, for measures that compare against it. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseRecord } from '../../src/core/manifest.js';
import type { TestStore } from '../support/trancheStore.js';
import type { Served } from './origins.js';

/** The release record of module@version and its size in bytes, as stored and served. */
export async function recordOf(store: TestStore, module: string, version: string): Promise<{ record: ReleaseRecord; bytes: number }> {
  const text = await readFile(join(store.dir, 'records', module, `${version}.json`));
  return { record: JSON.parse(text.toString('utf8')) as ReleaseRecord, bytes: text.byteLength };
}

/** Every file of module@version at the URL tranche serves it, with its bytes from the store. */
export async function versionFiles(store: TestStore, module: string, version: string): Promise<[string, Served][]> {
  const { record } = await recordOf(store, module, version);
  return Promise.all(
    record.files.map(async (f): Promise<[string, Served]> => [
      `/modules/${module}/${version}/${f.path}`,
      { type: f.type, body: await readFile(join(store.dir, 'files', f.sha256)) },
    ]),
  );
}
