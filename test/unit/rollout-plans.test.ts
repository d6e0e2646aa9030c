/**
 * Ramp plans and their analysis on a simulated fleet (test/support/fleetSim.ts). The 200-run
 * rates are measured through `decide` (the rule `advance` applies) on seeded traffic; the same
 * traffic sent as real batches over HTTP to a real collector and advanced by the real store
 * reaches the very same decisions with the very same figures (checked on a few seeds here, on
 * more in `npm run bench`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../../src/collector/index.js';
import { openMetricsSource } from '../../src/release/metricsSource.js';
import { parseDuration, parseSteps } from '../../src/release/plans.js';
import { runHttp, runModel, type FleetScenario } from '../support/fleetSim.js';
import { runCli } from '../support/cli.js';
import { openStore } from '../../src/release/index.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);
const share = (runs: unknown[], total: number) => runs.length / total;

describe('ramp plan analysis on a simulated fleet (200 seeded runs each)', () => {
  it('halts a canary with twice the stable runtime error rate before the plan reaches 25% in at least 95% of runs', () => {
    const runs = SEEDS.map((seed) => runModel({ seed, canaryErrorFactor: 2 }));
    const halted = runs.filter((r) => r.state === 'failed' && r.maxPercent < 25);
    expect(share(halted, runs.length)).toBeGreaterThanOrEqual(0.95);
    expect(runs.every((r) => r.state !== 'completed')).toBe(true);
  });

  it('completes the plan with no false halt for a canary equal to the stable in at least 99% of runs', () => {
    const runs = SEEDS.map((seed) => runModel({ seed }));
    const completed = runs.filter((r) => r.state === 'completed' && !r.outcomes.includes('Failed'));
    expect(share(completed, runs.length)).toBeGreaterThanOrEqual(0.99);
  });

  it('ends Inconclusive and pauses, never promoting, when there is too little traffic', () => {
    const runs = SEEDS.slice(0, 50).map((seed) => runModel({ seed, clients: 30, loadsPerTick: 1 }));
    for (const r of runs) {
      expect(r).toMatchObject({ state: 'paused', percent: 1, maxPercent: 1 });
      expect(r.outcomes).toEqual(['Inconclusive', 'Inconclusive', 'Inconclusive']);
      expect(r.reason).toMatch(/page loads this step, 200 needed per arm after 2 extensions; paused/);
    }
  });

  it('catches a sample-ratio mismatch (half the clients the manifest sends to the canary never get it) and pauses', () => {
    const runs = SEEDS.slice(0, 50).map((seed) => runModel({ seed, canaryDelivery: 0.5 }));
    for (const r of runs) {
      expect(r.state).toBe('paused');
      expect(r.outcomes.at(-1)).toBe('SampleRatioMismatch');
      expect(r.reason).toMatch(/^sample-ratio mismatch: the canary has [\d.]+% of the two arms' active clients/);
    }
  });
});

describe('the same traffic as real batches over HTTP, advanced by the real store', () => {
  // Higher error rates, so a few hundred clients decide within minutes of simulated time and the
  // run posts a few thousand batches, not tens of thousands.
  const small: Omit<FleetScenario, 'seed'> = { clients: 100, loadsPerTick: 10, errorRate: 0.15, bootFailureRate: 0.005 };

  it('reaches the decisions of the model with its figures: a doubled error rate rolled back, an equal canary promoted', async () => {
    for (const scenario of [
      { seed: 7, ...small, canaryErrorFactor: 2 },
      { seed: 8, ...small },
    ]) {
      const model = runModel(scenario);
      const http = await runHttp(scenario);
      expect(http).toEqual({ ...model, outcomes: ['Started', ...model.outcomes] });
    }
  });
});

describe('tranche rollout --plan and tranche advance', () => {
  let t: TestStore;
  let collector: RunningCollector;
  const dirs: string[] = [];
  afterEach(async () => {
    await collector?.close();
    await t?.remove();
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it('parses plans and durations, refusing bad ones with one line naming the argument', () => {
    expect(parseSteps('1,5,25,50,100', '--plan')).toEqual([1, 5, 25, 50, 100]);
    expect(parseDuration('2s', '--step')).toBe(2000);
    expect(parseDuration('30m', '--step')).toBe(1_800_000);
    expect(parseDuration('1h', '--step')).toBe(3_600_000);
    expect(() => parseSteps('5,1,100', '--plan')).toThrow('--plan 5,1,100: expected ascending percents');
    expect(() => parseSteps('1,5,50', '--plan')).toThrow('ending at 100');
    expect(() => parseDuration('soon', '--step')).toThrow('--step soon: expected a duration from 1s to 30d');
  });

  it('rolls a bad canary back with no human command, records why in history, and a person’s pause takes precedence', async () => {
    t = await createTestStore();
    await t.release('cart', '1.0.0');
    await t.release('cart', '2.0.0');
    await t.release('cart', '2.1.0');
    await t.store.promote('cart', '1.0.0');
    const keyFile = join(t.root, 'private.jwk');
    writeFileSync(keyFile, JSON.stringify(t.privateKey));
    const thresholdsFile = join(t.root, 'thresholds.json');
    writeFileSync(thresholdsFile, JSON.stringify({ minPageLoads: 20 }));
    const cli = (...args: string[]) => runCli(['--store', t.dir, '--key', keyFile, ...args], { env: { TRANCHE_ACTOR: 'alice' } });
    // The CLI runs synchronously here, so it reads the collector's file (this process cannot answer HTTP meanwhile).
    const db = join(t.root, 'telemetry.sqlite');
    collector = await startCollector({ port: 0, db });

    expect(cli('rollout', 'cart@2.0.0', '--plan', '10,100', '--step', '2s', '--thresholds', thresholdsFile)).toMatchObject({
      status: 0,
      stdout: expect.stringContaining('plan 10,100% started'),
    });
    // A person pauses: advance holds and says so, once; resume restarts the step.
    const alice = openStore(t.dir, { key: t.privateKey as object, actor: 'alice' });
    const source = openMetricsSource(db);
    await alice.pause('cart');
    expect(await alice.advance(source)).toMatchObject([
      { outcome: 'Held', action: 'none', reason: expect.stringContaining('pause by alice') },
    ]);
    expect(await alice.advance(source)).toEqual([]);
    await alice.resume('cart');
    expect(await alice.advance(source)).toMatchObject([{ outcome: 'Resumed' }]);
    source.close();

    // Stable clients healthy, canary clients failing to boot on every page load.
    const now = Date.now();
    const batch = (client: string, version: string, failing: boolean) =>
      JSON.stringify({
        format: 1,
        client,
        events: [
          { id: `${client}-x`, type: 'exposure', time: now, module: 'cart', version },
          failing
            ? { id: `${client}-r`, type: 'rollback', time: now, module: 'cart', version, reason: 'boot-error', to: '1.0.0' }
            : { id: `${client}-h`, type: 'healthy-boot', time: now, module: 'cart', version },
        ],
      });
    for (let i = 0; i < 90; i++) {
      const canary = i % 10 === 0;
      const body = batch(`c${i}`, canary ? '2.0.0' : '1.0.0', canary);
      await fetch(`${collector.url}api/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    }
    const failed = cli('advance', '--metrics', db, '--json');
    expect(failed.status).toBe(0);
    const decision = JSON.parse(failed.stdout);
    expect(decision).toMatchObject({
      outcome: 'Failed',
      action: 'rollback',
      reason: expect.stringMatching(/^boot-failure rate 1\.0000 against the stable's 0\.0000 \(9 of 9 vs 0 of 81\)/),
    });
    expect(decision.figures.tests[0]).toMatchObject({ metric: 'boot-failure rate', failed: true, threshold: 300 });
    const status = JSON.parse(cli('status', '--json').stdout);
    expect(status.modules.cart).toMatchObject({ stable: '1.0.0', rollouts: [], blocked: ['2.0.0'] });
    // Idempotent: nothing more to decide.
    expect(cli('advance', '--metrics', db).stdout).toBe('');
    const history = cli('history', 'cart').stdout;
    expect(history).toMatch(/rollback[^\n]*\n[^\n]*cart: [^\n]*\n\s+tranche advance: Failed: boot-failure rate 1\.0000/);
    expect(history).toContain('Held -> none');
    const health = JSON.parse(cli('status', '--health', '--metrics', db, '--json').stdout);
    expect(health.modules.cart.plan).toMatchObject({ state: 'failed', reason: expect.stringContaining('boot-failure rate') });
    expect(health.modules.cart.versions[0]).toMatchObject({ version: '1.0.0', role: 'stable', pageLoads: 81, healthyBootRate: 1 });
  });

  it('reads the same figures from a collector’s URL and from its SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tranche-source-'));
    dirs.push(dir);
    collector = await startCollector({ port: 0, db: join(dir, 'c.sqlite') });
    const now = Date.now();
    await fetch(`${collector.url}api/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        format: 1,
        client: 'a',
        events: [{ id: '1', type: 'errors', time: now, module: 'cart', version: '1.0.0', count: 3 }],
      }),
    });
    const window = { from: now - 60_000, to: now + 60_000 };
    const fromUrl = openMetricsSource(collector.url);
    const fromFile = openMetricsSource(join(dir, 'c.sqlite'));
    expect(await fromUrl.figures(window)).toEqual(await fromFile.figures(window));
    expect((await fromFile.figures(window))[0]).toMatchObject({ runtimeErrors: 3 });
    fromFile.close();
    expect(() => openMetricsSource(join(dir, 'missing.sqlite'))).toThrow(/collector database .*missing\.sqlite not found/);
  });
});
