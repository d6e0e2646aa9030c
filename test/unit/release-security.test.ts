/**
 * What an adversarial review of the release side tried (issue 13), each as a user meets it:
 * through `tranche/node` or the real `tranche` CLI.
 */
import { copyFile, mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../support/cli.js';
import { generateKeyPair, signManifest } from '../../src/core/signature.js';
import { storeHandler } from '../../src/release/index.js';
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
      expect(err).toMatchObject({
        name: 'invalid-argument',
        message: `promote() version "${secret}": expected a semver version such as 1.2.3`,
      });
    }
    await expect(t.store.promote('cart', traversal)).rejects.toMatchObject({
      name: 'invalid-argument',
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
      expect(err, what).toMatchObject({
        name: 'invalid-argument',
        message: expect.stringMatching(new RegExp(`^${what.replace(/[()]/g, '\\$&')} "`)),
      });
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
      `tranche: ${join(build, 'huge.bin')}: 3221225472 bytes is more than a release file may hold ` +
        '(at most 2147483647 bytes, 2 GiB: each file is read whole)\n',
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
      'tranche: --version "1.0.0-aaaaaaaaaaaaaaaaaa"… is 246 characters long: ' +
        'a store takes versions of at most 200 (they become file names)\n',
    );
    expect(await readdir(join(t.dir, 'files'))).toEqual(blobs);
    // The API says the same, and a version of the maximum length is released.
    await expect(t.store.promote('cart', version)).rejects.toMatchObject({
      name: 'invalid-argument',
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
      'manifest.json: sequence 2 is older than sequence 4, which this store published before ' +
        '(a restored backup or a stale copy; clients that saw 4 reject it): publish any change to supersede it (it gets 5)',
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
    const child = spawn(process.execPath, args, {
      env: { ...process.env, TRANCHE_FAULT: 'stall-blob-1500' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const temps = async () => (await readdir(join(t.dir, 'files'))).filter((name) => name.endsWith('.tmp'));
    // Until the command says it stalled (or ends without stalling, which the length check reports):
    // a temp file seen earlier may belong to a write that completes before the kill.
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('stalled at blob 1500')) resolve();
      });
      child.on('exit', () => resolve());
    });
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

describe('the keys a store trusts', () => {
  it('refuses a key it does not trust, naming it and the rotation command, until keys add trusts it', async () => {
    const trusted = join(t.root, 'keys', 'private.jwk');
    const cli = (key: string, ...args: string[]) => runCli([...args, '--store', t.dir, '--key', key]);
    expect(runCli(['keygen', '--out', join(t.root, 'other')]).status).toBe(0);
    const other = join(t.root, 'other', 'private.jwk');
    const otherId = (JSON.parse(await readFile(other, 'utf8')) as { kid: string }).kid;
    const trustedId = (t.publicKey as { kid: string }).kid;
    await t.release('cart', '1.1.0');

    const wrong = cli(other, 'rollout', 'cart@1.1.0', '--percent', '10');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe(
      `tranche: --key ${other}: key ${otherId} is not one this store trusts (keys/: ${trustedId}); ` +
        'to rotate to it on purpose, run tranche keys add <its public.jwk> with --key set to a trusted key ' +
        '(docs/cli.md, "Key rotation")\n',
    );
    expect(await readdir(join(t.dir, 'keys'))).toEqual([`${trustedId}.jwk`]);
    expect((await t.store.status()).sequence).toBe(1);

    // Rotation: only a trusted key may add one, and only a public one.
    expect(cli(trusted, 'keys', 'add', other).stderr).toMatch(
      /^tranche: keys add \S+: is a private key \(it has "d"\); give its public part/,
    );
    expect(cli(other, 'keys', 'add', join(t.root, 'other', 'public.jwk')).stderr).toContain(`key ${otherId} is not one this store trusts`);
    const added = cli(trusted, 'keys', 'add', join(t.root, 'other', 'public.jwk'));
    expect(added.stdout).toBe(
      `key ${otherId} is trusted from now on; list it in the workers' publicKeys before publishing with it (manifest sequence 2)\n`,
    );
    expect(cli(other, 'rollout', 'cart@1.1.0', '--percent', '10').status).toBe(0);
    expect(cli(other, 'history', 'cart').stdout).toMatch(new RegExp(`^#2 .* keys-add ${otherId}$`, 'm'));
    const verify = cli(other, 'verify');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/^OK: manifest sequence 3 signature valid \(checked with keys\/\S+\.jwk, keys\/\S+\.jwk\)/);

    // A manifest signed by a key the store does not trust fails plain verify.
    const stranger = await generateKeyPair();
    const payload = JSON.parse((JSON.parse(await t.manifestText()) as { payload: string }).payload);
    await writeFile(join(t.dir, 'manifest.json'), JSON.stringify(await signManifest({ ...payload, sequence: 4 }, stranger.privateJwk)));
    const untrusted = cli(other, 'verify');
    expect(untrusted.status).toBe(1);
    expect(untrusted.stdout).toContain(`manifest.json: manifest is signed with key ${stranger.keyId}, which is not trusted`);
  });
});

