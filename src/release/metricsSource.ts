/**
 * Where `advance` and `status --health` read fleet figures (`--metrics <source>`): a collector's
 * URL (its GET /api/figures), a collector's SQLite file, or `prometheus=<url>` (PromQL over the
 * counters every collector exposes, summed across collectors).
 */
import * as v from 'valibot';
import { TrancheError } from '../core/TrancheError.js';
import { parseDocument } from '../core/validate.js';
import { addCount, emptyFigures, openCollector, type TimeWindow, type VersionFigures } from '../collector/Collector.js';
import { FIGURES_PATH } from '../collector/handler.js';
import { ACTIVE_CLIENTS_METRIC, METRIC_OF_TYPE } from '../collector/metrics.js';

/** Fleet figures per module@version over a window. */
export interface MetricsSource {
  /** What it reads, for messages. */
  readonly name: string;
  figures(window: TimeWindow): Promise<VersionFigures[]>;
  close(): void;
}

const count = v.pipe(v.number(), v.finite(), v.minValue(0));
const figuresAnswerSchema = v.object({
  figures: v.pipe(
    v.array(
      v.object({
        module: v.string(),
        version: v.string(),
        activeClients: count,
        pageLoads: count,
        healthyBoots: count,
        bootErrors: count,
        runtimeErrors: count,
        fallbacks: count,
        fallbackReasons: v.record(v.string(), count),
        stagingFailures: count,
      }),
    ),
    v.maxLength(100_000),
  ),
});

async function getJson(url: string, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new TrancheError('download', { url, reason: (err as Error).message });
  }
  if (!res.ok) throw new TrancheError('download', { url, reason: `HTTP ${res.status} ${(await res.text()).slice(0, 200)}` });
  try {
    return await res.json();
  } catch (err) {
    throw new TrancheError('invalid-json', { what, reason: (err as Error).message });
  }
}

function collectorUrl(base: string): MetricsSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  return {
    name: root,
    async figures({ from, to }) {
      const url = `${root}${FIGURES_PATH.slice(1)}?from=${Math.floor(from)}&to=${Math.ceil(to)}`;
      return parseDocument(figuresAnswerSchema, await getJson(url, url), url).figures;
    },
    close() {},
  };
}

function collectorFile(path: string): MetricsSource {
  let collector: ReturnType<typeof openCollector>;
  try {
    collector = openCollector({ db: path, readonly: true });
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_CANTOPEN'))
      throw new TrancheError('not-found', { what: `collector database ${path}` });
    throw err;
  }
  return { name: path, figures: async (window) => collector.figures(window), close: () => collector.close() };
}

const promAnswerSchema = v.object({
  status: v.literal('success'),
  data: v.object({
    result: v.array(v.object({ metric: v.record(v.string(), v.string()), value: v.tuple([v.number(), v.string()]) })),
  }),
});

/** PromQL: what each counter grew by from `from` to `to`, per label set (a series new in the window counts from 0). */
function growth(metric: string, labels: string, from: number, to: number): string {
  const at = (t: number) => `sum by (${labels}) (${metric} @ ${(t / 1000).toFixed(3)})`;
  return `${at(to)} - (${at(from)} or ${at(to)} * 0)`;
}

function prometheus(base: string): MetricsSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const query = async (promql: string, time: number) => {
    const url = `${root}api/v1/query?query=${encodeURIComponent(promql)}&time=${(time / 1000).toFixed(3)}`;
    return parseDocument(promAnswerSchema, await getJson(url, 'Prometheus answer'), 'Prometheus answer').data.result;
  };
  return {
    name: `prometheus=${root}`,
    async figures({ from, to }) {
      const byKey = new Map<string, VersionFigures>();
      const of = (m: Record<string, string>) => {
        const key = `${m.module}@${m.version}`;
        if (!byKey.has(key)) byKey.set(key, emptyFigures(m.module ?? '', m.version ?? ''));
        return byKey.get(key)!;
      };
      for (const [type, { name, reason }] of Object.entries(METRIC_OF_TYPE)) {
        const labels = reason ? 'module, version, reason' : 'module, version';
        for (const { metric, value } of await query(growth(name, labels, from, to), to))
          addCount(of(metric), type, metric.reason ?? '', Math.round(Number(value[1])));
      }
      // Distinct clients are not additive across collectors: their sum over-counts a client seen by two.
      for (const { metric, value } of await query(`sum by (module, version) (${ACTIVE_CLIENTS_METRIC} @ ${(to / 1000).toFixed(3)})`, to))
        of(metric).activeClients = Math.round(Number(value[1]));
      return [...byKey.values()].filter((f) => f.module && f.version);
    },
    close() {},
  };
}

/** Opens `--metrics <spec>`: `prometheus=<url>`, an http(s) collector URL, or a collector's SQLite file. */
export function openMetricsSource(spec: string): MetricsSource {
  if (spec.startsWith('prometheus=')) return prometheus(spec.slice('prometheus='.length));
  if (/^https?:\/\//.test(spec)) return collectorUrl(spec);
  return collectorFile(spec);
}
