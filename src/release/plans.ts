/**
 * Ramp plans (docs/progressive-rollouts.md): `rollout cart@2.0.0 --plan 1,5,25,50,100 --step 30m`
 * keeps a plan at `plans/<module>.json` in the store (clients never read it), and `advance`
 * evaluates every plan: `decide` is the pure rule, `advancePlans` reads the figures, publishes
 * what it decided through the same verbs a person uses, and records every decision with its
 * figures. A person's pause, resume, rollback, promote or rollout takes precedence: the plan
 * holds, resumes or stops, and says so.
 */
import * as v from 'valibot';
import { TrancheError } from '../core/TrancheError.js';
import type { ModuleState } from '../core/manifest.js';
import { MODULE_NAME } from '../core/names.js';
import { parseDocument, parseJson } from '../core/validate.js';
import {
  DEFAULT_THRESHOLDS,
  guardrailTests,
  srmTest,
  type AnalysisThresholds,
  type ArmFigures,
  type MetricTest,
  type SrmTest,
} from './analysis.js';
import type { HistoryEntry } from './history.js';
import type { VersionFigures } from '../collector/Collector.js';
import { utf8, type StoreBackend } from './StoreBackend.js';

const PLANS = 'plans/';
/** `plans/<module>.json`: the module's ramp plan. */
function planPath(module: string): string {
  return `${PLANS}${module}.json`;
}

/** Decisions kept in a plan document (the oldest are dropped past it; history keeps those that published). */
const MAX_DECISIONS = 200;

export type PlanState = 'running' | 'paused' | 'completed' | 'failed' | 'stopped';
type Outcome = 'Started' | 'Successful' | 'Failed' | 'Inconclusive' | 'SampleRatioMismatch' | 'Held' | 'Resumed' | 'Stopped' | 'Completed';

/** What the analysis saw when it decided. */
interface DecisionFigures {
  /** The tests' window (since the plan started) and the step's (sample sizes, sample ratio), epoch ms. */
  window: { from: number; to: number };
  stepWindow: { from: number; to: number };
  canary: ArmFigures;
  stable: ArmFigures;
  stepCanary: ArmFigures;
  stepStable: ArmFigures;
  tests: MetricTest[];
  srm: SrmTest;
}

/** One decision of a plan. */
export interface Decision {
  time: string;
  module: string;
  version: string;
  outcome: Outcome;
  /** What it did: `rollout 5%`, `promote`, `rollback`, `pause`, `extend`, or `none`. */
  action: string;
  reason: string;
  /** The step it was on (index into steps) and that step's percent. */
  step: number;
  percent: number;
  figures?: DecisionFigures;
}

/** A module's ramp plan, as stored. */
export interface Plan {
  format: 1;
  module: string;
  version: string;
  /** Percents, ascending; the last is 100 (reaching it promotes the version). */
  steps: number[];
  stepMs: number;
  thresholds: AnalysisThresholds;
  state: PlanState;
  /** Index of the current step. */
  step: number;
  startedAt: number;
  stepStartedAt: number;
  /** Times the current step was extended for too little traffic. */
  extensions: number;
  reason?: string;
  decisions: Decision[];
}

const positive = (what: string) => v.pipe(v.number(`expected ${what}`), v.finite(`expected ${what}`), v.gtValue(0, `expected ${what} > 0`));
const rateSchema = v.pipe(positive('a rate'), v.maxValue(0.5, 'expected a rate <= 0.5'));
const countSchema = (max: number) =>
  v.pipe(
    v.number('expected a count'),
    v.integer('expected a count'),
    v.minValue(0, 'expected a count'),
    v.maxValue(max, `expected at most ${max}`),
  );

