/**
 * The dashboard's endpoints: GET /api/state (the store's status, released versions and the
 * collector's figures) and POST /api/actions, which runs a verb through the same release API
 * the `tranche` CLI calls (tranche/node), so a button does exactly what the command does.
 */
import * as v from 'valibot';
import { MODULE_NAME } from '../src/core/names.js';
import { parseDocument, parseJson } from '../src/core/validate.js';
import { isTrancheError, type PublishResult, type ReleaseStore } from '../src/release/index.js';
import type { Collector } from '../src/collector/index.js';
import { fleetHealth } from '../src/release/health.js';
import type { ActionResult, DashboardAction, DashboardState } from './dashboard/api.js';

const moduleName = v.pipe(v.string('expected a module name'), v.regex(MODULE_NAME, 'expected a module name'));
const version = v.pipe(v.string('expected a version'), v.minLength(1, 'expected a version'));
const actionSchema = v.variant(
  'verb',
  [
    v.object({ verb: v.literal('rollout'), module: moduleName, version, percent: v.number('expected a percentage') }),
    v.object({ verb: v.literal('promote'), module: moduleName, version }),
    v.object({ verb: v.picklist(['pause', 'resume']), module: moduleName }),
    v.object({ verb: v.literal('rollback'), module: moduleName, to: v.optional(version) }),
  ],
  'expected verb rollout, promote, pause, resume or rollback',
);

/** The charts show the last 15 minutes (a walkthrough's worth) in 10-second steps, whatever the data. */
const CHART_WINDOW_MS = 15 * 60_000;
const CHART_BUCKET_MS = 10_000;
/** The tables' figures cover the last hour. */
const FIGURES_WINDOW_MS = 60 * 60_000;

/** What GET /api/state answers. */
export async function dashboardState(store: ReleaseStore, collector: Collector): Promise<DashboardState> {
  const now = collector.now();
  // Windows end at the next bucket's start, so the bucket in progress is included.
  const to = now - (now % CHART_BUCKET_MS) + CHART_BUCKET_MS;
  const chart = { from: to - CHART_WINDOW_MS, to };
  const window = { from: to - FIGURES_WINDOW_MS, to };
  const [status, plans] = await Promise.all([store.status(), store.plans()]);
  const stats = collector.figures(window);
  return {
    status,
    released: Object.fromEntries(Object.entries(await store.releases()).map(([module, versions]) => [module, versions.reverse()])),
    stats,
    health: fleetHealth(status, stats, window, plans),
    timeline: collector.timeline(chart, CHART_BUCKET_MS),
    chart: { ...chart, bucketMs: CHART_BUCKET_MS },
    figuresWindowMs: FIGURES_WINDOW_MS,
    rejections: collector.rejections({ from: to - FIGURES_WINDOW_MS, to }),
    plans,
  };
}

function run(store: ReleaseStore, action: DashboardAction): Promise<PublishResult> {
  switch (action.verb) {
    case 'rollout':
      return store.rollout(action.module, action.version, action.percent);
    case 'promote':
      return store.promote(action.module, action.version);
    case 'pause':
      return store.pause(action.module);
    case 'resume':
      return store.resume(action.module);
    case 'rollback':
      return store.rollback(action.module, action.to === undefined ? {} : { to: action.to });
  }
}

/**
 * Runs the action in `body` (JSON). Status 200 with what the release code did, or 400 with the
 * reason it refused (a bad body, a paused module, a blocked version: the CLI's own messages).
 */
export async function dashboardAction(store: ReleaseStore, body: string): Promise<{ status: number; body: ActionResult }> {
  try {
    const action = parseDocument(actionSchema, parseJson(body, 'action'), 'action') as DashboardAction;
    return { status: 200, body: await run(store, action) };
  } catch (err) {
    if (isTrancheError(err)) return { status: 400, body: { error: err.message } };
    throw err;
  }
}
