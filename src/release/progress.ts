/**
 * A one-line progress bar on stderr, drawn only on a terminal and only for work large enough to
 * take noticeable time. Elsewhere (CI logs, pipes) nothing, or with `lines`, a plain line at each
 * tenth of the work, which a log can show.
 */
import type { ProgressListener } from './ingest.js';

/** Builds smaller than this finish before a bar would be readable. */
const MIN_FILES = 500;
const REDRAW_MS = 80;
const WIDTH = 30;

/** A listener drawing `label [####----] done/total`, and a function that clears the line. */
export function progressBar(
  label: string,
  { unit = 'files', lines = false, stream = process.stderr }: { unit?: string; lines?: boolean; stream?: NodeJS.WriteStream } = {},
): { onProgress?: ProgressListener; done: () => void } {
  if (!stream.isTTY) return lines ? plainLines(label, unit, stream) : { done: () => undefined };
  let drawn = 0;
  let shown = false;
  const onProgress: ProgressListener = (done, total) => {
    if (total < MIN_FILES || (Date.now() - drawn < REDRAW_MS && done < total)) return;
    drawn = Date.now();
    shown = true;
    const filled = Math.round((done / total) * WIDTH);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} ${unit}`);
  };
  return {
    onProgress,
    done: () => {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}

function plainLines(label: string, unit: string, stream: NodeJS.WriteStream): { onProgress: ProgressListener; done: () => void } {
  let tenth = 0;
  return {
    onProgress: (done, total) => {
      if (total < MIN_FILES) return;
      const reached = Math.floor((done / total) * 10);
      if (reached <= tenth && done < total) return;
      tenth = reached;
      stream.write(`${label}: ${done}/${total} ${unit}\n`);
    },
    done: () => undefined,
  };
}
