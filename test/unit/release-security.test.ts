/**
 * What an adversarial review of the release side tried (issue 13), each as a user meets it:
 * through `tranche/node` or the real `tranche` CLI.
 */
import { copyFile, mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../support/cli.js';
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

describe('the highest sequence a store published', () => {
  it('is never published again after an older manifest.json is copied over the current one, and verify says so', async () => {
    const cli = (...args: string[]) => runCli([...args, '--store', t.dir, '--key', join(t.root, 'keys', 'private.jwk')]);
    await t.release('cart', '1.1.0');
    expect(cli('rollout', 'cart@1.1.0', '--percent', '10').status).toBe(0); // sequence 2
    await copyFile(join(t.dir, 'manifest.json'), join(t.root, 'backup.json'));
    expect(cli('rollout', 'cart@1.1.0', '--percent', '50').status).toBe(0); // 3
    expect(cli('pause', 'cart').status).toBe(0); // 4
    await copyFile(join(t.root, 'backup.json'), join(t.dir, 'manifest.json'));

    const verify = cli('verify');
    expect(verify.status).toBe(1);
    expect(verify.stdout.split('\n')[0]).toBe(
      'manifest.json: sequence 2 is older than sequence 4, which this store published before (a restored backup or a stale copy; clients that saw 4 reject it): publish any change to supersede it (it gets 5)',
    );
    expect(verify.stdout).toMatch(/^1 problem found/m);

    // An emergency rollback reaches the clients that saw 3 and 4.
    const rollback = cli('rollback', 'cart');
    expect(rollback.status).toBe(0);
    expect(rollback.stdout).toMatch(/older than the 4 this store published \(a restored copy\?\), so this is 5 \(manifest sequence 5\)\n$/);
    const sequences = cli('history', 'cart', '--json')
      .stdout.trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { sequence: number }).sequence);
    expect(sequences).toEqual([1, 2, 3, 4, 5]);
    expect(cli('verify').status).toBe(0);
  });
});

describe('kill -9 during a release', () => {
  it('leaves a temp file in files/ that the next command removes', async () => {
    const build = join(t.root, 'many');
    await mkdir(build);
    for (let i = 0; i < 3000; i++) await writeFile(join(build, `f${i}.js`), `export const n = ${i};\n`);
    await writeFile(join(build, 'index.js'), 'export {};\n');
    const args = [CLI, 'release', build, '--module', 'many', '--version', '1.0.0', '--store', t.dir];
    // The 1,500th blob write stops with its temp file written (src/release/atomicWrite.ts), and is killed there.
    const child = spawn(process.execPath, args, { env: { ...process.env, TRANCHE_FAULT: 'stall-blob-1500' }, stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const temps = async () => (await readdir(join(t.dir, 'files'))).filter((name) => name.endsWith('.tmp'));
    while (!(await temps()).length) await sleep(20);
    child.kill('SIGKILL');
    expect(await ended).toBe('SIGKILL');
    expect(await temps()).toHaveLength(1);

    expect(runCli(args.slice(1)).status).toBe(0);
    expect(await temps()).toEqual([]);
    const verify = runCli(['verify', '--store', t.dir]);
    expect(verify.stdout).toMatch(/^OK: /);
    expect(verify.status).toBe(0);
  }, 60_000);
});
