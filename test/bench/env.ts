/**
 * What every measure gets: the browser, the bundled workers, how many rounds to run, and a way
 * to say what it is doing.
 */
import type { Browser } from 'playwright-core';
import type { Figure } from './figures.js';
import type { WorkerBundles } from './origins.js';

/** The run a measure belongs to. */
export interface BenchEnv {
  browser: Browser;
  bundles: WorkerBundles;
  /** `--quick`: every measure with fewer rounds. */
  quick: boolean;
  /** Rounds to record: `full` normally, `quick` with `--quick`. */
  rounds(full: number, quick: number): number;
  log(message: string): void;
}

/** One benchmark: a title for the log and the function measuring it. */
export interface Measure {
  title: string;
  run(env: BenchEnv): Promise<Figure[]>;
}
