/**
 * A simulated fleet for ramp plans, deterministic from a seed: synthetic clients load pages of a
 * module "cart" at a stable (1.0.0) or canary (2.0.0) version, throw runtime errors and fail to
 * boot at chosen rates, and a plan (1,5,25,50,100 every 30 minutes by default) is advanced
 * after every tick of simulated time. Time is simulated (ticks of 15 minutes), never waited for.
 *
 * Two ways to run the same traffic:
 * - `http`: every client posts real telemetry batches (src/core/telemetry.ts) to a real collector
 *   over HTTP, and the real `ReleaseStore.advance` reads it back through `--metrics <url>` and
 *   publishes its decisions in a real store;
 * - `model`: the same clients' counts go straight into `decide` (the rule `advance` applies), so
 *   hundreds of seeded runs take seconds.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_THRESHOLDS, type AnalysisThresholds, type ArmFigures } from '../../src/release/analysis.js';
import { decide, type Plan, type PlanState } from '../../src/release/plans.js';
import { openMetricsSource } from '../../src/release/metricsSource.js';
import { startCollector } from '../../src/collector/index.js';
import type { ModuleState } from '../../src/core/manifest.js';
import type { TelemetryEvent } from '../../src/core/telemetry.js';
import { createTestStore } from './trancheStore.js';

export interface FleetScenario {
  seed: number;
  /** Synthetic clients. @default 6000 */
  clients?: number;
  /** Mean page loads per client per tick. @default 4.5 */
  loadsPerTick?: number;
  /** Runtime errors per page load on the stable. @default 0.02 */
  errorRate?: number;
  /** The canary's runtime error rate as a multiple of the stable's. @default 1 */
  canaryErrorFactor?: number;
  /** Boot failures per page load (both versions). @default 0.001 */
  bootFailureRate?: number;
  /** Share of the clients the manifest puts on the canary that actually get it (1: all). @default 1 */
  canaryDelivery?: number;
  steps?: number[];
  stepMs?: number;
  thresholds?: Partial<AnalysisThresholds>;
}

/** How a run ended. */
export interface FleetRun {
  state: PlanState;
  /** The percent the plan was at when it ended (100 when it completed). */
  percent: number;
  /** The highest percent the canary reached. */
  maxPercent: number;
  outcomes: string[];
  reason?: string;
}

const TICK_MS = 15 * 60_000;
const MAX_TICKS = 40;
const STABLE = '1.0.0';
const CANARY = '2.0.0';

/** mulberry32: a small, fast, seedable generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

/** One client's page loads in one tick. */
interface ClientTick {
  client: number;
  canary: boolean;
  loads: number;
  errors: number;
  bootFailures: number;
}

function trafficOf(s: Required<Omit<FleetScenario, 'thresholds'>>, random: () => number, place: number[], percent: number): ClientTick[] {
  const out: ClientTick[] = [];
  for (let client = 0; client < s.clients; client++) {
    const loads = poisson(random, s.loadsPerTick);
    if (loads === 0) continue;
    const canary = place[client]! < (percent / 100) * s.canaryDelivery;
    const rate = s.errorRate * (canary ? s.canaryErrorFactor : 1);
    out.push({ client, canary, loads, errors: poisson(random, rate * loads), bootFailures: poisson(random, s.bootFailureRate * loads) });
  }
  return out;
}

function withDefaults(s: FleetScenario): Required<Omit<FleetScenario, 'thresholds'>> {
  return {
    clients: 6000,
    loadsPerTick: 4.5,
    errorRate: 0.02,
    canaryErrorFactor: 1,
    bootFailureRate: 0.001,
    canaryDelivery: 1,
    steps: [1, 5, 25, 50, 100],
    stepMs: 30 * 60_000,
    ...s,
  };
}

