/**
 * Paths inside a release. A manifest or record is data from the network: a path in it must
 * never name a place outside its release (`..`), another origin (`https://…`, `//host`), the
 * root (`/etc`), or anything a browser or file system might normalise into one of those
 * (backslashes, percent escapes, dot segments).
 */

/** Characters allowed in one path segment: what bundlers emit, nothing that URL-decodes. */
const SEGMENT = /^[A-Za-z0-9._~@+=,-]+$/;
const MAX_PATH_LENGTH = 512;

/** Why `path` is not a safe release-relative path, or `null` when it is. */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return 'names a scheme (another origin)';
  if (path.includes('%')) return 'contains a percent escape';
  for (const segment of path.split('/')) {
    if (segment === '..') return 'contains ".." (escapes its release)';
    if (segment === '.' || segment === '') return 'contains an empty or "." segment';
    if (segment.startsWith('.')) return `has a segment ${JSON.stringify(segment)} starting with "." (a hidden file or folder)`;
    if (!SEGMENT.test(segment)) return `has a segment ${JSON.stringify(segment)} with characters outside [A-Za-z0-9._~@+=,-]`;
  }
  return null;
}
