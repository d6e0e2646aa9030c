/**
 * 9. Publishing to a bucket (a real S3-compatible server, s3rver on 127.0.0.1): a store whose
 * new release changed 10 of 5,000 files is published to a bucket that holds the previous
 * publish, beside the baseline of the same store uploaded whole to an empty bucket. The server
 * counts the objects written; the figures are those counts, both times, and their ratio.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../../../src/release/index.js';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { median, pairedRatio } from '../stats.js';
import { startS3Server, type S3TestServer } from '../../support/s3Server.js';
import { createTestStore, manyFiles } from '../../support/trancheStore.js';

const FILES = 5000;
const CHANGED = 10;
/** The changed files, their record, the manifest, and the lock object the publish holds meanwhile. */
const GOAL_OBJECTS = CHANGED + 3;

interface Sample {
  ms: number;
  objects: number;
}

/** Publishes the store at `dir` to `url`, timed, counting the objects the server stored. */
async function publish(s3: S3TestServer, dir: string, url: string): Promise<Sample> {
  const before = s3.written.length;
  const start = performance.now();
  await openStore(dir, { s3: s3.options }).publishTo(url);
  return { ms: performance.now() - start, objects: s3.written.length - before };
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const t = await createTestStore();
  const s3 = await startS3Server();
  try {
    // `previous`: the store as last published (1.0.0); `t.dir`: with 1.1.0 rolling out to 5%.
    await t.release('app', '1.0.0', manyFiles(FILES, '1.0.0', CHANGED - 1));
    await t.store.promote('app', '1.0.0');
    const previous = join(t.root, 'previous');
    await cp(t.dir, previous, { recursive: true });
    await t.release('app', '1.1.0', manyFiles(FILES, '1.1.0', CHANGED - 1));
    await t.store.rollout('app', '1.1.0', 5);
    const incremental: Sample[] = [];
    const full: Sample[] = [];
    for (let round = 0; round < env.rounds(3, 1); round++) {
      env.log(`  round ${round + 1}: a full upload, then the previous publish and the new one`);
      full.push(await publish(s3, t.dir, `s3://${s3.bucket}/full-${round}`));
      await publish(s3, previous, `s3://${s3.bucket}/incremental-${round}`);
      incremental.push(await publish(s3, t.dir, `s3://${s3.bucket}/incremental-${round}`));
    }
    const name = `publish to S3 after a release changing ${CHANGED} of ${FILES.toLocaleString('en-US')} files`;
    const baselineName = 'whole store to an empty bucket';
    return [
      {
        name: `${name}: objects written`,
        value: Math.max(...incremental.map((s) => s.objects)),
        unit: 'objects',
        goal: GOAL_OBJECTS,
        baseline: Math.max(...full.map((s) => s.objects)),
        baselineName,
      },
      {
        name: `${name}: time`,
        value: median(incremental.map((s) => s.ms)),
        unit: 'ms',
        goal: null,
        baseline: median(full.map((s) => s.ms)),
        baselineName,
      },
      {
        name: `${name}: time ÷ whole-store upload`,
        value: pairedRatio(
          incremental.map((s) => s.ms),
          full.map((s) => s.ms),
        ),
        unit: '×',
        goal: null,
        baseline: null,
      },
    ];
  } finally {
    await s3.close();
    await t.remove();
  }
}

/** The publish-to-S3 measure. */
export const s3Publish: Measure = { title: 'publish to S3', run };