/** A thresholds file: any subset of AnalysisThresholds; unknown fields are refused. */
const thresholdsSchema = v.strictObject({
  falseAlarmRate: v.optional(rateSchema),
  minPageLoads: v.optional(countSchema(10_000_000)),
  inconclusiveLimit: v.optional(countSchema(100)),
  srmFalseAlarmRate: v.optional(rateSchema),
  srmMinClients: v.optional(countSchema(10_000_000)),
});

const planSchema = v.object({
  format: v.literal(1),
  module: v.pipe(v.string(), v.regex(MODULE_NAME, 'expected a module name')),
  version: v.pipe(v.string(), v.minLength(1)),
  steps: v.pipe(v.array(v.pipe(v.number(), v.gtValue(0), v.maxValue(100))), v.minLength(1), v.maxLength(100)),
  stepMs: v.pipe(v.number(), v.integer(), v.minValue(1000)),
  thresholds: v.object({
    falseAlarmRate: rateSchema,
    minPageLoads: countSchema(10_000_000),
    inconclusiveLimit: countSchema(100),
    srmFalseAlarmRate: rateSchema,
    srmMinClients: countSchema(10_000_000),
  }),
  state: v.picklist(['running', 'paused', 'completed', 'failed', 'stopped']),
  step: v.pipe(v.number(), v.integer(), v.minValue(0)),
  startedAt: v.number(),
  stepStartedAt: v.number(),
  extensions: v.pipe(v.number(), v.integer(), v.minValue(0)),
  reason: v.optional(v.string()),
  decisions: v.array(v.looseObject({ time: v.string(), outcome: v.string(), action: v.string(), reason: v.string() })),
});

/** Reads a thresholds file's JSON text (`--thresholds`), with the defaults for what it leaves out. */
export function parseThresholds(text: string, what: string): AnalysisThresholds {
  return { ...DEFAULT_THRESHOLDS, ...parseDocument(thresholdsSchema, parseJson(text, what), what) };
}

/** `30m` → 1,800,000: a whole number of ms, s, m, h or d. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const ms = match ? Number(match[1]) * unit[match[2] as keyof typeof unit] : NaN;
  if (!(ms >= 1000 && ms <= 30 * unit.d))
    throw new TrancheError('invalid-argument', {
      where: `${what} ${text}`,
      problem: `expected a duration from 1s to 30d such as 2s, 30m or 1h`,
    });
  return ms;
}

/** `1,5,25,50,100` → percents, ascending, ending at 100. */
export function parseSteps(text: string, what: string): number[] {
  const steps = text.split(',').map((s) => Number(s.trim()));
  const ok =
    steps.length <= 100 &&
    steps.every((p, i) => Number.isFinite(p) && p > 0 && p <= 100 && Math.round(p * 100) === p * 100 && (i === 0 || p > steps[i - 1]!)) &&
    steps.at(-1) === 100;
  if (!ok)
    throw new TrancheError('invalid-argument', {
      where: `${what} ${text}`,
      problem: `expected ascending percents (0 < p <= 100, steps of 0.01) ending at 100, such as 1,5,25,50,100`,
    });
  return steps;
}

/** The plan of `module`, or null. */
async function readPlan(backend: StoreBackend, module: string): Promise<{ plan: Plan; bytes: Uint8Array } | null> {
  const path = planPath(module);
  const bytes = await backend.read(path);
  if (!bytes) return null;
  return { plan: parseDocument(planSchema, parseJson(utf8(bytes), backend.where(path)), backend.where(path)) as unknown as Plan, bytes };
}

/** Every stored plan, by module. */
export async function readPlans(backend: StoreBackend): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const path of await backend.list(PLANS)) {
    const module = path.slice(PLANS.length, -'.json'.length);
    if (!path.endsWith('.json') || !MODULE_NAME.test(module)) continue;
    const read = await readPlan(backend, module);
    if (read) plans.push(read.plan);
  }
  return plans;
}

export async function writePlan(backend: StoreBackend, plan: Plan): Promise<void> {
  const decisions = plan.decisions.slice(-MAX_DECISIONS);
  await backend.put(planPath(plan.module), `${JSON.stringify({ ...plan, decisions }, null, 2)}\n`);
}

