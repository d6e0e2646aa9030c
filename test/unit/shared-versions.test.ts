/**
 * Shared dependencies' versions (docs/manifest.md, "Shared dependencies"): a release records the
 * ranges of the shared packages it works with (from its build's tranche-release.json), `tranche
 * shared` puts the shell's versions into the signed manifest, `promote`/`rollout` refuse a version
 * whose ranges the shell misses (unless allowed), and the worker never assigns such a version
 * against the shell it runs, saying why. Shared packages and modules are separate namespaces.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseManifest, parseReleaseRecord } from '../../src/core/validate.js';
import { formatStatus } from '../../src/release/cliFormat.js';
import { FakePlatform } from '../support/fakePlatform.js';
import { currentVersions, startDriver } from '../support/swHarness.js';
import { createTestStore, moduleFiles, writeBuild, writeFiles, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
beforeEach(async () => {
  t = await createTestStore();
});
afterEach(() => t.remove());

/** Releases counter@version from a build whose tranche-release.json says `requiresShared`. */
async function releaseBuilt(version: string, requiresShared?: Record<string, string>): Promise<void> {
  const dir = await writeBuild(t.root, `counter/${version}`, moduleFiles('counter', version));
  const info = { module: 'counter', version, entry: 'index.js', ...(requiresShared ? { requiresShared } : {}) };
  await writeFile(join(dir, 'tranche-release.json'), JSON.stringify(info));
  await t.store.release(dir, { module: 'counter', version });
}

const payload = async () => JSON.parse(JSON.parse(await t.manifestText()).payload);

describe('the documents', () => {
  it('a manifest carries the shell’s versions by package name, a record its ranges; bad names and versions are named', () => {
    const base = {
      format: 1,
      sequence: 1,
      published: '2026-01-01T00:00:00.000Z',
      keyId: 'k',
      killSwitch: false,
      modules: {},
      releases: {},
    };
    expect(parseManifest({ ...base, shared: { react: '19.2.0', '@scope/pkg': '1.0.0' } }, 'm').shared).toEqual({
      react: '19.2.0',
      '@scope/pkg': '1.0.0',
    });
    expect(() => parseManifest({ ...base, shared: { React: '19.2.0', vue: '^3' } }, 'm')).toThrow(
      'm is invalid:\n' +
        '  shared.React: expected an npm package name such as react, got "React"\n' +
        '  shared.vue: expected a semver version such as 1.2.3, got "^3"',
    );
    const record = {
      format: 1,
      module: 'counter',
      version: '1.0.0',
      entry: 'index.js',
      files: [{ path: 'index.js', sha256: 'a'.repeat(64), size: 1, type: 'text/javascript' }],
      requires: {},
      created: '2026-01-01T00:00:00.000Z',
    };
    expect(parseReleaseRecord({ ...record, requiresShared: { react: '^19.2.0' } }, 'r').requiresShared).toEqual({ react: '^19.2.0' });
    expect(() => parseReleaseRecord({ ...record, requiresShared: { react: 'nineteen' } }, 'r')).toThrow(
      'requiresShared.react: expected a semver range such as ^1.2.0, got "nineteen"',
    );
  });
});

