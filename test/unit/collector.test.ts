import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Collector } from '../../demo/Collector.js';
import { MAX_BATCH_BYTES, type TelemetryEvent } from '../../src/core/telemetry.js';

const dirs: string[] = [];
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tranche-collector-'));
  dirs.push(dir);
  return join(dir, 'telemetry.sqlite');
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

let seq = 0;
const ev = (e: Omit<TelemetryEvent, 'id' | 'time'> & Partial<TelemetryEvent>): TelemetryEvent => ({
  id: `e${++seq}`,
  time: 1_700_000_000_000,
  ...e,
});
const batch = (client: string, events: TelemetryEvent[]) => JSON.stringify({ format: 1, client, events });

describe('Collector', () => {
  it('aggregates exposures, boots, errors and rollbacks per module@version', () => {
    const c = new Collector(':memory:');
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
        ev({ type: 'manifest-rejected', reason: 'signature' }),
      ]),
    );
    expect(c.stats()).toEqual([
      {
        module: 'cart',
        version: '2.1.0',
        clients: 2,
        pageLoads: 3,
        healthyBoots: 1,
        errors: 3,
        stagingFailures: 0,
        rollbacks: { 'runtime-errors': 1, 'boot-error': 1 },
        lastSeen: 1_700_000_000_000,
      },
    ]);
    expect(c.rejections()).toEqual({ signature: 1 });
    c.close();
  });

  it('counts events per time bucket, type and module@version for the chart', () => {
    const c = new Collector(':memory:');
    const t0 = 1_700_000_040_000;
    c.ingest(
      batch('a', [
        ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: t0 }),
        ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: t0 + 9_999 }),
        ev({ type: 'exposure', module: 'cart', version: '2.0.0', time: t0 + 10_000 }),
        ev({ type: 'errors', module: 'cart', version: '2.0.0', time: t0 + 10_001, count: 4 }),
        ev({ type: 'exposure', module: 'cart', version: '1.0.0', time: t0 - 1 }),
      ]),
    );
    expect(c.timeline(t0, 10_000)).toEqual([
      { time: t0, type: 'exposure', module: 'cart', version: '1.0.0', n: 2 },
      { time: t0 + 10_000, type: 'errors', module: 'cart', version: '2.0.0', n: 4 },
      { time: t0 + 10_000, type: 'exposure', module: 'cart', version: '2.0.0', n: 1 },
    ]);
    // Minutes by default: the event a millisecond before t0 (a whole minute) is in the minute before.
    expect(c.timeline(0).map((p) => [p.time, p.type, p.version, p.n])).toEqual([
      [t0 - 60_000, 'exposure', '1.0.0', 1],
      [t0, 'errors', '2.0.0', 4],
      [t0, 'exposure', '1.0.0', 2],
      [t0, 'exposure', '2.0.0', 1],
    ]);
    c.close();
  });

  it('drops events it has already stored, so a retried batch counts once', () => {
    const c = new Collector(':memory:');
    const body = batch('a', [ev({ type: 'errors', module: 'cart', version: '2.1.0', count: 5 })]);
    expect(c.ingest(body).body).toEqual({ accepted: 1, duplicates: 0 });
    expect(c.ingest(body).body).toEqual({ accepted: 0, duplicates: 1 });
    expect(c.stats()[0]!.errors).toBe(5);
    c.close();
  });

  it('answers malformed bodies with 400 naming the problem, oversized ones with 413, and keeps serving', () => {
    const c = new Collector(':memory:');
    const notJson = c.ingest('{"format":1,');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatch(/telemetry batch is not valid JSON/);
    const badField = c.ingest(JSON.stringify({ format: 1, client: 'a', events: [{ id: 'x', type: 'exposure', time: 'soon' }] }));
    expect(badField.status).toBe(400);
    expect(badField.body.error).toContain('events[0].time: expected epoch milliseconds, got "soon"');
    expect(c.ingest('x'.repeat(MAX_BATCH_BYTES + 1)).status).toBe(413);
    expect(c.ingest(batch('a', [ev({ type: 'exposure', module: 'cart', version: '1.0.0' })])).status).toBe(200);
    expect(c.stats()).toHaveLength(1);
    c.close();
  });

  it('keeps its data across a restart', () => {
    const path = dbPath();
    const first = new Collector(path);
    first.ingest(batch('a', [ev({ type: 'exposure', module: 'header', version: '3.0.0' })]));
    first.close();
    const second = new Collector(path);
    expect(second.stats().map((s) => `${s.module}@${s.version}:${s.clients}`)).toEqual(['header@3.0.0:1']);
    second.close();
  });
});
