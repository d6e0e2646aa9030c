/**
 * 8. Ramp plans on a simulated fleet (test/support/fleetSim.ts; docs/progressive-rollouts.md):
 * over 200 seeded runs per scenario through `decide` (the rule `advance` applies), the share of
 * runs where the analysis got it wrong, and how many seeds sent as real telemetry batches over
 * HTTP to a real collector, advanced by the real store, reached a different decision than the
 * model for the same traffic (at a smaller fleet: a full-size run posts tens of thousands of batches).
 */
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { runHttp, runModel, type FleetRun } from '../../support/fleetSim.js';

const RUNS = 200;

function share(runs: FleetRun[], wrong: (r: FleetRun) => boolean): number {
  return (100 * runs.filter(wrong).length) / runs.length;
}

export const rampPlans: Measure = {
  title: 'ramp plans on a simulated fleet',
  async run(env: BenchEnv): Promise<Figure[]> {
    const seeds = Array.from({ length: RUNS }, (_, i) => i + 1);
    const figure = (name: string, value: number, goal: number, unit = '%'): Figure => ({ name, value, unit, goal, baseline: null });
    const doubled = seeds.map((seed) => runModel({ seed, canaryErrorFactor: 2 }));
    const equal = seeds.map((seed) => runModel({ seed }));
    const quiet = seeds.map((seed) => runModel({ seed, clients: 30, loadsPerTick: 1 }));
    const mismatch = seeds.map((seed) => runModel({ seed, canaryDelivery: 0.5 }));
    const httpSeeds = seeds.slice(0, env.rounds(20, 2));
    env.log(`ramp plans: ${httpSeeds.length * 2} runs over HTTP`);
    let differing = 0;
    for (const seed of httpSeeds) {
      for (const factor of [1, 2]) {
        const scenario = { seed, clients: 100, loadsPerTick: 10, errorRate: 0.15, bootFailureRate: 0.005, canaryErrorFactor: factor };
        const [model, http] = [runModel(scenario), await runHttp(scenario)];
        if (JSON.stringify({ ...model, outcomes: ['Started', ...model.outcomes] }) !== JSON.stringify(http)) differing++;
      }
    }
    return [
      figure(
        `2x error rate: runs NOT halted before 25% (of ${RUNS})`,
        share(doubled, (r) => !(r.state === 'failed' && r.maxPercent < 25)),
        5,
      ),
      figure(
        `equal canary: runs with a false halt or not completed (of ${RUNS})`,
        share(equal, (r) => r.state !== 'completed'),
        1,
      ),
      figure(
        `too little traffic: runs promoted or not paused Inconclusive (of ${RUNS})`,
        share(quiet, (r) => r.state !== 'paused' || r.outcomes.at(-1) !== 'Inconclusive'),
        0,
      ),
      figure(
        `sample-ratio mismatch: runs not paused for it (of ${RUNS})`,
        share(mismatch, (r) => r.outcomes.at(-1) !== 'SampleRatioMismatch'),
        0,
      ),
      figure(`HTTP runs (real batches, collector, store) deciding unlike the model (of ${httpSeeds.length * 2})`, differing, 0, 'runs'),
    ];
  },
};
