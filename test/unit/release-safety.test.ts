/**
 * What keeps a store trustworthy: `verify` finding each kind of damage, the lock, and history
 * lines left behind by a publish that crashed before its manifest was renamed into place.
 */
import { spawnSync } from 'node:child_process';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signManifest } from '../../src/core/signature.js';
import { openStore } from '../../src/release/index.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '1.1.0');
  await t.store.promote('cart', '1.0.0');
});
afterEach(async () => {
  await t.remove();
});

async function problems(options?: Parameters<TestStore['store']['verify']>[0]): Promise<string[]> {
  return (await t.store.verify(options)).problems;
}

describe('verify', () => {
  it('accepts a healthy store and says what it checked', async () => {
    await t.store.rollout('cart', '1.1.0', 10);
    const report = await t.store.verify();
    expect(report).toMatchObject({ ok: true, problems: [], sequence: 2, records: 2, files: 5 });
    expect(report.trustedFrom).toEqual([`keys/${(t.publicKey as { kid: string }).kid}.jwk`]);
  });

  it('finds a corrupted and a missing blob, naming the file and who uses it', async () => {
    const record = JSON.parse(await readFile(join(t.dir, 'records/cart/1.0.0.json'), 'utf8'));
    const [index, chunk] = ['index.js', 'chunk.js'].map((p) => record.files.find((f: { path: string }) => f.path === p).sha256);
    await writeFile(join(t.dir, 'files', index), 'tampered!');
    await writeFile(join(t.dir, 'files', chunk), (await readFile(join(t.dir, 'files', chunk), 'utf8')).replace('chunk', 'CHUNK'));
    // In the record's order (chunk.js, index.js), whichever check ends first.
    expect(await problems()).toEqual([
      expect.stringMatching(
        new RegExp(`^files/${chunk} \\(cart@1\\.0\\.0 chunk\\.js\\): SHA-256 mismatch, expected ${chunk}, got [0-9a-f]{64}$`),
      ),
      expect.stringMatching(new RegExp(`^files/${index} \\(cart@1\\.0\\.0 index\\.js\\): size 9, expected \\d+$`)),
    ]);
  });

  it('finds a tampered manifest payload', async () => {
    const envelope = JSON.parse(await t.manifestText());
    envelope.payload = envelope.payload.replace('"paused":false', '"paused":true');
    await writeFile(join(t.dir, 'manifest.json'), JSON.stringify(envelope));
    expect(await problems()).toEqual([expect.stringMatching(/^manifest\.json: manifest signature does not verify with key/)]);
    // and no command builds on it
    await expect(t.store.pause('cart')).rejects.toMatchObject({
      name: 'untrusted-manifest',
      message: expect.stringContaining(join(t.dir, 'manifest.json')),
    });
  });

  it('finds a tampered record, both against its schema and the manifest hash', async () => {
    const path = join(t.dir, 'records/cart/1.0.0.json');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"entry": "index.js"', '"entry": "../x.js"'));
    const found = await problems();
    expect(found[0]).toMatch(/^records\/cart\/1\.0\.0\.json \(manifest\.json releases\["cart@1\.0\.0"\]\): SHA-256 mismatch/);
    const unreferenced = join(t.dir, 'records/cart/1.1.0.json');
    await writeFile(unreferenced, (await readFile(unreferenced, 'utf8')).replace('"format": 1', '"format": 7'));
    expect(await problems()).toContain('records/cart/1.1.0.json: unknown format version 7 (this tranche reads format 1)');
  });

  it("finds a manifest whose copy of a version's requires differs from its record, naming module@version", async () => {
    await t.release('header', '1.0.0');
    await t.store.promote('header', '1.0.0');
    await t.release('cart', '1.2.0', undefined, { header: '^1.0.0' });
    await t.store.rollout('cart', '1.2.0', 10);
    expect(await problems()).toEqual([]);
    // A manifest signed with the store's key by a broken or stale publisher: one copy dropped, one invented.
    const payload = JSON.parse(JSON.parse(await t.manifestText()).payload);
    expect(payload.releases['cart@1.2.0'].requires).toEqual({ header: '^1.0.0' });
    delete payload.releases['cart@1.2.0'].requires;
    payload.releases['cart@1.0.0'].requires = { header: '^2.0.0' };
    await writeFile(join(t.dir, 'manifest.json'), JSON.stringify(await signManifest(payload, t.privateKey)));
    expect(await problems()).toEqual([
      'manifest.json: releases["cart@1.0.0"].requires is header@^2.0.0, but records/cart/1.0.0.json requires (none) ' +
        '(workers check this copy before staging cart@1.0.0): publish any change to rewrite it',
      'manifest.json: releases["cart@1.2.0"].requires is (none), but records/cart/1.2.0.json requires header@^1.0.0 ' +
        '(workers check this copy before staging cart@1.2.0): publish any change to rewrite it',
    ]);
    // as the line says, a publish rewrites the copies from the records
    await t.store.rollout('cart', '1.2.0', 20);
    expect(await problems()).toEqual([]);
  });

  it('checks the signature with the given keys instead of the store ones', async () => {
    const other = await generateKeyPair();
    expect(await problems({ publicKeys: [other.publicJwk] })).toEqual([
      expect.stringMatching(/^manifest\.json: manifest is signed with key \S+, which is not trusted/),
    ]);
    expect(await problems({ publicKeys: [t.publicKey as object] })).toEqual([]);
  });

  it('ignores temp files left by a killed command', async () => {
    await writeFile(join(t.dir, '.manifest.json.999999.0badf00d.tmp'), 'half a manifest');
    await writeFile(join(t.dir, 'records/cart/.1.2.0.json.999999.0badf00d.tmp'), '{');
    expect(await problems()).toEqual([]);
    await t.store.rollout('cart', '1.1.0', 1);
    expect((await readdir(t.dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('history after a crash', () => {
  it('ignores lines above the manifest sequence and keeps the last line of a repeated sequence', async () => {
    const modules = { cart: { before: null, after: null } };
    const line = (sequence: number, verb: string) =>
      `${JSON.stringify({ sequence, time: 'x', actor: 'crashed', verb, args: {}, keyId: 'k', modules })}\n`;
    await appendFile(join(t.dir, 'history.jsonl'), line(2, 'never-published'));
    expect((await t.store.history('cart')).map((e) => e.verb)).toEqual(['promote']);
    await t.store.rollout('cart', '1.1.0', 3); // publishes sequence 2 for real
    expect((await t.store.history('cart')).map((e) => [e.sequence, e.verb])).toEqual([
      [1, 'promote'],
      [2, 'rollout'],
    ]);
  });

  it('cuts a torn last line before appending the next one', async () => {
    await appendFile(join(t.dir, 'history.jsonl'), '{"sequence":2,"ti');
    expect((await t.store.history('cart')).map((e) => e.sequence)).toEqual([1]);
    await t.store.pause('cart');
    expect((await t.store.history('cart')).map((e) => e.verb)).toEqual(['promote', 'pause']);
    expect(await problems()).toEqual([]);
  });
});

describe('store lock', () => {
  it('waits for a live holder, then fails naming the lock file and its holder', async () => {
    const lock = join(t.dir, '.tranche.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: 'now', nonce: 'n' }));
    const store = openStore(t.dir, { key: t.privateKey as object, lockTimeoutMs: 200 });
    await expect(store.pause('cart')).rejects.toMatchObject({ name: 'locked', message: expect.stringContaining(`${lock} within`) });
    await expect(store.pause('cart')).rejects.toThrow(`held by pid ${process.pid} on ${hostname()}`);
    expect((await t.store.status()).modules.cart!.paused).toBe(false);
  });

  it('breaks a lock whose holder is dead', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(join(t.dir, '.tranche.lock'), JSON.stringify({ pid: dead, host: hostname(), since: 'then', nonce: 'n' }));
    const store = openStore(t.dir, { key: t.privateKey as object, lockTimeoutMs: 200 });
    await expect(store.pause('cart')).resolves.toMatchObject({ changed: true, sequence: 2 });
    expect(await readdir(t.dir)).not.toContain('.tranche.lock');
  });
});
