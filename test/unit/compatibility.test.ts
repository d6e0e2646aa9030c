import { describe, expect, it } from 'vitest';
import { chooseCompatible, describeUnmet, inRange, unmetRequirements, type Requirements } from '../../src/core/compatibility.js';

/** name@version -> requirements, as release records carry them. */
const records: Record<string, Requirements> = {
  'cart@2.0.0': { catalog: '^2.0.0' },
  'cart@2.2.0': { catalog: '^1.1.0' },
  'cart@1.0.0': { catalog: '^1.0.0' },
  'catalog@1.2.0': { cart: '^2.2.0' },
  'app@1.0.0': { react: '^18.2.0' },
};
const requirementsOf = (name: string, version: string) => records[`${name}@${version}`];

describe('unmetRequirements', () => {
  it('names every requirement a combination breaks, with what it gets instead', () => {
    const unmet = unmetRequirements({ cart: '2.0.0', catalog: '1.0.0' }, requirementsOf);
    expect(unmet).toEqual([{ name: 'cart', version: '2.0.0', requires: 'catalog', range: '^2.0.0', found: '1.0.0' }]);
    expect(describeUnmet(unmet[0]!)).toBe('cart@2.0.0 requires catalog@^2.0.0 (gets catalog@1.0.0)');
    expect(unmetRequirements({ cart: '2.0.0', catalog: '2.3.1' }, requirementsOf)).toEqual([]);
  });

  it('counts a required name missing from the combination as unmet', () => {
    expect(unmetRequirements({ app: '1.0.0' }, requirementsOf)).toEqual([
      { name: 'app', version: '1.0.0', requires: 'react', range: '^18.2.0', found: null },
    ]);
    expect(unmetRequirements({ app: '1.0.0', react: '18.3.1' }, requirementsOf)).toEqual([]);
  });

  it('follows npm semver: a pre-release matches only a range that names its version', () => {
    expect(inRange('2.0.0-beta.1', '^2.0.0')).toBe(false);
    expect(inRange('2.0.0-beta.2', '^2.0.0-beta.1')).toBe(true);
    expect(inRange('1.5.0', '>=1.1.0 <2')).toBe(true);
  });
});

describe('chooseCompatible', () => {
  it('keeps the preferred combination when every range holds', () => {
    expect(chooseCompatible({ cart: ['2.0.0', '1.0.0'], catalog: ['2.0.0', '1.0.0'] }, requirementsOf)).toEqual({
      chosen: { cart: '2.0.0', catalog: '2.0.0' },
      leftOut: [],
    });
  });

  it('moves the module that requires back first (a new cart waits for its catalog)', () => {
    expect(chooseCompatible({ cart: ['2.0.0', '1.0.0'], catalog: ['1.0.0'] }, requirementsOf).chosen).toEqual({
      cart: '1.0.0',
      catalog: '1.0.0',
    });
  });

  it('moves the required module when the one that requires has nothing else (a rolled-back cart takes its catalog along)', () => {
    // catalog 1.2.0 requires cart ^2.2.0; cart fell back to 2.1.0 and has no other candidate.
    expect(chooseCompatible({ cart: ['2.1.0'], catalog: ['1.2.0', '1.0.0'] }, requirementsOf).chosen).toEqual({
      cart: '2.1.0',
      catalog: '1.0.0',
    });
    expect(chooseCompatible({ catalog: ['1.2.0'], cart: ['2.1.0', '2.2.0'] }, requirementsOf).chosen).toEqual({
      catalog: '1.2.0',
      cart: '2.2.0',
    });
  });

  it('leaves out a name none of whose candidates can be met, and says why', () => {
    const choice = chooseCompatible({ cart: ['2.0.0'], catalog: ['1.0.0'] }, requirementsOf);
    expect(choice.chosen).toEqual({ catalog: '1.0.0' });
    expect(choice.leftOut.map(describeUnmet)).toEqual(['cart@2.0.0 requires catalog@^2.0.0 (gets catalog@1.0.0)']);
  });

  it('never returns a combination that breaks a range, whatever the candidates', () => {
    const versions = ['1.0.0', '1.2.0', '2.0.0', '2.2.0'];
    for (let seed = 0; seed < 200; seed++) {
      const pick = (n: number) => versions.filter((_, i) => ((seed * 7 + n * 13) >> i) & 1);
      const choice = chooseCompatible({ cart: pick(1), catalog: pick(2), app: pick(3) }, requirementsOf);
      expect(unmetRequirements(choice.chosen, requirementsOf)).toEqual([]);
    }
  });
});
