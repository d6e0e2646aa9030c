/**
 * Real release stores for worker tests, built with the release API (tranche/node), so the
 * worker is always tested against what the CLI actually writes.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { signManifest } from '../../src/core/signature.js';
import { keygen, openStore, type ReleaseStore } from '../../src/release/index.js';

/** A store in a temporary directory, its signing key and helpers to release module builds. */
export interface TestStore {
  root: string;
  /** The store directory (what is served as `<origin>/store/`). */
  dir: string;
  store: ReleaseStore;
  publicKey: unknown;
  privateKey: unknown;
  /** Releases module@version from `files` (default: `moduleFiles(module, version)`). */
  release(module: string, version: string, files?: Record<string, string>, requires?: Record<string, string>): Promise<void>;
  /** The current manifest.json text. */
  manifestText(): Promise<string>;
  remove(): Promise<void>;
}

/**
 * A module build whose code names its version: `index.js` writes `module@version` into the
 * element it renders to, and loads `chunk.js` lazily; `shared.js` is identical in every version
 * (its bytes are stored once).
 */
export function moduleFiles(module: string, version: string): Record<string, string> {
  const label = `${module}@${version} `;
  return {
    'index.js': [
      `export const version = ${JSON.stringify(version)};`,
      `export function render(el) { el.dataset[${JSON.stringify(module)}] = version; el.append(${JSON.stringify(label)}); }`,
      "export async function lazy() { return (await import('./chunk.js')).value; }",
      '',
    ].join('\n'),
    'chunk.js': `export const value = ${JSON.stringify(`${module}@${version} chunk`)};\n`,
    'shared.js': 'export const shared = 42;\n',
  };
}

/**
 * A large build: `index.js`, which names `version`, and `count - 1` small files under `assets/`,
 * the first `changed` of which name `version` too, the rest identical in every version. Two
 * versions of it differ in `changed + 1` files.
 */
export function manyFiles(count: number, version: string, changed: number): Record<string, string> {
  const files: Record<string, string> = { 'index.js': `export const version = ${JSON.stringify(version)};\n` };
  for (let i = 0; i < count - 1; i++)
    files[`assets/f${i}.js`] = `export const f${i} = ${JSON.stringify(i < changed ? version : 'same')};\n`;
  return files;
}

/** Writes `files` (path relative to `dir` -> contents) under `dir`, as a build directory; returns `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** Writes `files` as the build directory `<root>/builds/<name>` (a module build to release); returns its path. */
export function writeBuild(root: string, name: string, files: Record<string, string>): Promise<string> {
  return writeFiles(join(root, 'builds', name), files);
}

/** Creates an empty store with a fresh key pair. */
export async function createTestStore(): Promise<TestStore> {
  const root = await mkdtemp(join(tmpdir(), 'tranche-sw-'));
  const dir = join(root, 'store');
  const keys = await keygen(join(root, 'keys'));
  const privateKey = JSON.parse(await readFile(keys.privateKeyPath, 'utf8'));
  const publicKey = JSON.parse(await readFile(keys.publicKeyPath, 'utf8'));
  const store = openStore(dir, { key: privateKey, actor: 'test' });
  return {
    root,
    dir,
    store,
    publicKey,
    privateKey,
    async release(module, version, files = moduleFiles(module, version), requires = {}) {
      const build = await writeBuild(root, join(module, version), files);
      await store.release(build, { module, version, entry: 'index.js', requires });
    },
    manifestText: () => readFile(join(dir, 'manifest.json'), 'utf8'),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** Manifests an attacker or a broken deploy could serve, made from the store's current one. */
export async function badManifests(t: TestStore): Promise<Record<'tampered' | 'unsigned' | 'expired' | 'foreignKey', string>> {
  const envelope = JSON.parse(await t.manifestText());
  const payload = JSON.parse(envelope.payload);
  const tampered = {
    ...envelope,
    payload: envelope.payload.replace(/"percent":\d+/, '"percent":100').replace('"sequence":', '"sequence":9'),
  };
  const { signature: _dropped, ...unsigned } = envelope;
  const expired = await signManifest(
    { ...payload, sequence: payload.sequence + 1, expires: new Date(Date.now() - 60_000).toISOString() },
    t.privateKey,
  );
  const other = await createTestStore();
  const foreignKey = await signManifest({ ...payload, sequence: payload.sequence + 1 }, other.privateKey);
  await other.remove();
  return {
    tampered: JSON.stringify(tampered),
    unsigned: JSON.stringify(unsigned),
    expired: JSON.stringify(expired),
    foreignKey: JSON.stringify(foreignKey),
  };
}
