/** Release-relative paths: what a manifest or record may name, and why anything else is refused. */
import { describe, expect, it } from 'vitest';
import { unsafePathReason } from '../../src/core/paths.js';

describe('unsafePathReason', () => {
  it.each(['index.js', 'assets/chunk-3f2a.js', '@scope/pkg/x.mjs', 'a/b/c/d.e.js', 'a..b.js', 'img/logo@2x.png', `${'a'.repeat(509)}.js`])(
    'accepts %j',
    (path) => {
      expect(unsafePathReason(path)).toBeNull();
    },
  );

  it.each([
    ['', 'is empty'],
    [`${'a'.repeat(510)}.js`, 'is longer than 512 characters'],
    ['assets\\x.js', 'contains a backslash'],
    ['/etc/passwd', 'is absolute'],
    ['//evil.example/x.js', 'is absolute'],
    ['https://evil.example/x.js', 'names a scheme (another origin)'],
    ['javascript:alert(1)', 'names a scheme (another origin)'],
    ['C:/x.js', 'names a scheme (another origin)'],
    ['%2e%2e/x.js', 'contains a percent escape'],
    ['a/../../x.js', 'contains ".." (escapes its release)'],
    ['..', 'contains ".." (escapes its release)'],
    ['./x.js', 'contains an empty or "." segment'],
    ['a//x.js', 'contains an empty or "." segment'],
    ['assets/', 'contains an empty or "." segment'],
    ['.env', 'has a segment ".env" starting with "." (a hidden file or folder)'],
    ['a b.js', 'has a segment "a b.js" with characters outside [A-Za-z0-9._~@+=,-]'],
    ['ä.js', 'has a segment "ä.js" with characters outside [A-Za-z0-9._~@+=,-]'],
    ['x.js?v=1', 'has a segment "x.js?v=1" with characters outside [A-Za-z0-9._~@+=,-]'],
  ])('refuses %j: it %s', (path, reason) => {
    expect(unsafePathReason(path)).toBe(reason);
  });
});
