/**
 * What a shell needs on page loads no service worker serves (a first visit, after the kill
 * switch), written by every publish beside the manifest, so that any static host serving the
 * store's directory serves them with no tranche code:
 *
 * - `modules/<module>/<version>/<path>`: each stable version's files under their own names
 *   (copies of the content-addressed blobs), so relative imports between a version's files
 *   resolve and a static host types them by extension;
 * - `importmap.js` (src/core/importMap.ts): the import map of the stable versions, with the
 *   SHA-256 of every script in its `integrity` field, so the browser refuses a module script
 *   whose bytes differ from its release record's, as the worker does.
 *
 * Both are derived from the manifest and the records (storeLayout.ts lists them as documents);
 * deleting them is harmless: the next publish writes them again.
 */
import { STABLE_IMPORT_MAP_FILE, importMapOf, stableImportMapScript } from '../core/importMap.js';
import type { Manifest, ReleaseRecord } from '../core/manifest.js';
import { readRecord } from './release.js';
import type { StoreBackend } from './StoreBackend.js';
import { MODULES_TREE, blobPath, recordPath } from './storeLayout.js';

/** Whether `file` is loaded as a module script, so its integrity goes into the import map. */
const isScript = (file: string): boolean => /\.m?js$/.test(file);

/** Writes each stable version's files by name (missing ones only): call before the manifest. */
export async function writeStableTrees(backend: StoreBackend, manifest: Pick<Manifest, 'modules'>): Promise<void> {
  for (const record of await stableRecords(backend, manifest)) {
    for (const file of record.files) {
      const target = `${MODULES_TREE}${record.module}/${record.version}/${file.path}`;
      // Immutable like the blob it copies: one already there is already right.
      if ((await backend.size(target)) === file.size) continue;
      const bytes = await backend.read(blobPath(file.sha256));
      if (bytes) await backend.put(target, bytes, { durable: false, type: file.type });
    }
  }
}

/** Writes `importmap.js` for the published `manifest`: call after the manifest. */
export async function writeStableImportMap(backend: StoreBackend, manifest: Pick<Manifest, 'modules' | 'sequence'>): Promise<void> {
  const records = await stableRecords(backend, manifest);
  const entries = new Map(records.map((r) => [r.module, r.entry]));
  const stable = Object.fromEntries(records.map((r) => [r.module, r.version]));
  // Relative to the script itself: importmap.js resolves them against its own URL.
  const map = importMapOf({ modules: stable }, `./${MODULES_TREE}`, (module) => entries.get(module) ?? null);
  const integrity: Record<string, string> = {};
  for (const record of records) {
    for (const file of record.files) {
      if (!isScript(file.path)) continue;
      integrity[`./${MODULES_TREE}${record.module}/${record.version}/${file.path}`] =
        `sha256-${Buffer.from(file.sha256, 'hex').toString('base64')}`;
    }
  }
  await backend.put(STABLE_IMPORT_MAP_FILE, stableImportMapScript({ ...map, integrity }, manifest.sequence));
}

async function stableRecords(backend: StoreBackend, manifest: Pick<Manifest, 'modules'>): Promise<ReleaseRecord[]> {
  const records: ReleaseRecord[] = [];
  for (const [module, { stable }] of Object.entries(manifest.modules)) {
    const record = await readRecord(backend, recordPath(module, stable));
    if (record) records.push(record);
  }
  return records;
}
