/**
 * Past one machine (issue 15): two `tranche collect` processes, started through the real CLI,
 * share a fleet's traffic (test/support/fleetSim.ts, split by client) and a real Prometheus
 * (Debian's package) scrapes both. `tranche advance --metrics prometheus=<url>` must decide what
 * `advance --metrics <file>` decides over the same traffic in one collector's embedded SQLite,
 * on the same figures.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCliService, type CliService } from '../support/cli.js';
import { postAll, tickBatches } from '../support/fleetSim.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore | undefined;
let services: CliService[] = [];
let prometheus: RunningPrometheus | undefined;

afterEach(async () => {
  await prometheus?.stop();
  await Promise.all(services.map((s) => s.stop()));
  await t?.remove();
  [prometheus, services, t] = [undefined, [], undefined];
});

/** A decision as `advance --json` prints it, without what differs between two runs a moment apart: its time and the windows' ends. */
function comparable(line: string): unknown {
  const {
    time: _time,
    figures,
    ...decision
  } = JSON.parse(line) as {
    time: string;
    figures: { window: { from: number }; stepWindow: { from: number } };
  };
  return { ...decision, figures: { ...figures, window: figures.window.from, stepWindow: figures.stepWindow.from } };
}

describe('Prometheus scraping two collectors', () => {
  it('gives the decision the embedded SQLite gives for the same traffic, on the same figures', async () => {
    t = await createTestStore();
    await t.release('cart', '1.0.0');
    await t.release('cart', '2.0.0');
    await t.store.promote('cart', '1.0.0');
    const keyFile = join(t.root, 'private.jwk');
    writeFileSync(keyFile, JSON.stringify(t.privateKey));
    const cli = (store: string, ...args: string[]) => runCli(['--store', store, '--key', keyFile, ...args]);

    const collect = (db: string) => startCliService(['collect', '--port', '0', '--db', join(t!.root, db)]);
    const [a, b, all] = await Promise.all([collect('a.sqlite'), collect('b.sqlite'), collect('all.sqlite')]);
    services = [a, b, all];
    prometheus = await startPrometheus([a, b].map((s) => new URL(s.url).host));
    await expect.poll(() => prometheus!.value('sum(up{job="tranche"})'), { timeout: 30_000 }).toBe(2);

    expect(cli(t.dir, 'rollout', 'cart@2.0.0', '--plan', '10,100', '--step', '2s')).toMatchObject({ status: 0 });
    // Two stores in the same state: each analysis publishes its own decision.
    const viaPrometheus = join(t.root, 'store-prometheus');
    cpSync(t.dir, viaPrometheus, { recursive: true });

    // A canary with three times the stable's runtime error rate; each client posts to one of the two collectors.
    const batches = tickBatches({ seed: 15, clients: 600, loadsPerTick: 15, canaryErrorFactor: 3 }, 10, Date.now());
    const bodies = (half: number) => batches.filter((_, i) => i % 2 === half).map((batch) => batch.body);
    await postAll(a.url, bodies(0));
    await postAll(b.url, bodies(1));
    await postAll(
      all.url,
      batches.map((batch) => batch.body),
    );
    const figures = (url: string) =>
      fetch(`${url}api/figures`)
        .then((res) => res.json())
        .then(({ figures }: { figures: Array<{ pageLoads: number }> }) => figures.reduce((sum, f) => sum + f.pageLoads, 0));
    const [loadsA, loadsB, loads] = await Promise.all([figures(a.url), figures(b.url), figures(all.url)]);
    expect(loadsA).toBeGreaterThan(0);
    expect(loadsB).toBeGreaterThan(0);
    expect(loadsA + loadsB).toBe(loads);
    // Prometheus has scraped both collectors since the last batch.
    await expect.poll(() => prometheus!.value('sum(tranche_page_loads_total)'), { timeout: 30_000 }).toBe(loads);

    const sqlite = cli(t.dir, 'advance', '--metrics', join(t.root, 'all.sqlite'), '--json');
    const promql = cli(viaPrometheus, 'advance', '--metrics', `prometheus=${prometheus.url}`, '--json');
    expect(sqlite).toMatchObject({ status: 0, stderr: '' });
    expect(promql).toMatchObject({ status: 0, stderr: '' });
    const decisions = [sqlite, promql].map((run) => run.stdout.trim().split('\n'));
    expect(decisions.map((lines) => lines.length)).toEqual([1, 1]);
    expect(JSON.parse(decisions[0]![0]!)).toMatchObject({ outcome: 'Failed', action: 'rollback', module: 'cart', version: '2.0.0' });
    expect(comparable(decisions[1]![0]!)).toEqual(comparable(decisions[0]![0]!));
    for (const store of [t.dir, viaPrometheus])
      expect(JSON.parse(cli(store, 'status', '--json').stdout).modules.cart).toMatchObject({
        stable: '1.0.0',
        rollouts: [],
        blocked: ['2.0.0'],
      });
  }, 180_000); // three collector processes, Prometheus and five CLI runs on a busy 2-core machine
});
