/**
 * A one-line progress bar on stderr, drawn only on a terminal (never into logs or pipes) and
 * only for builds large enough to take noticeable time.
 */
import type { ProgressListener } from './ingest.js';

/** Builds smaller than this finish before a bar would be readable. */
const MIN_FILES = 500;
const REDRAW_MS = 80;
const WIDTH = 30;

/** A listener drawing `label [####----] done/total`, and a function that clears the line. */
export function progressBar(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): { onProgress?: ProgressListener; done: () => void } {
  if (!stream.isTTY) return { done: () => undefined };
  let drawn = 0;
  let shown = false;
  const onProgress: ProgressListener = (done, total) => {
    if (total < MIN_FILES || (Date.now() - drawn < REDRAW_MS && done < total)) return;
    drawn = Date.now();
    shown = true;
    const filled = Math.round((done / total) * WIDTH);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} files`);
  };
  return {
    onProgress,
    done: () => {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