/** Sums the figures of `version` of `module` (zeros when it reported nothing). */
export function armOf(figures: VersionFigures[], module: string, version: string): ArmFigures {
  const f = figures.find((x) => x.module === module && x.version === version);
  return {
    activeClients: f?.activeClients ?? 0,
    pageLoads: f?.pageLoads ?? 0,
    bootErrors: f?.bootErrors ?? 0,
    runtimeErrors: f?.runtimeErrors ?? 0,
    fallbacks: f?.fallbacks ?? 0,
  };
}

/** What `decide` needs besides the plan. */
interface DecideInput {
  now: number;
  /** The module in the current manifest (null: not in it). */
  module: ModuleState | null;
  /** The last published change touching the module, to name who did what. */
  lastChange: HistoryEntry | null;
  /** Figures since the plan started, and since its step started. */
  total: { canary: ArmFigures; stable: ArmFigures };
  step: { canary: ArmFigures; stable: ArmFigures };
}

/** What a plan does next. */
type Action =
  | { kind: 'none' }
  | { kind: 'rollout'; percent: number }
  | { kind: 'promote' }
  | { kind: 'rollback' }
  | { kind: 'pause' }
  | { kind: 'extend' };

/** A decision and the plan after it (the plan is unchanged when nothing is worth recording). */
interface Verdict {
  decision: Decision | null;
  action: Action;
  plan: Plan;
}

function byWhom(change: HistoryEntry | null): string {
  return change ? `${change.verb} by ${change.actor} (manifest ${change.sequence})` : 'a change outside the plan';
}

const percentOf = (plan: Plan) => plan.steps[plan.step]!;

/**
 * The rule a plan follows, given the manifest and the figures: a person's change first, then the
 * sample ratio, then the guardrail tests, then the step's end (docs/progressive-rollouts.md).
 */
