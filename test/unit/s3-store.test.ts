/**
 * Stores in an S3-compatible bucket (issue 10), against a real server (s3rver on 127.0.0.1):
 * `publish --to`, `verify --remote`, `copy`, and the verbs run on a bucket store directly. The
 * CLI runs asynchronously: the server answers from this process's event loop.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore, S3Backend } from '../../src/release/index.js';
import { CLI, runCliAsync } from '../support/cli.js';
import { startS3Server, type S3TestServer } from '../support/s3Server.js';
import { createTestStore, manyFiles, type TestStore } from '../support/trancheStore.js';

let s3: S3TestServer;
let t: TestStore;
let env: Record<string, string>;
let prefix = 0;
/** A fresh prefix per test: each test publishes to an empty store. */
let bucketUrl: string;

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.close();
});
beforeEach(async () => {
  t = await createTestStore();
  env = { ...s3.env, TRANCHE_STORE: t.dir, TRANCHE_KEY: join(t.root, 'keys', 'private.jwk') };
  bucketUrl = `s3://${s3.bucket}/store-${++prefix}`;
});
afterEach(async () => {
  await t?.remove();
});

/** The test's store through the API, reaching the server with its credentials. */
const local = () => openStore(t.dir, { s3: s3.options });
const bucketStore = () => new S3Backend(bucketUrl, s3.options);
const objectUrl = (path: string) => s3.url(`store-${prefix}/${path}`);

