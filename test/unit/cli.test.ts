/**
 * The `tranche` bin end to end, as a user runs it: real processes, real files, exit codes
 * (0 ok, 1 failed, 2 usage) and messages that name what is wrong.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign } from '../../src/core/bucketing.js';
import { trustKeys, verifyManifest } from '../../src/core/signature.js';
import { runCli } from '../support/cli.js';
import { moduleFiles, writeBuild } from '../support/trancheStore.js';

let root: string;
let env: Record<string, string>;
const tranche = (args: string[], input?: string) => runCli(args, { cwd: root, env, input });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tranche-cli-'));
  env = { TRANCHE_STORE: join(root, 'store'), TRANCHE_ACTOR: 'release-bot' };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('keygen', () => {
  it('writes a private key only its owner can read, prints the key id, and never overwrites', async () => {
    const run = tranche(['keygen', '--out', 'keys']);
    expect(run.status).toBe(0);
    const jwk = JSON.parse(await readFile(join(root, 'keys/public.jwk'), 'utf8'));
    expect(run.stdout).toContain(`key id ${jwk.kid}`);
    expect((await stat(join(root, 'keys/private.jwk'))).mode & 0o777).toBe(0o600);
    const again = tranche(['keygen', '--out', 'keys']);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`tranche: ${join('keys', 'private.jwk')} already exists; refusing to overwrite it\n`);
    env.TRANCHE_KEY = join(root, 'keys/private.jwk');
  });
});

describe('release', () => {
  it('prints files, bytes and new bytes; dedups shared files; no-op on the same bytes; refuses different ones', async () => {
    const v1 = moduleFiles('cart', '1.0.0');
    const total = Object.values(v1).reduce((n, c) => n + Buffer.byteLength(c), 0);
    const first = tranche(['release', await writeBuild(root, 'b1', v1), '--module', 'cart', '--version', '1.0.0']);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(
      `released cart@1.0.0: 3 files, ${total} bytes, ${total} bytes new to the store\nrecord: records/cart/1.0.0.json\n`,
    );

    const v2 = { ...v1, 'index.js': 'export const version = "1.1.0";\n' };
    const second = tranche(['release', await writeBuild(root, 'b2', v2), '--module', 'cart', '--version', '1.1.0']);
    expect(second.stdout).toContain(`, ${Buffer.byteLength(v2['index.js'])} bytes new to the store`);

    const same = tranche(['release', 'builds/b1', '--module', 'cart', '--version', '1.0.0']);
    expect([same.status, same.stdout]).toEqual([
      0,
      expect.stringMatching(/^cart@1\.0\.0 was already released with identical contents; nothing changed/),
    ]);

    const different = tranche(['release', 'builds/b2', '--module', 'cart', '--version', '1.0.0']);
    expect(different.status).toBe(1);
    expect(different.stderr).toMatch(/^tranche: cart@1\.0\.0: already released with different contents \(changed: index\.js\)/);
  });

  it('fails (exit 1) on paths it cannot release and on unsatisfiable requires, naming them', async () => {
    const bad = tranche([
      'release',
      await writeBuild(root, 'b3', { 'index.js': 'x', '.env': 'secret' }),
      '--module',
      'cart',
      '--version',
      '3.0.0',
    ]);
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringContaining('.env: has a segment ".env"')]);
    const requires = tranche(['release', 'builds/b1', '--module', 'header', '--version', '1.0.0', '--requires', 'cart@^2']);
    expect([requires.status, requires.stderr]).toEqual([
      1,
      'tranche: --requires cart@^2: no released version of cart satisfies ^2 (released: 1.0.0, 1.1.0)\n',
    ]);
  });
});

describe('usage errors exit 2 and name the argument', () => {
  it.each([
    [['release', 'builds/b1', '--module', 'cart', '--version', 'v1'], '--version "v1": expected a semver version'],
    [['release', 'builds/b1', '--version', '1.0.0'], 'tranche-release.json not found: pass --module and --version'],
    [['release', 'builds/b1', '--module', 'cart', '--version', '4.0.0', '--entry', 'nope.js'], '--entry nope.js: no such file'],
    [['rollout', 'cart@1.1.0', '--percent', 'lots'], '--percent lots: expected a number from 0 to 100'],
    [['promote', 'cart'], '<module@version> cart: expected <module>@<version>'],
    [['status', '--colour'], "unknown option '--colour'"],
    [['release', 'builds/b1', '--module', 'cart', '--version', '4.0.0', '--runtime', 'shell@2'], "unknown option '--runtime'"],
    [['kill-switch', 'maybe'], "'maybe' is invalid for argument 'state'. Allowed choices are on, off"],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('tranche %j', (args, message) => {
    const run = tranche(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/^tranche: /);
  });

  it('a mutating verb without a key names --key and TRANCHE_KEY', () => {
    const run = runCli(['promote', 'cart@1.0.0'], { cwd: root, env: { TRANCHE_STORE: env.TRANCHE_STORE! } });
    expect([run.status, run.stderr]).toEqual([2, expect.stringContaining('pass --key <file> or set TRANCHE_KEY')]);
  });
});

describe('publishing verbs, status and history', () => {
  it('promote, rollout, pause, resume, rollback, each reflected in status --json and history --json', () => {
    expect(tranche(['status', '--json']).stdout).toBe('{"sequence":0,"modules":{},"killSwitch":false}\n');
    expect(tranche(['promote', 'cart@1.0.0']).stdout).toBe('cart@1.0.0 is the first stable version of cart (manifest sequence 1)\n');
    expect(tranche(['rollout', 'cart@1.1.0', '--percent', '30']).status).toBe(0);
    expect(JSON.parse(tranche(['status', '--json']).stdout)).toEqual({
      sequence: 2,
      killSwitch: false,
      modules: { cart: { stable: '1.0.0', rollouts: [{ version: '1.1.0', percent: 30 }], paused: false, blocked: [] } },
    });
    expect(tranche(['pause', 'cart']).status).toBe(0);
    const refused = tranche(['rollout', 'cart@1.1.0', '--percent', '50']);
    expect([refused.status, refused.stderr]).toEqual([
      1,
      'tranche: cart: is paused; run tranche resume cart first (rollback works while paused)\n',
    ]);
    expect(tranche(['resume', 'cart']).status).toBe(0);
    expect(tranche(['rollback', 'cart']).stdout).toBe(
      'cart rolled back: cart@1.0.0 stays stable; ended rollouts: 1.1.0 (30%); blocked: 1.1.0 (manifest sequence 5)\n',
    );
    const status = tranche(['status']).stdout;
    expect(status).toMatch(
      /^sequence 5, published \S+ by key \S+, kill switch off\nmodule +stable +rollouts +paused +blocked\ncart +1\.0\.0 +- +no +1\.1\.0\n$/,
    );

    const history = tranche(['history', 'cart', '--json'])
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(history.map((e) => [e.sequence, e.verb, e.actor])).toEqual([
      [1, 'promote', 'release-bot'],
      [2, 'rollout', 'release-bot'],
      [3, 'pause', 'release-bot'],
      [4, 'resume', 'release-bot'],
      [5, 'rollback', 'release-bot'],
    ]);
    expect(history[4].modules.cart.before.rollouts).toEqual([{ version: '1.1.0', percent: 30, from: 0 }]);
    expect(history[4].modules.cart.after).toMatchObject({ stable: '1.0.0', rollouts: [], blocked: ['1.1.0'] });
    expect(tranche(['history', 'cart']).stdout).toContain('#2  ');
  });
});

describe('a rollout beside one at 100%', () => {
  it('takes the place of a version at 100% (which becomes stable); a partial one names the command that makes room', async () => {
    // A store of its own: the tests below count the modules of the shared one.
    const tranche = (args: string[]) => runCli(args, { cwd: root, env: { ...env, TRANCHE_STORE: join(root, 'store-counter') } });
    for (const version of ['1.0.0', '2.0.0', '3.0.0', '4.0.0']) {
      const build = await writeBuild(root, `counter-${version}`, moduleFiles('counter', version));
      expect(tranche(['release', build, '--module', 'counter', '--version', version]).status).toBe(0);
    }
    expect(tranche(['promote', 'counter@1.0.0']).status).toBe(0);
    expect(tranche(['rollout', 'counter@2.0.0', '--percent', '100']).status).toBe(0);
    const next = tranche(['rollout', 'counter@3.0.0', '--percent', '100']);
    expect([next.status, next.stdout]).toEqual([
      0,
      expect.stringMatching(
        new RegExp(
          String.raw`^counter@2\.0\.0 was at 100% and is stable now \(was 1\.0\.0\); ` +
            String.raw`counter@3\.0\.0 reaches 100% of clients, still as a rollout; ` +
            String.raw`tranche promote counter@3\.0\.0 makes it stable \(manifest sequence \d+\)\n$`,
        ),
      ),
    ]);
    expect(JSON.parse(tranche(['status', '--json']).stdout).modules.counter).toEqual({
      stable: '2.0.0',
      rollouts: [{ version: '3.0.0', percent: 100 }],
      paused: false,
      blocked: [],
    });
    // Rolling 3.0.0 back returns every client to 2.0.0, the version they ran before it.
    expect(tranche(['rollback', 'counter']).stdout).toMatch(
      /^counter rolled back: counter@2\.0\.0 stays stable; ended rollouts: 3\.0\.0 \(100%\)/,
    );

    expect(tranche(['rollout', 'counter@4.0.0', '--percent', '60']).status).toBe(0);
    const full = tranche(['rollout', 'counter@1.0.0', '--percent', '50']);
    expect([full.status, full.stderr]).toEqual([
      1,
      'tranche: counter@1.0.0: no free run of 50% of buckets is left beside the other rollouts (4.0.0 at 60%); ' +
        'make room first: tranche promote counter@4.0.0 (ends its rollout) or tranche rollback counter (ends them all)\n',
    ]);
  });
});

describe('resolve', () => {
  it('puts 30% of 10,000 stdin ids on the canary (within 3 sigma), exactly as core assign does', async () => {
    const key = JSON.parse(await readFile(join(root, 'keys/public.jwk'), 'utf8'));
    expect(tranche(['promote', 'header@1.0.0']).status).toBe(1); // never released
    expect(
      tranche(['release', await writeBuild(root, 'c2', moduleFiles('cart', '2.0.0')), '--module', 'cart', '--version', '2.0.0']).status,
    ).toBe(0);
    expect(tranche(['rollout', 'cart@2.0.0', '--percent', '30']).status).toBe(0);
    const manifest = await verifyManifest(JSON.parse(await readFile(join(env.TRANCHE_STORE!, 'manifest.json'), 'utf8')), {
      trusted: await trustKeys([key]),
    });

    const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}-ü`);
    const run = tranche(['resolve', '--json'], `${ids.join('\n')}\n`);
    expect(run.status).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.client)).toEqual(ids);
    lines.forEach((l) => expect(l.modules).toEqual({ cart: assign(manifest, l.client).cart!.version }));
    const canary = lines.filter((l) => l.modules.cart === '2.0.0').length;
    expect(Math.abs(canary - 3000)).toBeLessThanOrEqual(3 * Math.sqrt(10_000 * 0.3 * 0.7));

    const two = tranche(['resolve', '--client', ids[0]!, '--client', ids[1]!]).stdout;
    expect(two).toBe(`${ids[0]}  cart@${lines[0].modules.cart}\n${ids[1]}  cart@${lines[1].modules.cart}\n`);
  });
});

describe('verify', () => {
  it('passes on a healthy store, then reports a corrupted blob and an untrusted key with exit 1', async () => {
    const ok = tranche(['verify']);
    expect([ok.status, ok.stdout]).toEqual([
      0,
      expect.stringMatching(/^OK: manifest sequence \d+ signature valid \(checked with keys\/\S+\.jwk\); 3 records and 6 files/),
    ]);

    const record = JSON.parse(await readFile(join(env.TRANCHE_STORE!, 'records/cart/2.0.0.json'), 'utf8'));
    const blob = record.files.find((f: { path: string }) => f.path === 'chunk.js').sha256;
    await writeFile(join(env.TRANCHE_STORE!, 'files', blob), 'export const value = "evil";\n');
    const corrupt = tranche(['verify']);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stdout).toContain(`files/${blob} (cart@2.0.0 chunk.js): `);
    expect(corrupt.stdout).toMatch(/1 problem found/);

    expect(tranche(['keygen', '--out', 'other']).status).toBe(0);
    const untrusted = tranche(['verify', '--public-key', 'other/public.jwk']);
    expect([untrusted.status, untrusted.stdout]).toEqual([1, expect.stringContaining('which is not trusted (trusted: ')]);
  });
});

describe('release of a trancheModule build', () => {
  const info = { module: 'search', version: '1.2.0', entry: 'index.js' };

  it('takes module, version and entry from its tranche-release.json, and flags that agree', async () => {
    const dir = await writeBuild(root, 'built', { 'index.js': 'export const x = 1;', 'tranche-release.json': JSON.stringify(info) });
    const run = tranche(['release', dir]);
    expect([run.status, run.stdout]).toEqual([0, expect.stringContaining('released search@1.2.0')]);
    expect(tranche(['release', dir, '--module', 'search', '--version', '1.2.0']).status).toBe(0);
  });

  it('refuses a flag that contradicts it (exit 2), naming both', async () => {
    const dir = await writeBuild(root, 'built2', { 'index.js': 'export const x = 2;', 'tranche-release.json': JSON.stringify(info) });
    const run = tranche(['release', dir, '--version', '2.0.0']);
    expect([run.status, run.stderr]).toEqual([
      2,
      `tranche: --version 2.0.0 contradicts ${join(dir, 'tranche-release.json')}, which says "1.2.0": ` +
        'rebuild the module as 2.0.0, or drop --version\n',
    ]);
  });

  it('refuses a tranche-release.json that is not one (exit 1), naming the field', async () => {
    const dir = await writeBuild(root, 'built3', { 'index.js': 'x', 'tranche-release.json': JSON.stringify({ ...info, version: 'v1' }) });
    const run = tranche(['release', dir]);
    expect([run.status, run.stderr]).toEqual([
      1,
      expect.stringMatching(/tranche-release\.json is invalid:\n\s+version: expected a semver version such as 1\.2\.3, got "v1"/),
    ]);
  });
});
