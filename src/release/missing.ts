/** The one place that turns "no such file" into a value: every reader of optional files uses it. */

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/** True for a file-system error saying the path does not exist (or runs through a non-directory). */
export function isMissing(err: unknown): boolean {
  return MISSING.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** What `pending` resolves to, or `fallback` when it fails because the path does not exist. */
export async function unlessMissing<T, F = null>(pending: Promise<T>, fallback: F = null as F): Promise<T | F> {
  try {
    return await pending;
  } catch (err) {
    if (isMissing(err)) return fallback;
    throw err;
  }
}