describe('publish --to s3://', () => {
  it('uploads a fresh store with the cache headers and content types a CDN needs, and verify --remote passes', async () => {
    await t.release('cart', '1.0.0', { 'index.js': 'export {};\n', 'style.css': 'p{}\n', 'data/x.json': '{}\n' });
    await t.store.promote('cart', '1.0.0');
    const run = await runCliAsync(['publish', '--to', bucketUrl], { env });
    expect([run.status, run.stdout, run.stderr]).toEqual([
      0,
      expect.stringMatching(
        new RegExp(`^published manifest sequence 1 to ${bucketUrl}: 6 objects uploaded \\(\\d+ bytes.*\\), 0 already there\\n$`),
      ),
      '',
    ]);
    const head = async (path: string) => {
      const response = await fetch(objectUrl(path));
      return [response.status, response.headers.get('cache-control'), response.headers.get('content-type')];
    };
    const immutable = 'public, max-age=31536000, immutable';
    expect(await head('manifest.json')).toEqual([200, 'no-cache', 'application/json']);
    expect(await head('records/cart/1.0.0.json')).toEqual([200, immutable, 'application/json']);
    const record = await t.store.backend.read('records/cart/1.0.0.json');
    const types = JSON.parse(Buffer.from(record!).toString()).files.map((f: { sha256: string; type: string }) => [f.sha256, f.type]);
    for (const [sha256, type] of types) expect(await head(`files/${sha256}`)).toEqual([200, immutable, type]);
    expect(types.map(([, type]: string[]) => type).sort()).toEqual([
      'application/json',
      'text/css; charset=utf-8',
      'text/javascript; charset=utf-8',
    ]);
    // The lock is gone and history stays with the operator's store.
    expect(await bucketStore().list('')).not.toContain('history.jsonl');
    expect((await fetch(objectUrl('.tranche.lock'))).status).toBe(404);

    const verify = await runCliAsync(['verify', '--remote', bucketUrl], { env });
    expect([verify.status, verify.stdout]).toEqual([
      0,
      expect.stringMatching(/^OK: manifest sequence 1 signature valid .*; 1 records and 3 files /),
    ]);
    expect(verify.stdout).toContain(`(checked with ${t.dir}/keys/`);
  });

  it('after a release that changed 10 of 5,000 files, uploads exactly those 10, the record and the manifest', async () => {
    await t.release('cart', '1.0.0', manyFiles(5000, '1.0.0', 9));
    await t.store.promote('cart', '1.0.0');
    expect(await local().publishTo(bucketUrl)).toMatchObject({ uploaded: 5000 + 1 + 1 + 1 });
    await t.release('cart', '1.1.0', manyFiles(5000, '1.1.0', 9));
    await t.store.rollout('cart', '1.1.0', 5);
    const before = s3.written.length;
    const result = await local().publishTo(bucketUrl);
    // The changed files include index.js, whose bytes name the version.
    expect(result).toMatchObject({ uploaded: 12, present: 5000 + 1 + 1 + 1 - 1, sequence: 2 });
    const record = JSON.parse(Buffer.from((await t.store.backend.read('records/cart/1.1.0.json'))!).toString()) as {
      files: { path: string; sha256: string }[];
    };
    const changed = record.files.filter((f) => f.path === 'index.js' || /^assets\/f[0-8]\.js$/.test(f.path));
    expect(changed).toHaveLength(10);
    // What the server stored: those objects, the publish's lock, nothing else.
    expect(s3.written.slice(before).sort()).toEqual(
      [...changed.map((f) => `files/${f.sha256}`), 'records/cart/1.1.0.json', 'manifest.json', '.tranche.lock']
        .map((path) => `store-${prefix}/${path}`)
        .sort(),
    );
    // Listing pages past s3rver's 1,000 keys a page.
    expect((await bucketStore().list('files/')).length).toBe(5000 + 10);
  }, 240_000);

  it('killed halfway, run again: uploads only what is missing, and verify --remote passes', async () => {
    await t.release('cart', '1.0.0', manyFiles(600, '1.0.0', 0));
    await t.store.promote('cart', '1.0.0');
    const child = spawn(process.execPath, [CLI, 'publish', '--to', bucketUrl], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // In CI (no terminal) progress is a line per tenth: kill at the first one, mid-upload.
    await new Promise<void>((resolve) => child.stderr.on('data', (line: Buffer) => String(line).includes(' objects') && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const partial = await bucketStore().sizes('');
    expect(partial.size).toBeGreaterThan(0);
    expect(partial.has('manifest.json')).toBe(false);
    // s3rver keeps what it received of a PUT cut short (S3 would not): those count as missing.
    const ours = await t.store.backend.sizes('');
    const complete = [...partial].filter(([path, size]) => ours.get(path) === size).length;
    expect((await runCliAsync(['verify', '--remote', bucketUrl], { env })).stdout).toMatch(/^OK: no manifest/);

    const rerun = await local().publishTo(bucketUrl);
    // 600 files, the record, the key, the manifest.
    expect(rerun.uploaded + rerun.present).toBe(603);
    expect(rerun.uploaded).toBe(603 - complete);
    const verify = await runCliAsync(['verify', '--remote', bucketUrl], { env });
    expect([verify.status, verify.stdout]).toEqual([
      0,
      expect.stringMatching(/^OK: manifest sequence 1 signature valid .*; 1 records and 600 files /),
    ]);
  }, 60_000);

  it('refuses to move the bucket backwards: a publish from an older copy of the store leaves it unchanged', async () => {
    await t.release('cart', '1.0.0');
    await t.release('cart', '2.0.0');
    await t.store.promote('cart', '1.0.0');
    const old = join(t.root, 'old-checkout');
    await cp(t.dir, old, { recursive: true });
    await t.store.rollout('cart', '2.0.0', 50);
    expect((await runCliAsync(['publish', '--to', bucketUrl], { env })).status).toBe(0);
    const published = await bucketStore().read('manifest.json');

    const stale = await runCliAsync(['--store', old, 'publish', '--to', bucketUrl], { env });
    expect([stale.status, stale.stderr]).toEqual([
      1,
      `tranche: ${bucketUrl}/manifest.json: has sequence 2, this store 1: publishing would move it backwards; ` +
        'publish from an up-to-date copy of the store\n',
    ]);
    // Publishing the same sequence again is a no-op, not a refusal.
    expect((await runCliAsync(['publish', '--to', bucketUrl], { env })).stdout).toMatch(
      /already has manifest sequence 2: 0 objects uploaded/,
    );

    const other = await createTestStore();
    try {
      await other.release('cart', '9.0.0');
      await other.store.promote('cart', '9.0.0');
      const foreign = await runCliAsync(['--store', other.dir, 'publish', '--to', bucketUrl], { env });
      expect([foreign.status, foreign.stderr]).toEqual([
        1,
        expect.stringMatching(
          new RegExp(
            String.raw`^tranche: s3://\S+/manifest\.json: manifest is signed with key \S+, which is not trusted ` +
              '.*refusing to replace a manifest this store cannot vouch for',
          ),
        ),
      ]);
    } finally {
      await other.remove();
    }
    expect(Buffer.compare((await bucketStore().read('manifest.json'))!, published!)).toBe(0);
  });
});

describe('a store in a bucket', () => {
  it('copy moves a release between stores, same bytes and hashes, and verify passes on both', async () => {
    await t.release('cart', '2.0.0');
    const staging = join(t.root, 'staging');
    await mkdir(staging);
    const copyArgs = ['copy', 'cart@2.0.0', '--to', bucketUrl];
    expect(await runCliAsync(copyArgs, { env })).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(
        /^copied cart@2\.0\.0 to s3:\/\/\S+ \(not live there until promoted or rolled out\): 4 objects uploaded/,
      ),
    });
    expect((await runCliAsync(copyArgs, { env })).stdout).toMatch(/was already in s3:\/\/\S+; nothing copied: 0 objects uploaded/);
    // The bucket is a store like any: promote there, then copy on to a local directory.
    expect(await runCliAsync(['--store', bucketUrl, 'promote', 'cart@2.0.0'], { env })).toMatchObject({
      status: 0,
      stdout: 'cart@2.0.0 is the first stable version of cart (manifest sequence 1)\n',
    });
    expect((await runCliAsync(['copy', 'cart@2.0.0', '--from', bucketUrl, '--to', staging], { env })).status).toBe(0);
    const ours = await t.store.backend.read('records/cart/2.0.0.json');
    expect(Buffer.compare((await bucketStore().read('records/cart/2.0.0.json'))!, ours!)).toBe(0);
    for (const store of [t.dir, bucketUrl, staging]) {
      const verify = await runCliAsync(['--store', store, 'verify'], { env });
      expect([store, verify.status, verify.stdout]).toEqual([store, 0, expect.stringMatching(/^OK: /)]);
    }
    expect((await runCliAsync(['--store', bucketUrl, 'history', 'cart'], { env })).stdout).toMatch(/promote cart@2\.0\.0/);
  });

  it('a differing release of the same version is refused, naming it', async () => {
    await t.release('cart', '2.0.0');
    const other = await createTestStore();
    try {
      await other.release('cart', '2.0.0', { 'index.js': 'export const other = true;\n' });
      await openStore(other.dir, { s3: s3.options }).copyTo(bucketUrl, 'cart', '2.0.0');
      await expect(local().copyTo(bucketStore(), 'cart', '2.0.0')).rejects.toThrow(
        `${bucketUrl}/records/cart/2.0.0.json: is already there with different contents; released versions are immutable`,
      );
    } finally {
      await other.remove();
    }
  });

  it('s3rver ignores conditional writes; the backend still refuses to replace a document that changed', async () => {
    // What s3rver 3.7 supports (lib/controllers/object.js): If-None-Match on GET only; PUT ignores it.
    const url = objectUrl('probe.txt');
    const first = await runPut(url, 'one');
    expect(first).toBe(200);
    expect(await runPut(url, 'two', { 'if-none-match': '*' })).toBe(200);
    const etag = (await fetch(url)).headers.get('etag')!;
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const backend = bucketStore();
    await backend.put('manifest.json', 'A');
    await expect(backend.put('manifest.json', 'B', { replaces: null })).rejects.toThrow(
      /manifest\.json: changed by another writer meanwhile/,
    );
    await expect(backend.put('manifest.json', 'B', { replaces: Buffer.from('C') })).rejects.toThrow(/changed by another writer/);
    await backend.put('manifest.json', 'B', { replaces: Buffer.from('A') });
    expect(Buffer.from((await backend.read('manifest.json'))!).toString()).toBe('B');
  });
});

/** An anonymous PUT as any HTTP client sends it (s3rver accepts unsigned requests). */
async function runPut(url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(url, { method: 'PUT', body, headers })).status;
}