describe('what a store never serves nor trusts', () => {
  async function serve(path: string): Promise<{ status: number; body: string }> {
    const handler = storeHandler(t.dir, { mount: '/store/' });
    const server = createServer((req, res) => void handler.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      return await new Promise((resolve, reject) => {
        const { port } = server.address() as AddressInfo;
        request({ host: '127.0.0.1', port, path }, (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (c: string) => (body += c))
            .on('end', () => resolve({ status: res.statusCode!, body }));
        })
          .on('error', reject)
          .end();
      });
    } finally {
      server.close();
    }
  }

  it('follows no symbolic link out of the store: 404, and verify names it', async () => {
    const secret = join(t.root, 'secret.txt');
    await writeFile(secret, 'root:x:0:0');
    const record = JSON.parse(await readFile(join(t.dir, 'records/cart/1.0.0.json'), 'utf8')) as {
      files: Array<{ path: string; sha256: string }>;
    };
    const index = record.files.find((f) => f.path === 'index.js')!.sha256;
    await rm(join(t.dir, 'files', index));
    await symlink(secret, join(t.dir, 'files', index));
    const stray = 'a'.repeat(64);
    await symlink(secret, join(t.dir, 'files', stray));
    for (const path of [`/store/files/${index}`, `/store/files/${stray}`, '/modules/cart/1.0.0/index.js']) {
      const got = await serve(path);
      expect(got.status, path).toBe(404);
      expect(got.body, path).not.toContain('root:x');
    }
    const verify = runCli(['verify', '--store', t.dir]);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`files/${stray}: a symbolic link out of the store (to ${secret}); tranche never follows it: remove it`);
    expect(verify.stdout).toContain(`files/${index} (cart@1.0.0 index.js): path "files/${index}" is a symbolic link out of the store`);
    // Releasing the same build again puts the real bytes back in its place.
    await t.release('cart', '1.0.0');
    expect((await serve('/modules/cart/1.0.0/index.js')).status).toBe(200);
  });

  it('never serves, trusts nor copies a private key left in keys/, and verify warns to remove it', async () => {
    await copyFile(join(t.root, 'keys', 'private.jwk'), join(t.dir, 'keys', 'private.jwk'));
    const got = await serve('/store/keys/private.jwk');
    expect(got.status).toBe(404);
    expect(got.body).not.toContain('"d"');
    const verify = runCli(['verify', '--store', t.dir]);
    expect(verify.stdout.split('\n')[0]).toBe(
      'warning: keys/private.jwk is a private key (it has "d"): remove it from the store now; ' +
        'tranche never trusts, serves nor copies it, but anyone who read it can sign manifests ' +
        '(rotate to a new key if it was ever public)',
    );
    expect(verify.stdout).not.toContain('keys/private.jwk,');
    expect(verify.stdout).toMatch(/^OK: manifest sequence 1 signature valid \(checked with keys\/\S+\.jwk\)/m);
    await t.store.publishTo(join(t.root, 'public'));
    expect(await readdir(join(t.root, 'public', 'keys'))).toEqual([`${(t.publicKey as { kid: string }).kid}.jwk`]);
  });
});
