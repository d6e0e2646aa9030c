/**
 * `release` through the Node API: what gets stored (once), what the record says, and every
 * refusal naming the argument or path at fault.
 */
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, moduleFiles, writeBuild, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
beforeEach(async () => {
  t = await createTestStore();
});
afterEach(async () => {
  await t.remove();
});

const blobs = async () => (await readdir(join(t.dir, 'files'))).filter((n) => !n.startsWith('.'));
const size = (files: Record<string, string>) => Object.values(files).reduce((sum, c) => sum + Buffer.byteLength(c), 0);

describe('release', () => {
  it('stores each content once and counts only bytes new to the store', async () => {
    const v1 = { ...moduleFiles('cart', '1.0.0'), 'assets/a.css': 'a{}', 'assets/copy.css': 'a{}' };
    const first = await t.store.release(await writeBuild(t.root, 'v1', v1), { module: 'cart', version: '1.0.0' });
    expect(first).toMatchObject({ files: 5, bytes: size(v1), newBytes: size(v1) - 3, unchanged: false, record: 'records/cart/1.0.0.json' });
    expect(await blobs()).toHaveLength(4);

    const v2 = { ...v1, 'index.js': 'export const version = "1.1.0";\n' };
    const second = await t.store.release(await writeBuild(t.root, 'v2', v2), { module: 'cart', version: '1.1.0' });
    expect(second).toMatchObject({ files: 5, bytes: size(v2), newBytes: Buffer.byteLength(v2['index.js']) });
    expect(await blobs()).toHaveLength(5);
  });

  it('writes a record with sorted paths, content types, entry and requires', async () => {
    await t.release('header', '1.2.0');
    const build = await writeBuild(t.root, 'cart', { 'main.js': 'x', 'b/logo.svg': '<svg/>', 'a.wasm': '\0', 'data.bin': '?' });
    await t.store.release(build, { module: 'cart', version: '2.0.0-rc.1', requires: { header: '^1.0.0' } });
    const record = JSON.parse(await readFile(join(t.dir, 'records/cart/2.0.0-rc.1.json'), 'utf8'));
    expect(record).toMatchObject({
      format: 1,
      module: 'cart',
      version: '2.0.0-rc.1',
      entry: 'main.js',
      requires: { header: '^1.0.0' },
    });
    expect(record.files.map((f: { path: string; type: string }) => [f.path, f.type])).toEqual([
      ['a.wasm', 'application/wasm'],
      ['b/logo.svg', 'image/svg+xml'],
      ['data.bin', 'application/octet-stream'],
      ['main.js', 'text/javascript; charset=utf-8'],
    ]);
  });

  it('is a no-op for the same bytes and leaves the record untouched', async () => {
    const build = await writeBuild(t.root, 'v1', moduleFiles('cart', '1.0.0'));
    await t.store.release(build, { module: 'cart', version: '1.0.0' });
    const before = await readFile(join(t.dir, 'records/cart/1.0.0.json'), 'utf8');
    const again = await t.store.release(build, { module: 'cart', version: '1.0.0' });
    expect(again).toMatchObject({ unchanged: true, newBytes: 0, files: 3 });
    expect(await readFile(join(t.dir, 'records/cart/1.0.0.json'), 'utf8')).toBe(before);
  });

  it('restores a lost blob when the same build is released again', async () => {
    const build = await writeBuild(t.root, 'v1', moduleFiles('cart', '1.0.0'));
    await t.store.release(build, { module: 'cart', version: '1.0.0' });
    const [lost] = await blobs();
    await rm(join(t.dir, 'files', lost!));
    const again = await t.store.release(build, { module: 'cart', version: '1.0.0' });
    expect(again.unchanged).toBe(true);
    expect(again.newBytes).toBeGreaterThan(0);
    expect(await blobs()).toContain(lost);
  });

  it('refuses different bytes for a released version, naming what changed, and stores none of them', async () => {
    await t.release('cart', '1.0.0');
    const stored = await blobs();
    const changed = await writeBuild(t.root, 'changed', { ...moduleFiles('cart', '1.0.0'), 'chunk.js': 'changed', 'extra.js': 'new' });
    await expect(t.store.release(changed, { module: 'cart', version: '1.0.0' })).rejects.toMatchObject({
      name: 'immutable',
      message: expect.stringMatching(/cart@1\.0\.0: already released with different contents \(changed: chunk\.js; added: extra\.js\)/),
    });
    expect(await blobs()).toEqual(stored);
  });

  it('rejects unusable arguments, naming them', async () => {
    const build = await writeBuild(t.root, 'ok', { 'index.js': 'x' });
    await expect(t.store.release(build, { module: 'cart', version: 'v1.0' })).rejects.toMatchObject({
      name: 'invalid-argument',
      message: expect.stringContaining('--version "v1.0"'),
    });
    await expect(t.store.release(build, { module: 'Cart!', version: '1.0.0' })).rejects.toMatchObject({
      name: 'invalid-argument',
      message: expect.stringContaining('--module "Cart!"'),
    });
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0', entry: 'main.js' })).rejects.toMatchObject({
      name: 'invalid-argument',
      message: expect.stringContaining('--entry main.js: no such file'),
    });
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0', requires: { header: 'not a range' } })).rejects.toMatchObject({
      name: 'invalid-argument',
      message: expect.stringContaining('--requires header@not a range'),
    });
    await expect(t.store.release(join(t.root, 'nowhere'), { module: 'cart', version: '1.0.0' })).rejects.toMatchObject({
      name: 'not-found',
      message: expect.stringContaining('nowhere'),
    });
  });

  it('needs --entry when there is no index.js and several top-level scripts', async () => {
    const build = await writeBuild(t.root, 'two', { 'a.js': '1', 'b.js': '2', 'lib/index.js': '3' });
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0' })).rejects.toMatchObject({
      name: 'usage',
      message: expect.stringContaining('--entry is needed: '),
    });
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0' })).rejects.toThrow(/a\.js, b\.js/);
  });

  it('lists every path that cannot be released, including symlinks out of the build', async () => {
    const build = await writeBuild(t.root, 'bad', { 'index.js': 'x', '.env': 'SECRET=1', 'my file.js': 'y', 'ok/fine.js': 'z' });
    await writeFile(join(t.root, 'outside.txt'), 'secret');
    await symlink(join(t.root, 'outside.txt'), join(build, 'leak.txt'));
    const error = await t.store.release(build, { module: 'cart', version: '1.0.0' }).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'unreleasable-files' });
    expect((error as Error).message).toContain(`build directory ${build}: cannot release these paths`);
    expect((error as Error).message).toContain('.env: has a segment ".env"');
    expect((error as Error).message).toContain('my file.js: has a segment "my file.js"');
    expect((error as Error).message).toContain(`leak.txt: is a symlink to ${join(t.root, 'outside.txt')}, outside the build directory`);
    expect((error as Error).message).not.toContain('fine.js');
  });

  it('follows symlinks that stay inside the build', async () => {
    const build = await writeBuild(t.root, 'links', { 'index.js': 'x', 'real/a.js': 'a' });
    await symlink(join(build, 'real'), join(build, 'alias'));
    const result = await t.store.release(build, { module: 'cart', version: '1.0.0' });
    const record = JSON.parse(await readFile(join(t.dir, result.record), 'utf8'));
    expect(record.files.map((f: { path: string }) => f.path)).toEqual(['alias/a.js', 'index.js', 'real/a.js']);
  });

  it('refuses an empty build directory', async () => {
    await mkdir(join(t.root, 'empty'));
    await expect(t.store.release(join(t.root, 'empty'), { module: 'cart', version: '1.0.0' })).rejects.toThrow(/empty contains no files/);
  });

  it('refuses requires that no released version satisfies, listing what is released', async () => {
    await t.release('header', '1.4.0');
    const build = await writeBuild(t.root, 'cart', { 'index.js': 'x' });
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0', requires: { header: '^2.0.0' } })).rejects.toMatchObject({
      name: 'unmet-requirement',
      message: '--requires header@^2.0.0: no released version of header satisfies ^2.0.0 (released: 1.4.0)',
    });
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0', requires: { footer: '*' } })).rejects.toThrow(
      /footer has no releases/,
    );
    await expect(t.store.release(build, { module: 'cart', version: '1.0.0', requires: { header: '~1.4' } })).resolves.toMatchObject({
      unchanged: false,
    });
  });
});