/** Runs a scenario through `decide` directly. */
export function runModel(scenario: FleetScenario): FleetRun {
  const s = withDefaults(scenario);
  const random = rng(s.seed);
  const place = Array.from({ length: s.clients }, () => random());
  const t0 = 1_800_000_000_000;
  let plan: Plan = {
    format: 1,
    module: 'cart',
    version: CANARY,
    steps: s.steps,
    stepMs: s.stepMs,
    thresholds: { ...DEFAULT_THRESHOLDS, ...scenario.thresholds },
    state: 'running',
    step: 0,
    startedAt: t0,
    stepStartedAt: t0,
    extensions: 0,
    decisions: [],
  };
  let mod: ModuleState = { stable: STABLE, rollouts: [{ version: CANARY, percent: s.steps[0]!, from: 0 }], paused: false, blocked: [] };
  const ticks: TickFigures[] = [];
  const seen = { stamp: 0, marks: new Uint32Array(s.clients) };
  let maxPercent = s.steps[0]!;
  for (let tick = 1; tick <= MAX_TICKS && plan.state === 'running'; tick++) {
    const percent = mod.rollouts[0]?.percent ?? (mod.stable === CANARY ? 100 : 0);
    const now = t0 + tick * TICK_MS;
    ticks.push(tickFigures(now, trafficOf(s, random, place, percent)));
    const arms = (from: number) =>
      armsOf(
        ticks.filter((t) => t.end > from),
        seen,
      );
    const verdict = decide(plan, { now, module: mod, lastChange: null, total: arms(plan.startedAt), step: arms(plan.stepStartedAt) });
    plan = verdict.plan;
    const a = verdict.action;
    if (a.kind === 'rollout') mod = { ...mod, rollouts: [{ version: CANARY, percent: a.percent, from: 0 }] };
    else if (a.kind === 'promote') mod = { ...mod, stable: CANARY, rollouts: [] };
    else if (a.kind === 'rollback') mod = { ...mod, rollouts: [], blocked: [CANARY] };
    else if (a.kind === 'pause') mod = { ...mod, paused: true };
    if (a.kind === 'rollout') maxPercent = Math.max(maxPercent, a.percent);
    if (a.kind === 'promote') maxPercent = 100;
  }
  return summary(plan, maxPercent);
}

/** One tick's sums per arm, and which clients were active on each. */
interface TickFigures {
  end: number;
  sums: { canary: ArmFigures; stable: ArmFigures };
  clients: { canary: number[]; stable: number[] };
}

function tickFigures(end: number, traffic: ClientTick[]): TickFigures {
  const zero = (): ArmFigures => ({ activeClients: 0, pageLoads: 0, bootErrors: 0, runtimeErrors: 0, fallbacks: 0 });
  const sums = { canary: zero(), stable: zero() };
  const clients = { canary: [] as number[], stable: [] as number[] };
  for (const t of traffic) {
    const arm = t.canary ? 'canary' : 'stable';
    const f = sums[arm];
    f.activeClients++;
    f.pageLoads += t.loads;
    f.runtimeErrors += t.errors;
    f.bootErrors += t.bootFailures;
    f.fallbacks += t.bootFailures; // a client whose version fails to boot falls back
    clients[arm].push(t.client);
  }
  return { end, sums, clients };
}

/** Both arms' figures over `ticks`: sums, and distinct active clients (marked with a fresh stamp per arm). */
function armsOf(ticks: TickFigures[], seen: { stamp: number; marks: Uint32Array }): { canary: ArmFigures; stable: ArmFigures } {
  const arm = (name: 'canary' | 'stable'): ArmFigures => {
    const stamp = ++seen.stamp;
    const out: ArmFigures = { activeClients: 0, pageLoads: 0, bootErrors: 0, runtimeErrors: 0, fallbacks: 0 };
    for (const t of ticks) {
      out.pageLoads += t.sums[name].pageLoads;
      out.bootErrors += t.sums[name].bootErrors;
      out.runtimeErrors += t.sums[name].runtimeErrors;
      out.fallbacks += t.sums[name].fallbacks;
      for (const c of t.clients[name])
        if (seen.marks[c] !== stamp) {
          seen.marks[c] = stamp;
          out.activeClients++;
        }
    }
    return out;
  };
  return { canary: arm('canary'), stable: arm('stable') };
}

