import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openCollector, startCollector, type RunningCollector } from '../../src/collector/index.js';
import { MAX_BATCH_BYTES, MAX_EVENT_COUNT, type TelemetryEvent } from '../../src/core/telemetry.js';
import { chartData } from '../../demo/dashboard/chartData.js';
import { runCli, startCliService } from '../support/cli.js';

const dirs: string[] = [];
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tranche-collector-'));
  dirs.push(dir);
  return join(dir, 'telemetry.sqlite');
}
const running: RunningCollector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const NOW = 1_700_000_000_000;
const all = { from: 0, to: NOW + 3_600_000 };
let seq = 0;
const ev = (e: Omit<TelemetryEvent, 'id' | 'time'> & Partial<TelemetryEvent>): TelemetryEvent => ({
  id: `e${++seq}`,
  time: NOW,
  ...e,
});
const batch = (client: string, events: TelemetryEvent[], extra: object = {}) => JSON.stringify({ format: 1, client, ...extra, events });
const fixedClock = () => openCollector({ db: ':memory:', now: () => NOW });

async function serve(extra: Partial<Parameters<typeof startCollector>[0]> = {}): Promise<RunningCollector> {
  const r = await startCollector({ port: 0, db: ':memory:', ...extra });
  running.push(r);
  return r;
}
const post = (r: RunningCollector, body: string, headers: Record<string, string> = {}) =>
  fetch(`${r.url}api/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('Collector', () => {
  it('per module@version: active clients, page loads, healthy boots, boot and runtime errors, fallbacks by reason, failed stagings', () => {
    const c = fixedClock();
    expect(
      c.ingest(
        batch('a', [
          ev({ type: 'exposure', module: 'cart', version: '2.1.0' }),
          ev({ type: 'healthy-boot', module: 'cart', version: '2.1.0' }),
          ev({ type: 'errors', module: 'cart', version: '2.1.0', count: 3 }),
          ev({ type: 'rollback', module: 'cart', version: '2.1.0', reason: 'runtime-errors', to: '2.0.0' }),
        ]),
      ).status,
    ).toBe(200);
    c.ingest(
      batch('b', [
        ev({ type: 'exposure', module: 'cart', version: '2.1.0' }),
        ev({ type: 'exposure', module: 'cart', version: '2.1.0' }),
        ev({ type: 'rollback', module: 'cart', version: '2.1.0', reason: 'boot-error', to: '2.0.0' }),
        ev({ type: 'staging-failed', module: 'cart', version: '2.2.0', reason: 'integrity' }),
        ev({ type: 'manifest-rejected', reason: 'signature' }),
      ]),
    );
    expect(c.figures(all)).toEqual([
      {
        module: 'cart',
        version: '2.1.0',
        activeClients: 2,
        pageLoads: 3,
        healthyBoots: 1,
        bootErrors: 1,
        runtimeErrors: 3,
        fallbacks: 2,
        fallbackReasons: { 'runtime-errors': 1, 'boot-error': 1 },
        stagingFailures: 0,
      },
      expect.objectContaining({ module: 'cart', version: '2.2.0', pageLoads: 0, stagingFailures: 1 }),
    ]);
    expect(c.rejections(all)).toEqual({ signature: 1 });
    c.close();
  });

  it('counts per time bucket and reads only the window asked for', () => {
    const c = openCollector({ db: ':memory:', now: () => NOW + 60_000 });
    const t0 = NOW;
    c.ingest(
      batch('a', [
        ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: t0 }),
        ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: t0 + 9_999 }),
        ev({ type: 'exposure', module: 'cart', version: '2.0.0', time: t0 + 10_000 }),
        ev({ type: 'errors', module: 'cart', version: '2.0.0', time: t0 + 10_001, count: 4 }),
        ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: t0 - 1 }),
      ]),
    );
    expect(c.timeline({ from: t0, to: t0 + 20_000 })).toEqual([
      { time: t0, type: 'exposure', module: 'cart', version: '1.0.0', n: 2 },
      { time: t0 + 10_000, type: 'errors', module: 'cart', version: '2.0.0', n: 4 },
      { time: t0 + 10_000, type: 'exposure', module: 'cart', version: '2.0.0', n: 1 },
    ]);
    expect(c.figures({ from: t0 + 10_000, to: t0 + 20_000 }).map((f) => [f.version, f.pageLoads, f.runtimeErrors])).toEqual([
      ['2.0.0', 1, 4],
    ]);
    c.close();
  });

  it('drops events it already holds, so a retried batch counts once', () => {
    const c = fixedClock();
    const body = batch('a', [ev({ type: 'errors', module: 'cart', version: '2.1.0', count: 5 })]);
    expect(c.ingest(body).body).toEqual({ accepted: 1, duplicates: 0 });
    expect(c.ingest(body).body).toEqual({ accepted: 0, duplicates: 1 });
    expect(c.figures(all)[0]!.runtimeErrors).toBe(5);
    c.close();
  });

  it('keeps its data across a restart', () => {
    const path = dbPath();
    const first = openCollector({ db: path, now: () => NOW });
    first.ingest(batch('a', [ev({ type: 'exposure', module: 'header', version: '3.0.0' })]));
    first.close();
    const second = openCollector({ db: path, now: () => NOW });
    expect(second.figures(all).map((s) => `${s.module}@${s.version}:${s.activeClients}`)).toEqual(['header@3.0.0:1']);
    second.close();
  });

  it('takes event times relative to the batch’s sent time, so a client with a wrong clock reports in server time', () => {
    const c = fixedClock();
    const skew = 3 * 24 * 3_600_000; // the client's clock is three days ahead
    const body = batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: NOW + skew - 5_000 })], { sent: NOW + skew });
    expect(c.ingest(body).status).toBe(200);
    expect(c.timeline({ from: NOW - 10_000, to: NOW + 10_000 }).map((p) => p.time)).toEqual([NOW - 10_000]);
    c.close();
  });
});

describe('collector bounds (issue 13: items 2, 7, 9)', () => {
  it('refuses counts past MAX_EVENT_COUNT with 400, and a row stored before the bound never makes a read fail', async () => {
    const r = await serve();
    const huge = batch('a', [
      ev({ type: 'errors', module: 'cart', version: '2.1.0', count: 4611686018427387904, time: Date.now() }),
      ev({ type: 'errors', module: 'cart', version: '2.1.0', count: 4611686018427387904, time: Date.now() }),
    ]);
    const res = await post(r, huge);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(`events[0].count: expected a count <= ${MAX_EVENT_COUNT}`);
    expect(
      (await post(r, batch('a', [ev({ type: 'errors', module: 'cart', version: '2.1.0', count: MAX_EVENT_COUNT, time: Date.now() })])))
        .status,
    ).toBe(200);

    // A file written by an older collector: two rows whose sum overflows a 64-bit integer.
    const path = dbPath();
    openCollector({ db: path }).close();
    const raw = new Database(path);
    const insert = raw.prepare("INSERT INTO counts VALUES (?, 'cart', '2.1.0', 'errors', '', 4611686018427387904)");
    insert.run(NOW);
    insert.run(NOW + 10_000);
    raw.close();
    const c = openCollector({ db: path, now: () => NOW });
    expect(c.figures(all)[0]!.runtimeErrors).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(c.timeline(all)).toHaveLength(2);
    c.close();
  });

  it('refuses event times outside a window around its clock, and the chart’s axis is the recent window whatever the data', async () => {
    const r = await serve();
    const now = Date.now();
    for (const time of [now + 30 * 365 * 86_400_000, now + 1000 * 365 * 86_400_000, now - 8 * 86_400_000]) {
      const res = await post(r, batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0', time })]));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/events\[0\]\.time is \d+ ms (after|before) the collector's clock/);
    }
    expect(r.collector.figures({ from: 0, to: Number.MAX_SAFE_INTEGER })).toEqual([]);

    // The chart spans its window in fixed buckets: a point outside it (from a file written before
    // the bound) neither stretches the axis nor adds buckets.
    const chart = { from: now - 15 * 60_000, to: now, bucketMs: 10_000 };
    const inside = { time: now - 20_000, type: 'exposure', module: 'cart', version: '1.0.0', n: 2 };
    const outlier = { ...inside, time: now + 1000 * 365 * 86_400_000 };
    const { data, labels } = chartData('cart', { chart, timeline: [inside, outlier] });
    expect(labels).toEqual(['1.0.0']);
    expect(data[0]).toHaveLength(90);
    expect(data[0][0]).toBe(chart.from / 1000);
    expect(data[1]!.reduce((a, b) => a + b, 0)).toBe(2);
    expect(chartData('cart', { chart, timeline: [] }).data[0]).toHaveLength(90);
  });

  it('answers deeply nested JSON, oversized and 10,000-event batches with 400/413 and a reason, never a 500', async () => {
    const r = await serve();
    const nest = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
    const deep = `{"format":1,"client":"a","events":[{"id":"x","type":"exposure","time":1,"module":${nest}}]}`;
    const nested = await post(r, deep);
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { error: string }).error).toBe('telemetry batch is not valid JSON: nested deeper than 64 levels');

    const many = batch(
      'a',
      Array.from({ length: 10_000 }, () => ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: Date.now() })),
    );
    const tooMany = await post(r, many);
    expect(tooMany.status).toBe(413);
    expect(((await tooMany.json()) as { error: string }).error).toMatch(/over the limit of 262144/);
    const tooManySmall = await post(r, JSON.stringify({ format: 1, client: 'a', events: new Array(10_000).fill({}) }));
    expect(tooManySmall.status).toBe(400);
    expect(((await tooManySmall.json()) as { error: string }).error).toContain('events: expected at most 500 events');
    expect((await post(r, 'x'.repeat(MAX_BATCH_BYTES + 1))).status).toBe(413);
    expect((await post(r, '{"format":1,')).status).toBe(400);
    // Still serving, nothing counted from the refused bodies.
    expect((await post(r, batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: Date.now() })]))).status).toBe(200);
    expect(r.collector.figures({ from: 0, to: Date.now() + 60_000 })).toMatchObject([{ pageLoads: 1 }]);
  });

  it('counts concurrent posts of overlapping batches exactly once per event id', async () => {
    const r = await serve({ db: dbPath() });
    const events = Array.from({ length: 400 }, () => ev({ type: 'errors', module: 'cart', version: '2.0.0', count: 2, time: Date.now() }));
    // 40 posts at once: 4 clients' batches, each sent ten times (a worker retrying after a timeout).
    const bodies = Array.from({ length: 40 }, (_, i) => batch(`c${i % 4}`, events.slice((i % 4) * 100, (i % 4) * 100 + 100)));
    const answers = await Promise.all(bodies.map((b) => post(r, b).then((res) => res.json() as Promise<{ accepted: number }>)));
    expect(answers.reduce((sum, a) => sum + a.accepted, 0)).toBe(400);
    expect(r.collector.figures({ from: 0, to: Date.now() + 60_000 })).toMatchObject([{ runtimeErrors: 800 }]);
  });
});

describe('collector over HTTP', () => {
  it('refuses cross-origin and wrong-host posts and non-JSON content types, and answers allowed origins with CORS', async () => {
    const r = await serve({ allowedOrigins: ['https://shop.example'] });
    const body = batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: Date.now() })]);
    const foreign = await post(r, body, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toContain('cross-origin request from "https://evil.example" refused');
    expect((await post(r, body, { 'content-type': 'text/plain' })).status).toBe(403);
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch cannot set Host: a raw request as a rebound DNS name would send it.
      import('node:http').then(({ request }) => {
        const req = request(`${r.url}api/telemetry`, {
          method: 'POST',
          headers: { host: 'attacker.example', 'content-type': 'application/json' },
        });
        req.on('response', (res) => resolve(res.statusCode ?? 0)).on('error', reject);
        req.end(body);
      }, reject);
    });
    expect(rebound).toBe(403);
    const preflight = await fetch(`${r.url}api/telemetry`, { method: 'OPTIONS', headers: { origin: 'https://shop.example' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const allowed = await post(r, body, { origin: 'https://shop.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(
      (
        await post(r, batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: Date.now() })]), {
          origin: r.url.slice(0, -1),
        })
      ).status,
    ).toBe(200);
    expect(r.collector.figures({ from: 0, to: Date.now() + 60_000 })).toMatchObject([{ pageLoads: 2 }]);
  });

  it('serves Prometheus metrics with module, version and reason labels, and figures over a window as JSON', async () => {
    const r = await serve();
    const time = Date.now();
    await post(
      r,
      batch('a', [
        ev({ type: 'exposure', module: 'cart', version: '2.0.0', time }),
        ev({ type: 'errors', module: 'cart', version: '2.0.0', count: 7, time }),
        ev({ type: 'rollback', module: 'cart', version: '2.0.0', reason: 'boot-error', time }),
      ]),
    );
    const text = await (await fetch(`${r.url}metrics`)).text();
    expect(text).toContain('tranche_page_loads_total{module="cart",version="2.0.0"} 1');
    expect(text).toContain('tranche_runtime_errors_total{module="cart",version="2.0.0"} 7');
    expect(text).toContain('tranche_fallbacks_total{module="cart",version="2.0.0",reason="boot-error"} 1');
    expect(text).toContain('tranche_active_clients{module="cart",version="2.0.0"} 1');
    const figures = (await (await fetch(`${r.url}api/figures?from=0&to=${time + 60_000}`)).json()) as { figures: unknown[] };
    expect(figures.figures).toMatchObject([{ module: 'cart', version: '2.0.0', pageLoads: 1, runtimeErrors: 7, bootErrors: 1 }]);
    expect((await fetch(`${r.url}api/figures?from=soon`)).status).toBe(400);
  });
});

describe('tranche collect', () => {
  it('prints its URL alone on a line, collects at POST /api/telemetry, and stops cleanly on SIGTERM and SIGINT', async () => {
    const db = dbPath();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const service = await startCliService(['collect', '--port', '0', '--db', db]);
      expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const res = await fetch(`${service.url}api/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: Date.now() })]),
      });
      expect(await res.json()).toEqual({ accepted: 1, duplicates: 0 });
      const run = await service.stop(signal);
      expect(run).toMatchObject({ status: 0, stdout: `${service.url}\n`, stderr: `${signal}: stopping the collector\n` });
    }
    const c = openCollector({ db, readonly: true });
    expect(c.figures({ from: 0, to: Date.now() + 60_000 })).toMatchObject([{ module: 'cart', pageLoads: 2, activeClients: 1 }]);
    c.close();
    expect(runCli(['collect', '--port', '99999', '--db', db])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('--port 99999: expected a port number'),
    });
  });
});
