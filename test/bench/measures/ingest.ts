/**
 * 6. Release ingest of a generated 5,000-file build into a fresh store (tranche/node `release`),
 * and `verify` of that store once published (every record and every file hashed again).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keygen, openStore } from '../../../src/release/index.js';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { median, repeat } from '../stats.js';

const FILES = 5000;
const GOAL_MS = 2000;

/**
 * Writes a build of `FILES` files into `dir`: 50 directories of 100 files, 200 B to 10 KB each
 * (about 25 MB), every one distinct, as a large app's code-split output and assets are. Returns
 * its size in bytes.
 */
async function generateBuild(dir: string): Promise<number> {
  let bytes = 0;
  for (let d = 0; d < 50; d++) await mkdir(join(dir, `assets/part-${d}`), { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const path = join(dir, i === 0 ? 'index.js' : `assets/part-${i % 50}/chunk-${i}.js`);
    const size = 200 + ((i * 7919) % 9800);
    const body = `export const chunk${i} = ${JSON.stringify('x'.repeat(size))};\n`;
    await writeFile(path, body);
    bytes += body.length;
  }
  return bytes;
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const root = await mkdtemp(join(tmpdir(), 'tranche-bench-ingest-'));
  try {
    const build = join(root, 'build');
    const mb = Math.round((await generateBuild(build)) / 1e6);
    const keys = await keygen(join(root, 'keys'));
    const key = JSON.parse(await readFile(keys.privateKeyPath, 'utf8'));
    let round = 0;
    let last = '';
    const ingest = await repeat(
      async () => {
        last = join(root, `store-${round++}`);
        const store = openStore(last, { key, actor: 'bench' });
        const start = performance.now();
        const result = await store.release(build, { module: 'app', version: '1.0.0' });
        const ms = performance.now() - start;
        if (result.files !== FILES) throw new Error(`ingested ${result.files} files, expected ${FILES}`);
        return ms;
      },
      env.rounds(5, 2),
      1,
    );
    const store = openStore(last, { key, actor: 'bench' });
    await store.promote('app', '1.0.0');
    const verify = await repeat(
      async () => {
        const start = performance.now();
        const report = await store.verify();
        const ms = performance.now() - start;
        if (!report.ok || report.files !== FILES) throw new Error(`verify: ${report.files} files, problems: ${report.problems.join('; ')}`);
        return ms;
      },
      env.rounds(5, 2),
      1,
    );
    return [
      {
        name: `release ingest of a ${FILES.toLocaleString('en-US')}-file build (${mb} MB)`,
        value: median(ingest),
        unit: 'ms',
        goal: GOAL_MS,
        baseline: null,
      },
      {
        name: `verify of that store (${FILES.toLocaleString('en-US')} files)`,
        value: median(verify),
        unit: 'ms',
        goal: null,
        baseline: null,
      },
    ];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The ingest and verify measure. */
export const ingest: Measure = { title: 'release ingest and verify', run };