function summary(plan: Plan, maxPercent: number): FleetRun {
  return {
    state: plan.state,
    percent: plan.steps[plan.step]!,
    maxPercent,
    outcomes: plan.decisions.map((d) => d.outcome),
    ...(plan.reason ? { reason: plan.reason } : {}),
  };
}

/** The batch one client sends for one tick: its page loads, healthy boots, errors and fallbacks. */
function batchOf(t: ClientTick, ids: string[], time: number): string {
  const version = t.canary ? CANARY : STABLE;
  const events: TelemetryEvent[] = [];
  const add = (e: Omit<TelemetryEvent, 'id' | 'time'>) => events.push({ id: randomUUID(), time, ...e });
  for (let i = 0; i < t.loads; i++) add({ type: 'exposure', module: 'cart', version });
  for (let i = 0; i < t.loads - t.bootFailures; i++) add({ type: 'healthy-boot', module: 'cart', version });
  for (let i = 0; i < t.bootFailures; i++) add({ type: 'rollback', module: 'cart', version, reason: 'boot-error', to: STABLE });
  if (t.errors) add({ type: 'errors', module: 'cart', version, count: t.errors });
  return JSON.stringify({ format: 1, client: ids[t.client], sent: time, events });
}

/**
 * One tick of a scenario's traffic with the canary at `percent`: each active client's telemetry
 * batch (events at `time`), with the client's id, so a caller can split the fleet between
 * collectors by client.
 */
export function tickBatches(scenario: FleetScenario, percent: number, time: number): Array<{ client: string; body: string }> {
  const s = withDefaults(scenario);
  const random = rng(s.seed);
  const place = Array.from({ length: s.clients }, () => random());
  const ids = Array.from({ length: s.clients }, (_, i) => `sim-${s.seed}-${i}`);
  return trafficOf(s, random, place, percent).map((c) => ({ client: ids[c.client]!, body: batchOf(c, ids, time) }));
}

/** Runs a scenario end to end: real batches over HTTP to a real collector, the real store's `advance`. */
export async function runHttp(scenario: FleetScenario): Promise<FleetRun> {
  const s = withDefaults(scenario);
  const random = rng(s.seed);
  const place = Array.from({ length: s.clients }, () => random());
  const ids = Array.from({ length: s.clients }, (_, i) => `sim-${s.seed}-${i}`);
  const t = await createTestStore();
  let now = Date.now();
  const collector = await startCollector({ port: 0, db: ':memory:', now: () => now });
  const source = openMetricsSource(collector.url);
  try {
    await t.release('cart', STABLE);
    await t.release('cart', CANARY);
    await t.store.promote('cart', STABLE);
    await t.store.rolloutPlan('cart', CANARY, {
      steps: s.steps,
      stepMs: s.stepMs,
      ...(scenario.thresholds ? { thresholds: scenario.thresholds } : {}),
    });
    now = (await t.store.plans())[0]!.startedAt;
    let maxPercent = s.steps[0]!;
    for (let tick = 1; tick <= MAX_TICKS; tick++) {
      const mod = (await t.store.status()).modules.cart!;
      const percent = mod.rollouts.find((r) => r.version === CANARY)?.percent ?? (mod.stable === CANARY ? 100 : 0);
      maxPercent = Math.max(maxPercent, percent);
      const traffic = trafficOf(s, random, place, percent);
      now += TICK_MS;
      await postAll(
        collector.url,
        traffic.map((c) => batchOf(c, ids, now - TICK_MS / 2)),
      );
      await t.store.advance(source, { now });
      const plan = (await t.store.plans())[0]!;
      if (plan.state !== 'running') {
        const final = (await t.store.status()).modules.cart!;
        return summary(plan, final.stable === CANARY ? 100 : maxPercent);
      }
    }
    return summary((await t.store.plans())[0]!, maxPercent);
  } finally {
    source.close();
    await collector.close();
    await t.remove();
  }
}

/** Posts every body to `url`'s /api/telemetry, 16 at a time; any answer but 200 (or a second network failure) fails the run. */
export async function postAll(url: string, bodies: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const post = () => fetch(`${url}api/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      // A kept-alive connection the server closed meanwhile: sent again, as a worker would (event ids de-duplicate it).
      const res = await post().catch(post);
      if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}
