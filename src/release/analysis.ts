/**
 * The analysis behind ramp plans (docs/progressive-rollouts.md): a canary against its module's
 * stable version over the same window, on three guardrail metrics, each with a sequential test
 * whose false-alarm rate is stated and holds however often it is looked at.
 *
 * The test. Given both arms' exposures (page loads, or clients), a metric's events split
 * between the arms as a binomial: under "the canary is no worse" each event is the canary's with
 * probability rho = exposure share of the canary. The evidence against it is a mixture
 * likelihood ratio (a mixture SPRT): the average, over rate ratios theta in THETAS, of the
 * likelihood of the split if the canary's rate were theta times the stable's, divided by its
 * likelihood under equal rates. Under equal rates that ratio is a nonnegative martingale with
 * mean 1, so by Ville's inequality the chance it EVER reaches 1/alpha is at most alpha: it may be
 * checked every minute and stop a clearly bad canary early without inflating false alarms.
 */

/** Thresholds of a plan's analysis; defaults in DEFAULT_THRESHOLDS, overridable per plan. */
export interface AnalysisThresholds {
  /** Chance that a canary as good as the stable is ever halted, over the whole plan and all three metrics. */
  falseAlarmRate: number;
  /** Page loads each arm needs in a step before that step can succeed. */
  minPageLoads: number;
  /** Times a step with too little traffic is extended before the plan pauses. */
  inconclusiveLimit: number;
  /** Chance that a correct split of clients is ever flagged as a sample-ratio mismatch. */
  srmFalseAlarmRate: number;
  /** Clients both arms need together before the split is tested. */
  srmMinClients: number;
}

export const DEFAULT_THRESHOLDS: AnalysisThresholds = {
  falseAlarmRate: 0.01,
  minPageLoads: 200,
  inconclusiveLimit: 2,
  srmFalseAlarmRate: 0.001,
  srmMinClients: 100,
};

/** What each arm reported over a window (a subset of the collector's VersionFigures). */
export interface ArmFigures {
  activeClients: number;
  pageLoads: number;
  bootErrors: number;
  runtimeErrors: number;
  fallbacks: number;
}

/** One guardrail metric's test. */
export interface MetricTest {
  metric: 'boot-failure rate' | 'runtime errors per page load' | 'client fallback rate';
  canary: { events: number; exposure: number; rate: number };
  stable: { events: number; exposure: number; rate: number };
  /** The mixture likelihood ratio against "the canary is no worse". */
  statistic: number;
  /** It fails at or above this (the inverse of its share of the false-alarm rate). */
  threshold: number;
  failed: boolean;
}

/** The sample-ratio check: the canary's share of active clients against the plan's. */
export interface SrmTest {
  canaryClients: number;
  stableClients: number;
  expectedShare: number;
  observedShare: number;
  statistic: number;
  threshold: number;
  mismatch: boolean;
}

/** Rate ratios the one-sided mixture averages over (equal weights): from a 20% worse canary to 10x. */
const THETAS = [1.2, 1.5, 2, 3, 5, 10];
/** Share ratios the two-sided SRM mixture averages over. */
const SRM_THETAS = [1 / 3, 1 / 2, 2 / 3, 4 / 5, 5 / 4, 3 / 2, 2, 3];

function logSumExp(xs: number[]): number {
  const max = Math.max(...xs);
  return max === -Infinity ? max : max + Math.log(xs.reduce((sum, x) => sum + Math.exp(x - max), 0));
}

/** Mixture likelihood ratio of `x` of `n` events in an arm whose null share is `rho`, over ratios `thetas`. */
function mixtureRatio(x: number, n: number, rho: number, thetas: readonly number[]): number {
  if (n === 0 || rho <= 0 || rho >= 1) return 1;
  const logs = thetas.map((theta) => {
    const p = (theta * rho) / (theta * rho + 1 - rho);
    return x * Math.log(p / rho) + (n - x) * Math.log((1 - p) / (1 - rho)) - Math.log(thetas.length);
  });
  return Math.exp(logSumExp(logs));
}

const rate = (events: number, exposure: number) => (exposure > 0 ? events / exposure : 0);

/** The three guardrail tests, canary against stable, each at a third of the false-alarm rate. */
export function guardrailTests(canary: ArmFigures, stable: ArmFigures, { falseAlarmRate }: AnalysisThresholds): MetricTest[] {
  const threshold = 3 / falseAlarmRate;
  const metrics: Array<[MetricTest['metric'], keyof ArmFigures, keyof ArmFigures]> = [
    ['boot-failure rate', 'bootErrors', 'pageLoads'],
    ['runtime errors per page load', 'runtimeErrors', 'pageLoads'],
    ['client fallback rate', 'fallbacks', 'activeClients'],
  ];
  return metrics.map(([metric, events, exposure]) => {
    const c = { events: canary[events], exposure: canary[exposure], rate: rate(canary[events], canary[exposure]) };
    const s = { events: stable[events], exposure: stable[exposure], rate: rate(stable[events], stable[exposure]) };
    const rho = c.exposure / (c.exposure + s.exposure || 1);
    const statistic = mixtureRatio(c.events, c.events + s.events, rho, THETAS);
    return { metric, canary: c, stable: s, statistic, threshold, failed: statistic >= threshold && c.rate > s.rate };
  });
}

/** Whether the canary's share of active clients is far from `expectedShare` (0..1) of the two arms. */
export function srmTest(canaryClients: number, stableClients: number, expectedShare: number, t: AnalysisThresholds): SrmTest {
  const n = canaryClients + stableClients;
  const statistic = n < t.srmMinClients ? 1 : mixtureRatio(canaryClients, n, expectedShare, SRM_THETAS);
  const threshold = 1 / t.srmFalseAlarmRate;
  return {
    canaryClients,
    stableClients,
    expectedShare,
    observedShare: n ? canaryClients / n : 0,
    statistic,
    threshold,
    mismatch: statistic >= threshold,
  };
}
