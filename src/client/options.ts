/**
 * The options of `new Tranche(swUrl, options)`, resolved once (defaults filled in, each value
 * checked) into `ResolvedTrancheOptions`.
 */
import { TrancheError } from '../core/TrancheError.js';
import { isPathPrefix } from '../core/moduleUrl.js';
import { optionProblem } from '../core/optionProblem.js';
import { DEFAULT_MODULE_PREFIX } from '../core/attribution.js';

/** Options of `new Tranche()`. Every field is optional. */
export interface TrancheOptions {
  /**
   * Scope the service worker is registered with.
   * @default the directory of the worker script (the browser's default)
   */
  scope?: string;
  /**
   * Script type of the service worker: `'module'` for a worker written as an ES module.
   * @default 'classic'
   */
  type?: WorkerType;
  /**
   * How long each request to the worker (`ready()`, `state()`, …) waits for an answer before
   * rejecting with a `timeout` error.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Path prefix of module URLs (`<prefix><module>/<version>/<file>`); must equal the worker's
   * `modulePrefix`. Errors are attributed to a module only through URLs under it.
   * @default '/modules/'
   */
  modulePrefix?: string;
  /**
   * When the worker rolls back a version this page runs, reload once into the good snapshot.
   * `false`: only dispatch `rolled-back`, and let the app prompt and call `applyUpdate()`.
   * @default true
   */
  reloadOnRollback?: boolean;
  /**
   * Report uncaught errors, unhandled rejections and failed script loads automatically.
   * `false`: only what the app passes to `reportError()` is reported.
   * @default true
   */
  captureErrors?: boolean;
  /**
   * How long errors are collected before they are sent to the worker as one batch.
   * @default 250
   */
  reportIntervalMs?: number;
  /**
   * Errors described per batch; past it they are only counted, so an error storm costs the
   * page a counter increment per error.
   * @default 100
   */
  reportBudget?: number;
}

/** Options with every default applied. */
export type ResolvedTrancheOptions = Required<Omit<TrancheOptions, 'scope'>> & Pick<TrancheOptions, 'scope'>;

function positive(options: TrancheOptions, key: 'timeoutMs' | 'reportIntervalMs' | 'reportBudget', fallback: number): number {
  const value = options[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TrancheError('invalid-option', { where: 'new Tranche()', problems: [optionProblem(key, 'an integer >= 1', value)] });
  }
  return value;
}

/** Checks `options` and fills in defaults. */
export function resolveTrancheOptions(options: TrancheOptions): ResolvedTrancheOptions {
  const modulePrefix = options.modulePrefix ?? DEFAULT_MODULE_PREFIX;
  if (!isPathPrefix(modulePrefix)) {
    throw new TrancheError('invalid-option', {
      where: 'new Tranche()',
      problems: [optionProblem('modulePrefix', 'a path such as /modules/ (starting and ending with /)', modulePrefix)],
    });
  }
  return {
    ...(options.scope !== undefined && { scope: options.scope }),
    type: options.type ?? 'classic',
    timeoutMs: positive(options, 'timeoutMs', 5000),
    modulePrefix,
    reloadOnRollback: options.reloadOnRollback ?? true,
    captureErrors: options.captureErrors ?? true,
    reportIntervalMs: positive(options, 'reportIntervalMs', 250),
    reportBudget: positive(options, 'reportBudget', 100),
  };
}
