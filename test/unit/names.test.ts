import semverValid from 'semver/functions/valid.js';
import { describe, expect, it } from 'vitest';
import { isVersion } from '../../src/core/names.js';

/** The rule the manifest schema applies: semver prints the version back unchanged. */
const semverSays = (text: string) => semverValid(text) === text;

describe('isVersion', () => {
  it('agrees with semver on hand-picked versions and near misses', () => {
    const cases = [
      '0.0.0',
      '1.2.3',
      '10.20.30',
      '1.0.0-rc.1',
      '1.0.0-0',
      '1.0.0-alpha.0.beta',
      '1.0.0--',
      '1.0.0-0a',
      '1.0.0-x-y.z-1',
      '9007199254740991.0.0',
      '9007199254740992.0.0',
      '1.9007199254740993.0',
      '1.0.0-9007199254740993',
      '1.0.0+b7',
      '1.0.0-rc.1+b7',
      'v1.0.0',
      '=1.0.0',
      ' 1.0.0',
      '1.0.0 ',
      '1.0',
      '1',
      '01.0.0',
      '1.01.0',
      '1.0.01',
      '1.0.0-01',
      '1.0.0-',
      '1.0.0-.a',
      '1.0.0-a..b',
      '1.0.0-a.',
      '1.0.0-ä',
      '1.0.0.0',
      '',
      'latest',
      '1.0.0-a_b',
      `1.0.0-${'a'.repeat(250)}`,
      `1.0.0-${'a'.repeat(251)}`,
    ];
    for (const text of cases) expect(isVersion(text), JSON.stringify(text)).toBe(semverSays(text));
    expect(isVersion('1.0.0-rc.1')).toBe(true);
    expect(isVersion('1.0.0+b7')).toBe(false);
  });

  it('agrees with semver on 20,000 strings assembled at random from the pieces versions are made of', () => {
    // A fixed linear congruential generator: the same strings every run.
    let seed = 42;
    const next = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const pick = <T>(list: readonly T[]) => list[next(list.length)]!;
    const numbers = ['0', '1', '10', '01', '9007199254740991', '9007199254740992', 'a', ''];
    const ids = ['0', '7', '01', 'rc', '0a', 'x-1', '-', '', 'ä'];
    const separators = ['.', '.', '.', '.', '-', '+'];
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      // Mostly well-formed major.minor.patch, then a random tail of identifiers.
      let text = [pick(numbers), pick(numbers), pick(numbers)].join(next(8) === 0 ? pick(separators) : '.');
      for (let n = next(4); n > 0; n--) text += pick(separators) + pick(ids);
      expect(isVersion(text), JSON.stringify(text)).toBe(semverSays(text));
      if (semverSays(text)) valid++;
    }
    // Enough of both kinds for the agreement to mean something.
    expect(valid).toBeGreaterThan(1000);
  });
});
