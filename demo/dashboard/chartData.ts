/**
 * The series of one module's chart: page loads per time bucket for each version, and rollbacks.
 * The time axis is the server's window (`DashboardState.chart`: the recent minutes up to now),
 * never the data's range, so an odd event time cannot stretch or freeze the chart.
 */
import type { DashboardState } from './api.js';

/** Aligned series: x (seconds), page loads per version, then rollbacks of every version. */
export interface ChartData {
  labels: string[];
  data: [number[], ...number[][]];
}

export function chartData(name: string, { timeline, chart }: Pick<DashboardState, 'timeline' | 'chart'>): ChartData {
  const { from, to, bucketMs } = chart;
  const buckets = Math.max(0, Math.ceil((to - from) / bucketMs));
  const points = timeline.filter(
    (p) => p.module === name && (p.type === 'exposure' || p.type === 'rollback') && p.time >= from && p.time < to,
  );
  const versions = [...new Set(points.filter((p) => p.type === 'exposure').map((p) => p.version))].sort();
  const series = (type: string, version: string | null) => {
    const out = new Array<number>(buckets).fill(0);
    for (const p of points)
      if (p.type === type && (version === null || p.version === version)) out[Math.floor((p.time - from) / bucketMs)]! += p.n;
    return out;
  };
  const times = Array.from({ length: buckets }, (_, i) => (from + i * bucketMs) / 1000);
  return { labels: versions, data: [times, ...versions.map((v) => series('exposure', v)), series('rollback', null)] };
}
