/**
 * The two promises every mutating verb makes: concurrent invocations never lose each other's
 * change, and a process killed at the worst moment leaves the previous manifest intact.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, runCliAsync } from '../support/cli.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const MODULES = Array.from({ length: 8 }, (_, i) => `mod${i}`);
let t: TestStore;
let env: Record<string, string>;

beforeEach(async () => {
  t = await createTestStore();
  env = { TRANCHE_STORE: t.dir, TRANCHE_KEY: join(t.root, 'keys/private.jwk') };
});
afterEach(async () => {
  await t.remove();
});

describe('concurrent publishes', () => {
  it('8 rollouts of 8 modules started at once all land, each in its own sequence', async () => {
    for (const name of MODULES) {
      await t.release(name, '1.0.0');
      await t.release(name, '1.1.0');
      await t.store.promote(name, '1.0.0');
    }
    const runs = await Promise.all(
      MODULES.map((name, i) => runCliAsync(['rollout', `${name}@1.1.0`, '--percent', String(5 + i)], { env })),
    );
    for (const run of runs) expect([run.status, run.stderr]).toEqual([0, '']);

    const status = await t.store.status();
    expect(status.sequence).toBe(MODULES.length + 8);
    MODULES.forEach((name, i) => expect(status.modules[name]!.rollouts).toEqual([{ version: '1.1.0', percent: 5 + i }]));
    const sequences = runs.map((run) => Number(/manifest sequence (\d+)/.exec(run.stdout)![1])).sort((a, b) => a - b);
    expect(sequences).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect((await t.store.history()).map((e) => e.sequence)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(await t.store.verify()).toMatchObject({ ok: true });
  });
});

describe('a publish killed between writing and renaming', () => {
  it('leaves the old manifest byte for byte, verify passing, and the next command working', async () => {
    await t.release('cart', '1.0.0');
    await t.release('cart', '1.1.0');
    await t.store.promote('cart', '1.0.0');
    const before = await t.manifestText();

    const killed = runCli(['rollout', 'cart@1.1.0', '--percent', '10'], { env: { ...env, TRANCHE_FAULT: 'before-rename' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(await t.manifestText()).toBe(before);
    expect((await readdir(t.dir)).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    // The killed run's history line (sequence 2) exists but no manifest committed it.
    expect((await readFile(join(t.dir, 'history.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);

    const verify = runCli(['verify'], { env });
    expect([verify.status, verify.stdout]).toEqual([0, expect.stringMatching(/^OK: manifest sequence 1 /)]);
    expect((await t.store.history('cart')).map((e) => e.sequence)).toEqual([1]);

    const next = runCli(['rollout', 'cart@1.1.0', '--percent', '20'], { env });
    expect([next.status, next.stdout]).toEqual([0, 'cart@1.1.0 reaches 20% of clients (manifest sequence 2)\n']);
    expect((await readdir(t.dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const history = await t.store.history('cart');
    expect(history.map((e) => [e.sequence, e.args.percent])).toEqual([
      [1, undefined],
      [2, 20],
    ]);
  });
});