describe('release, tranche shared, promote and rollout', () => {
  it('records the build’s ranges (or the option’s), refuses bad ones and a re-release that changes them', async () => {
    await releaseBuilt('1.0.0', { react: '^19.2.0' });
    const record = JSON.parse(await readFile(join(t.dir, 'records/counter/1.0.0.json'), 'utf8'));
    expect(record.requiresShared).toEqual({ react: '^19.2.0' });
    const dir = join(t.root, 'builds/counter/1.0.0');
    await expect(t.store.release(dir, { module: 'counter', version: '1.0.0', requiresShared: { react: '^20.0.0' } })).rejects.toThrow(
      'counter@1.0.0: already released with different contents (requiresShared: react@^19.2.0 → react@^20.0.0)',
    );
    await expect(t.store.release(dir, { module: 'counter', version: '1.0.1', requiresShared: { react: 'soon' } })).rejects.toThrow(
      'requiresShared react@soon: "soon" is not a semver range',
    );
    // A build with no shared dependencies records none: its record is what it was before they existed.
    await releaseBuilt('1.0.2');
    expect(Object.keys(JSON.parse(await readFile(join(t.dir, 'records/counter/1.0.2.json'), 'utf8')))).not.toContain('requiresShared');
  });

  it('puts the shell’s versions in the signed manifest and status, and refuses to make live a version they miss', async () => {
    await releaseBuilt('1.0.0', { react: '^19.0.0' });
    await releaseBuilt('2.0.0', { react: '^20.0.0' });
    await releaseBuilt('3.0.0', { react: '^19.0.0', 'react-dom': '^19.0.0' });
    // Unknown shell: nothing to check against.
    await t.store.promote('counter', '1.0.0');
    expect((await payload()).shared).toBeUndefined();
    const app = join(t.root, 'app-dist');
    await writeFiles(app, { 'tranche-shared.json': JSON.stringify({ react: '19.2.0' }) });
    expect((await t.store.setShared(app)).note).toBe("the shell's shared dependencies are react@19.2.0 (were unknown)");
    const manifest = await payload();
    expect(manifest.shared).toEqual({ react: '19.2.0' });
    expect(manifest.releases['counter@1.0.0'].requiresShared).toEqual({ react: '^19.0.0' });
    const status = await t.store.status();
    expect(status.shared).toEqual({ react: '19.2.0' });
    expect(formatStatus(status).split('\n')[1]).toBe('shared: react@19.2.0');

    await expect(t.store.rollout('counter', '2.0.0', 10)).rejects.toThrow(
      'tranche rollout: counter@2.0.0 requires shared react@^20.0.0, which the shell does not meet (the shell has react@19.2.0): ' +
        'its clients would all fall back; make a version that meets it live first, or pass --allow-incompatible',
    );
    await expect(t.store.promote('counter', '3.0.0')).rejects.toThrow(
      'tranche promote: counter@3.0.0 requires shared react-dom@^19.0.0, which the shell does not meet (the shell has no react-dom)',
    );
    const forced = await t.store.rollout('counter', '2.0.0', 10, { allowIncompatible: true });
    expect(forced.note).toContain('; warning: counter@2.0.0 requires shared react@^20.0.0, which the shell does not meet');
    // A shell with React 20 would leave 1.0.0, the stable, unmet: refused too.
    await expect(t.store.setShared({ react: '20.0.0' })).rejects.toThrow(
      'tranche shared: counter@1.0.0 requires shared react@^19.0.0, which the shell does not meet (the shell has react@20.0.0)',
    );
  });

  it('records the shell before anything was released (a new store with no directory yet)', async () => {
    expect((await t.store.setShared({ react: '19.2.0' })).sequence).toBe(1);
    expect((await t.store.status()).shared).toEqual({ react: '19.2.0' });
  });

  it('keeps modules and shared packages apart: a module named react is not the shell’s React', async () => {
    await t.release('react', '19.2.0');
    await t.store.promote('react', '19.2.0');
    await releaseBuilt('1.0.0', { react: '^19.0.0' });
    await t.store.setShared({});
    await expect(t.store.promote('counter', '1.0.0')).rejects.toThrow(
      'counter@1.0.0 requires shared react@^19.0.0, which the shell does not meet (the shell has no react)',
    );
    await expect(t.store.setShared({ 'Not A Package': '1.0.0' })).rejects.toThrow(
      'setShared() shared is invalid:\n  ["Not A Package"]: expected an npm package name such as react, got "Not A Package"',
    );
  });
});

describe('the worker', () => {
  it('never assigns a version whose shared ranges the shell it runs misses, keeps a compatible one and says why', async () => {
    await releaseBuilt('1.0.0', { react: '^19.0.0' });
    await releaseBuilt('2.0.0', { react: '^20.0.0' });
    await t.store.promote('counter', '1.0.0');
    const platform = new FakePlatform(t.dir);
    const driver = await startDriver(platform, t.publicKey, { shared: { react: '19.2.0' } });
    expect(await currentVersions(driver)).toEqual({ counter: '1.0.0' });
    // The store does not know the shell here: the manifest lets 2.0.0 out to everyone.
    await t.store.rollout('counter', '2.0.0', 100);
    await driver.checkForUpdates();
    await driver.idle();
    expect(await currentVersions(driver)).toEqual({ counter: '1.0.0' });
    const state = (await driver.state('')).modules.counter!;
    expect(state).toMatchObject({ current: '1.0.0', assigned: { version: '2.0.0' }, staging: null });
    expect(state.unmet).toEqual(['counter@2.0.0 requires shared react@^20.0.0 (the shell has react@19.2.0)']);
    driver.close();

    // A worker on a React 20 shell takes 2.0.0; one that does not know its shell does not check.
    for (const shared of [{ react: '20.1.0' }, undefined]) {
      const other = await startDriver(new FakePlatform(t.dir), t.publicKey, shared ? { shared } : {});
      expect(await currentVersions(other)).toEqual({ counter: '2.0.0' });
      expect((await other.state('')).modules.counter!.unmet).toEqual([]);
      other.close();
    }
  });
});
