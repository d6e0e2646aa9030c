/**
 * What an adversarial review of the release side tried (issue 13), each as a user meets it:
 * through `tranche/node` or the real `tranche` CLI.
 */
import { mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.store.promote('cart', '1.0.0');
});
afterEach(async () => {
  await t.remove();
});

/** The error `fn` rejects with. */
async function failure(fn: () => Promise<unknown>): Promise<Error> {
  return fn().then(
    () => {
      throw new Error('expected a failure');
    },
    (err: Error) => err,
  );
}

describe('module and version at every entry point of tranche/node', () => {
  const traversal = '../../../../tmp/x/leak';

  it('refuses a traversing version before reading anything, whether or not the file exists', async () => {
    // `secret` leads from records/cart/ to <root>/secret.json, a JSON file the store must never read.
    const secret = '../../../secret';
    const absent = await failure(() => t.store.promote('cart', secret));
    await writeFile(join(t.dir, 'records', 'cart', `${secret}.json`), JSON.stringify({ format: 1, module: 'hunter2' }));
    const present = await failure(() => t.store.promote('cart', secret));
    for (const err of [absent, present]) {
      expect(err).toMatchObject({ name: 'usage', message: `promote() version "${secret}": expected a semver version such as 1.2.3` });
    }
    await expect(t.store.promote('cart', traversal)).rejects.toMatchObject({
      name: 'usage',
      message: `promote() version "${traversal}": expected a semver version such as 1.2.3`,
    });
  });

  it('gives every method the same code for a bad module or version', async () => {
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['rollout() version', () => t.store.rollout('cart', traversal, 5)],
      ['unblock() version', () => t.store.unblock('cart', traversal)],
      ['rollback() to', () => t.store.rollback('cart', { to: traversal })],
      ['copyTo() version', () => t.store.copyTo(join(t.root, 'copy'), 'cart', traversal)],
      ['pause() module', () => t.store.pause('../cart')],
      ['resume() module', () => t.store.resume('../cart')],
      ['history() module', () => t.store.history('../cart')],
      ['rolloutPlan() module', () => t.store.rolloutPlan('../cart', '1.0.0', { steps: [100], stepMs: 1000 })],
      ['--version', () => t.release('cart', traversal)],
    ];
    for (const [what, call] of calls) {
      const err = await failure(call);
      expect(err, what).toMatchObject({ name: 'usage', message: expect.stringMatching(new RegExp(`^${what.replace(/[()]/g, '\\$&')} "`)) });
    }
    expect((await t.store.status()).sequence).toBe(1);
  });
});

describe('sizes a store cannot hold', () => {
  it('refuses a file over 2 GiB in one line naming it, before reading it', async () => {
    const build = join(t.root, 'big');
    await mkdir(build);
    await writeFile(join(build, 'index.js'), 'export {};\n');
    await writeFile(join(build, 'huge.bin'), '');
    await truncate(join(build, 'huge.bin'), 3 * 1024 ** 3); // sparse: no 3 GB on disk
    const run = runCli(['release', build, '--module', 'big', '--version', '1.0.0', '--store', t.dir]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `tranche: ${join(build, 'huge.bin')}: 3221225472 bytes is more than a release file may hold (at most 2147483647 bytes, 2 GiB: each file is read whole)\n`,
    );
  });

  it('refuses a valid semver version too long for file names in one line, before writing any blob', async () => {
    const version = `1.0.0-${'a'.repeat(240)}`;
    const build = join(t.root, 'long');
    await mkdir(build);
    await writeFile(join(build, 'index.js'), 'export const fresh = "never stored";\n');
    const blobs = await readdir(join(t.dir, 'files'));
    const run = runCli(['release', build, '--module', 'cart', '--version', version, '--store', t.dir]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'tranche: --version "1.0.0-aaaaaaaaaaaaaaaaaa"… is 246 characters long: a store takes versions of at most 200 (they become file names)\n',
    );
    expect(await readdir(join(t.dir, 'files'))).toEqual(blobs);
    // The API says the same, and a version of the maximum length is released.
    await expect(t.store.promote('cart', version)).rejects.toMatchObject({
      name: 'usage',
      message: expect.stringContaining('at most 200'),
    });
    const longest = `1.0.0-${'a'.repeat(194)}`;
    expect(runCli(['release', build, '--module', 'cart', '--version', longest, '--store', t.dir]).status).toBe(0);
  });
});
