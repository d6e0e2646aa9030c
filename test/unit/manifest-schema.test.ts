/**
 * Every document is read through one schema; a bad one fails with one error whose code is
 * `err.name` and whose message lists each problem as `place: expected …, got …`.
 */
import { describe, expect, it } from 'vitest';
import { parseEnvelope, parseJson, parseManifest, parseReleaseRecord } from '../../src/core/validate.js';
import { TrancheError } from '../../src/core/TrancheError.js';
import { caught, validManifest, validRecord } from '../support/documents.js';

// `any`: each case breaks a document on purpose, into shapes its type does not allow.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type Doc = Record<string, any>;
type Case = [name: string, mutate: (doc: Doc) => void, lines: string[]];

/** Asserts `parse` rejects the document with `invalid-document` and exactly `lines`. */
async function expectProblems(parse: () => unknown, what: string, lines: string[]): Promise<void> {
  const err = await caught(parse);
  expect(err).toBeInstanceOf(TrancheError);
  expect(err.name).toBe('invalid-document');
  expect(err.message).toBe(`${what} is invalid:\n  ${lines.join('\n  ')}`);
}

describe('release record', () => {
  it('accepts a valid record and returns it unchanged', () => {
    expect(parseReleaseRecord(validRecord())).toEqual(validRecord());
  });

  it('reads a record written with the former free-text `runtime` field, which nothing reads, without it', () => {
    expect(parseReleaseRecord({ ...validRecord(), runtime: 'shell@>=3' })).toEqual(validRecord());
  });

  it('rejects an unknown format version with unknown-format', async () => {
    const err = await caught(() => parseReleaseRecord({ ...validRecord(), format: 2 }, 'records/cart/2.0.0.json'));
    expect(err.name).toBe('unknown-format');
    expect(err.message).toBe('records/cart/2.0.0.json: unknown format version 2 (this tranche reads format 1)');
  });

  const cases: Case[] = [
    [
      'an absolute path',
      (r) => {
        r.files[1].path = '/etc/passwd';
      },
      ['files[1].path: expected a path inside the release, but it is absolute, got "/etc/passwd"'],
    ],
    [
      'a ".." segment',
      (r) => {
        r.files[1].path = 'assets/../../secret.js';
      },
      ['files[1].path: expected a path inside the release, but it contains ".." (escapes its release), got "assets/../../secret.js"'],
    ],
    [
      'a backslash',
      (r) => {
        r.files[1].path = 'assets\\chunk.js';
      },
      ['files[1].path: expected a path inside the release, but it contains a backslash, got "assets\\\\chunk.js"'],
    ],
    [
      'an entry on another origin (scheme)',
      (r) => {
        r.entry = 'https://evil.example/x.js';
      },
      ['entry: expected a path inside the release, but it names a scheme (another origin), got "https://evil.example/x.js"'],
    ],
    [
      'a protocol-relative path',
      (r) => {
        r.files[0].path = '//evil/x.js';
        r.entry = '//evil/x.js';
      },
      [
        'entry: expected a path inside the release, but it is absolute, got "//evil/x.js"',
        'files[0].path: expected a path inside the release, but it is absolute, got "//evil/x.js"',
      ],
    ],
    [
      'a percent escape',
      (r) => {
        r.files[1].path = 'assets/%2e%2e/x.js';
      },
      ['files[1].path: expected a path inside the release, but it contains a percent escape, got "assets/%2e%2e/x.js"'],
    ],
    [
      'a hidden folder',
      (r) => {
        r.files[1].path = '.vite/manifest.json';
      },
      [
        'files[1].path: expected a path inside the release, ' +
          'but it has a segment ".vite" starting with "." (a hidden file or folder), got ".vite/manifest.json"',
      ],
    ],
    [
      'a duplicate file path',
      (r) => {
        r.files[2].path = 'index.js';
      },
      ['files[2].path: expected each path once, got "index.js"'],
    ],
    [
      'an entry that is not among the files',
      (r) => {
        r.entry = 'main.js';
      },
      ['entry: expected one of the files, got "main.js"'],
    ],
    [
      'no files',
      (r) => {
        r.files = [];
      },
      ['files: expected at least one file, got []'],
    ],
    [
      'a bad semver version',
      (r) => {
        r.version = 'v2.0.0';
      },
      ['version: expected a semver version such as 1.2.3, got "v2.0.0"'],
    ],
    [
      'an upper-case sha256',
      (r) => {
        r.files[0].sha256 = 'A'.repeat(64);
      },
      [`files[0].sha256: expected 64 lower-case hex digits (SHA-256), got "${'A'.repeat(56)}...`],
    ],
    [
      'a negative size',
      (r) => {
        r.files[0].size = -1;
      },
      ['files[0].size: expected a size in bytes (integer >= 0), got -1'],
    ],
    [
      'a content type without a slash',
      (r) => {
        r.files[0].type = 'javascript';
      },
      ['files[0].type: expected a content type such as text/javascript, got "javascript"'],
    ],
    [
      'missing fields',
      (r) => {
        delete r.module;
        delete r.created;
      },
      ['module: expected a value (required field), got nothing', 'created: expected a value (required field), got nothing'],
    ],
    [
      'a requires on itself',
      (r) => {
        r.requires.cart = '^1.0.0';
      },
      ['requires.cart: expected other modules only, got "^1.0.0"'],
    ],
    [
      'a requires that is not a semver range',
      (r) => {
        r.requires.catalog = 'latest';
      },
      ['requires.catalog: expected a semver range such as ^1.2.0, got "latest"'],
    ],
    [
      'a requires on a bad module name',
      (r) => {
        r.requires['Bad Name'] = '^1.0.0';
      },
      ['requires["Bad Name"]: expected a module name matching [a-z0-9][a-z0-9._-]{0,63}, got "Bad Name"'],
    ],
    [
      'an impossible creation time',
      (r) => {
        r.created = '2026-13-45T99:99:99Z';
      },
      ['created: expected an ISO-8601 UTC time such as 2026-01-31T12:00:00.000Z, got "2026-13-45T99:99:99Z"'],
    ],
  ];

  it.each(cases)('rejects %s', async (_name, mutate, lines) => {
    const record: Doc = validRecord();
    mutate(record);
    await expectProblems(() => parseReleaseRecord(record), 'release record', lines);
  });
});

