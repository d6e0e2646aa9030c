/**
 * 3. Update bytes: a module of 100 files at 1.0.0 is staged; then versions changing k of its
 * files are published. Every byte the worker fetches from the store is counted on the server;
 * the figure is those bytes (records and files) ÷ (bytes of the changed files + the release
 * record): anything above 1 is a file fetched that did not change, or fetched twice. The
 * manifest the worker fetched to learn of the version is reported beside it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { chunkSource } from './moduleFetch.js';
import { openOrigin, type Origin } from '../origins.js';
import { recordOf } from '../storeFiles.js';
import { checkForUpdate, waitForState } from '../../support/swPage.js';
import type { SwTestServer } from '../../support/swServer.js';
import { createTestStore, type TestStore } from '../../support/trancheStore.js';

const FILES = 100;
const GOAL = 1.02;

/** Counts the body bytes of every response to a `/store/` path, by path, until `stop`. */
function countStoreBytes(server: SwTestServer): { sent: Map<string, number>; stop(): void } {
  const sent = new Map<string, number>();
  const inner = server.hook;
  server.hook = (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (path.startsWith('/store/')) {
      const add = (chunk: unknown) => {
        if (typeof chunk === 'string' || chunk instanceof Uint8Array) sent.set(path, (sent.get(path) ?? 0) + Buffer.byteLength(chunk));
      };
      const [write, end] = [res.write, res.end];
      res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
        add(chunk);
        return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof res.write;
      res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
        add(chunk);
        return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
      } as typeof res.end;
    }
    return inner ? inner(req, res, path) : false;
  };
  return { sent, stop: () => void (server.hook = inner) };
}

/** The module's files: chunk i has content revision `revisions[i]`, sizes spread from 1 KB to 31 KB. */
function build(revisions: readonly number[]): Record<string, string> {
  const files: Record<string, string> = { 'index.js': "export function render(el) { el.dataset.app = 'x'; }\n" };
  revisions.forEach(
    (revision, i) => (files[`assets/chunk-${i}.js`] = chunkSource(`chunk ${i} revision ${revision}`, 1024 * (1 + ((i * 17) % 31)))),
  );
  return files;
}

interface Step {
  ratio: number;
  manifestBytes: number;
}

/** Publishes `version`, `changed` chunks changed from `from`, and measures what the worker fetched to stage it. */
async function update(
  origin: Origin,
  store: TestStore,
  revisions: number[],
  changed: number,
  from: string,
  version: string,
): Promise<Step> {
  for (let i = 0; i < changed; i++) revisions[(i * 13) % FILES]! += 1;
  await store.release('app', version, build(revisions));
  const [{ record: old }, { record, bytes: recordBytes }] = [await recordOf(store, 'app', from), await recordOf(store, 'app', version)];
  const had = new Set(old.files.map((f) => f.sha256));
  const fresh = new Map(record.files.filter((f) => !had.has(f.sha256)).map((f) => [f.sha256, f.size]));
  if (fresh.size !== changed) throw new Error(`app@${version}: expected ${changed} changed files, found ${fresh.size}`);
  const counter = countStoreBytes(origin.server);
  try {
    await store.store.promote('app', version);
    await checkForUpdate(origin.page);
    await waitForState(origin.page, (state) => state.modules.app?.current === version, `app@${version} to become current`);
  } finally {
    counter.stop();
  }
  const needed = [...fresh.values()].reduce((a, b) => a + b, 0) + recordBytes;
  const fetched = [...counter.sent].filter(([path]) => path !== '/store/manifest.json').reduce((a, [, bytes]) => a + bytes, 0);
  return { ratio: fetched / needed, manifestBytes: counter.sent.get('/store/manifest.json') ?? 0 };
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const store = await createTestStore();
  const revisions = Array.from({ length: FILES }, () => 0);
  await store.release('app', '1.0.0', build(revisions));
  await store.store.promote('app', '1.0.0');
  const origin = await openOrigin('tranche', { browser: env.browser, bundles: env.bundles, store, precache: new Map() });
  try {
    const figures: Figure[] = [];
    let from = '1.0.0';
    for (const [changed, version] of [
      [10, '2.0.0'],
      [1, '3.0.0'],
    ] as const) {
      const step = await update(origin, store, revisions, changed, from, version);
      const name = `update changing ${changed} of ${FILES} files`;
      figures.push(
        { name: `${name}: bytes fetched ÷ (changed files + record)`, value: step.ratio, unit: '×', goal: GOAL, baseline: null },
        { name: `${name}: manifest bytes fetched besides`, value: step.manifestBytes, unit: 'B', goal: null, baseline: null },
      );
      from = version;
    }
    return figures;
  } finally {
    await origin.close();
    await store.remove();
  }
}

/** The update bytes measure (deterministic: one round). */
export const updateBytes: Measure = { title: 'update bytes', run };