export function decide(plan: Plan, input: DecideInput): Verdict {
  const { now, module: mod } = input;
  const at = (outcome: Outcome, action: Action, reason: string, changes: Partial<Plan> = {}, figures?: DecisionFigures): Verdict => {
    const next = { ...plan, ...changes };
    const decision: Decision = {
      time: new Date(now).toISOString(),
      module: plan.module,
      version: plan.version,
      outcome,
      action: describeAction(action),
      reason,
      step: next.step,
      percent: percentOf(next),
      ...(figures ? { figures } : {}),
    };
    return { decision, action, plan: { ...next, decisions: [...plan.decisions, decision] } };
  };
  const none: Action = { kind: 'none' };
  if (plan.state !== 'running' && plan.state !== 'paused') return { decision: null, action: none, plan };

  // A person's change takes precedence.
  const rollout = mod?.rollouts.find((r) => r.version === plan.version);
  if (mod?.stable === plan.version)
    return at('Completed', none, `promoted outside the plan: ${byWhom(input.lastChange)}`, { state: 'completed' });
  if (!rollout) return at('Stopped', none, `no longer rolled out: ${byWhom(input.lastChange)}`, { state: 'stopped' });
  if (rollout.percent !== percentOf(plan))
    return at('Stopped', none, `rolled out to ${rollout.percent}% outside the plan: ${byWhom(input.lastChange)}`, { state: 'stopped' });
  if (mod!.paused) {
    if (plan.state === 'paused') return { decision: null, action: none, plan };
    const last = plan.decisions.at(-1);
    if (last?.outcome === 'Held') return { decision: null, action: none, plan };
    return at('Held', none, `module paused outside the plan: ${byWhom(input.lastChange)}; the plan waits for resume`);
  }
  if (plan.state === 'paused' || plan.decisions.at(-1)?.outcome === 'Held')
    return at('Resumed', none, `resumed: ${byWhom(input.lastChange)}; the step starts over`, {
      state: 'running',
      stepStartedAt: now,
      extensions: 0,
    });

  const t = plan.thresholds;
  const tests = guardrailTests(input.total.canary, input.total.stable, t);
  const stablePercent = 100 - mod!.rollouts.reduce((sum, r) => sum + r.percent, 0);
  const expectedShare = rollout.percent / (rollout.percent + stablePercent);
  const srm = srmTest(input.step.canary.activeClients, input.step.stable.activeClients, expectedShare, t);
  const figures: DecisionFigures = {
    window: { from: plan.startedAt, to: now },
    stepWindow: { from: plan.stepStartedAt, to: now },
    ...input.total,
    stepCanary: input.step.canary,
    stepStable: input.step.stable,
    tests,
    srm,
  };
  const failed = tests.find((x) => x.failed);
  if (failed) {
    const { canary, stable } = failed;
    const reason =
      `${failed.metric} ${canary.rate.toFixed(4)} against the stable's ${stable.rate.toFixed(4)} ` +
      `(${canary.events} of ${canary.exposure} vs ${stable.events} of ${stable.exposure}); ` +
      `statistic ${failed.statistic.toPrecision(4)} >= ${failed.threshold.toPrecision(4)}`;
    return at('Failed', { kind: 'rollback' }, reason, { state: 'failed', reason }, figures);
  }
  if (srm.mismatch) {
    const reason =
      `sample-ratio mismatch: the canary has ${(100 * srm.observedShare).toFixed(1)}% of the two arms' active clients ` +
      `(${srm.canaryClients} of ${srm.canaryClients + srm.stableClients}), expected ${(100 * expectedShare).toFixed(1)}%; ` +
      `statistic ${srm.statistic.toPrecision(4)} >= ${srm.threshold.toPrecision(4)}: clients may not be getting what the manifest says`;
    return at('SampleRatioMismatch', { kind: 'pause' }, reason, { state: 'paused', reason }, figures);
  }
  const stepEnd = plan.stepStartedAt + plan.stepMs * (1 + plan.extensions);
  if (now < stepEnd) return { decision: null, action: none, plan };
  const enough = input.step.canary.pageLoads >= t.minPageLoads && input.step.stable.pageLoads >= t.minPageLoads;
  if (!enough) {
    const { canary, stable } = input.step;
    const sample = `${canary.pageLoads} canary and ${stable.pageLoads} stable page loads this step, ${t.minPageLoads} needed per arm`;
    if (plan.extensions < t.inconclusiveLimit)
      return at(
        'Inconclusive',
        { kind: 'extend' },
        `${sample}; step extended (${plan.extensions + 1} of ${t.inconclusiveLimit})`,
        { extensions: plan.extensions + 1 },
        figures,
      );
    const reason = `${sample} after ${t.inconclusiveLimit} extensions; paused (resume to try again, or promote or roll back by hand)`;
    return at('Inconclusive', { kind: 'pause' }, reason, { state: 'paused', reason }, figures);
  }
  const nextStep = plan.step + 1;
  const worst = tests.reduce((a, b) => (b.statistic > a.statistic ? b : a));
  const largest = `${worst.statistic.toPrecision(4)} of ${worst.threshold.toPrecision(4)}`;
  const why = `no guardrail failed (largest statistic ${largest}, ${worst.metric})`;
  if (plan.steps[nextStep] === 100 || nextStep >= plan.steps.length)
    return at('Successful', { kind: 'promote' }, `${why}; promoted`, { state: 'completed', step: plan.steps.length - 1 }, figures);
  const percent = plan.steps[nextStep]!;
  return at(
    'Successful',
    { kind: 'rollout', percent },
    `${why}; next step ${percent}%`,
    { step: nextStep, stepStartedAt: now, extensions: 0 },
    figures,
  );
}

function describeAction(action: Action): string {
  return action.kind === 'rollout' ? `rollout ${action.percent}%` : action.kind;
}