describe('root manifest', () => {
  it('accepts a valid manifest and returns it unchanged', () => {
    expect(parseManifest(validManifest())).toEqual(validManifest());
  });

  it('rejects an unknown format version with unknown-format', async () => {
    const err = await caught(() => parseManifest({ ...validManifest(), format: '1' }));
    expect(err.name).toBe('unknown-format');
    expect(err.message).toBe('manifest: unknown format version "1" (this tranche reads format 1)');
  });

  const cart = (m: Doc) => m.modules.cart;
  const cases: Case[] = [
    [
      'a percentage over 100',
      (m) => {
        cart(m).rollouts[0].percent = 150;
      },
      ['modules.cart.rollouts[0].percent: expected 0..100, got 150'],
    ],
    [
      'a negative percentage',
      (m) => {
        cart(m).rollouts[0].percent = -1;
      },
      ['modules.cart.rollouts[0].percent: expected 0..100, got -1'],
    ],
    [
      'a percentage that is not a multiple of 0.01',
      (m) => {
        cart(m).rollouts[0].percent = 12.345;
      },
      ['modules.cart.rollouts[0].percent: expected a multiple of 0.01, got 12.345'],
    ],
    [
      'a percentage given as a string',
      (m) => {
        cart(m).rollouts[0].percent = '12.5';
      },
      ['modules.cart.rollouts[0].percent: expected a number 0..100, got "12.5"'],
    ],
    [
      'percentages summing over 100',
      (m) => {
        cart(m).rollouts = [
          { version: '2.0.0', percent: 60, from: 0 },
          { version: '2.1.0-beta.1', percent: 50, from: 5000 },
        ];
      },
      [
        'modules.cart.rollouts: expected percentages summing to at most 100, got 110',
        'modules.cart.rollouts[1].from: expected buckets not overlapping rollouts[0] (which ends at 6000), got 5000',
      ],
    ],
    [
      'runs overlapping by one bucket',
      (m) => {
        cart(m).rollouts[1].from = 1249;
      },
      ['modules.cart.rollouts[1].from: expected buckets not overlapping rollouts[0] (which ends at 1250), got 1249'],
    ],
    [
      'a run past bucket 9999',
      (m) => {
        Object.assign(cart(m).rollouts[1], { from: 9999, percent: 0.02 });
      },
      ['modules.cart.rollouts[1].from: expected from + percent*100 <= 10000, got 9999'],
    ],
    [
      'a first bucket of 10000',
      (m) => {
        cart(m).rollouts[1].from = 10000;
      },
      ['modules.cart.rollouts[1].from: expected a first bucket 0..9999, got 10000'],
    ],
    [
      'the same version in two rollouts',
      (m) => {
        Object.assign(cart(m).rollouts[1], { version: '2.0.0', percent: 1 });
      },
      ['modules.cart.rollouts[1].version: expected each version once (duplicate version), got "2.0.0"'],
    ],
    [
      'a rollout of the stable version',
      (m) => {
        cart(m).rollouts[1].version = '1.0.0';
      },
      ['modules.cart.rollouts[1].version: expected a version other than stable, got "1.0.0"'],
    ],
    [
      'a rollout of a version that was never released',
      (m) => {
        cart(m).rollouts[1].version = '3.0.0';
      },
      ['modules.cart.rollouts[1].version: expected a released version (no releases["cart@3.0.0"]), got "3.0.0"'],
    ],
    [
      'a stable version that was never released',
      (m) => {
        m.modules.header.stable = '2.1.0';
      },
      ['modules.header.stable: expected a released version (no releases["header@2.1.0"]), got "2.1.0"'],
    ],
    [
      'a blocked version still rolling out',
      (m) => {
        cart(m).blocked.push('2.0.0');
      },
      ['modules.cart.rollouts[0].version: expected a version that is not blocked, got "2.0.0"'],
    ],
    [
      'a blocked stable version',
      (m) => {
        cart(m).blocked.push('1.0.0');
      },
      ['modules.cart.stable: expected a version that is not blocked, got "1.0.0"'],
    ],
    [
      'a version blocked twice',
      (m) => {
        cart(m).blocked.push('1.9.0');
      },
      ['modules.cart.blocked[1]: expected each version once (duplicate version), got "1.9.0"'],
    ],
    [
      'a bad module name',
      (m) => {
        m.modules['Cart!'] = cart(m);
      },
      ['modules["Cart!"]: expected a module name matching [a-z0-9][a-z0-9._-]{0,63}, got "Cart!"'],
    ],
    [
      'a release key with a bad version',
      (m) => {
        m.releases['cart@x'] = m.releases['cart@1.0.0'];
      },
      ['releases["cart@x"]: expected a key of the form <module>@<semver>, got "cart@x"'],
    ],
    [
      'a release key without a version',
      (m) => {
        m.releases.cart = m.releases['cart@1.0.0'];
      },
      ['releases.cart: expected a key of the form <module>@<semver>, got "cart"'],
    ],
    [
      'a record path outside the store',
      (m) => {
        m.releases['cart@1.0.0'].record = '../records/cart/1.0.0.json';
      },
      [
        'releases["cart@1.0.0"].record: expected a path inside the release, ' +
          'but it contains ".." (escapes its release), got "../records/cart/1.0.0.json"',
      ],
    ],
    [
      'a bad record sha256',
      (m) => {
        m.releases['cart@1.0.0'].sha256 = 'xyz';
      },
      ['releases["cart@1.0.0"].sha256: expected 64 lower-case hex digits (SHA-256), got "xyz"'],
    ],
    [
      'a sequence of 0',
      (m) => {
        m.sequence = 0;
      },
      ['sequence: expected a sequence (integer >= 1), got 0'],
    ],
    [
      'an expiry that is not a time',
      (m) => {
        m.expires = 'tomorrow';
      },
      ['expires: expected an ISO-8601 UTC time such as 2026-01-31T12:00:00.000Z, got "tomorrow"'],
    ],
    [
      'a kill switch that is not a boolean',
      (m) => {
        m.killSwitch = 'no';
      },
      ['killSwitch: expected true or false, got "no"'],
    ],
    [
      'a module without paused',
      (m) => {
        delete cart(m).paused;
      },
      ['modules.cart.paused: expected a value (required field), got nothing'],
    ],
    [
      'an empty seed',
      (m) => {
        m.modules.header.seed = '';
      },
      ['modules.header.seed: expected a non-empty seed, got ""'],
    ],
    [
      'modules that is not an object',
      (m) => {
        m.modules = null;
      },
      ['modules: expected an object, got null'],
    ],
  ];

  it.each(cases)('rejects %s', async (_name, mutate, lines) => {
    const manifest: Doc = validManifest();
    mutate(manifest);
    await expectProblems(() => parseManifest(manifest), 'manifest', lines);
  });

  it('names the document it was given', async () => {
    await expectProblems(() => parseManifest(null, 'https://cdn.example/app/manifest.json'), 'https://cdn.example/app/manifest.json', [
      '(document): expected an object, got null',
    ]);
  });
});

describe('envelope and JSON', () => {
  it('rejects an envelope whose signature is not base64url', async () => {
    await expectProblems(() => parseEnvelope({ format: 1, keyId: 'k', signature: 'a+b/c=', payload: '{}' }), 'manifest envelope', [
      'signature: expected a base64url signature, got "a+b/c="',
    ]);
  });

  it('names the file that is not JSON', async () => {
    const err = await caught(() => parseJson('{"format": 1,', 'store/manifest.json'));
    expect(err.name).toBe('invalid-json');
    expect(err.message).toMatch(/^store\/manifest\.json is not valid JSON: /);
  });
});
