/**
 * The side-by-side table of fleet health, shared by `tranche status --health` and the demo
 * dashboard so both show the same figures the same way: one row per figure, one column per
 * version of a module, the live versions (and a plan's rolled-back version) first and the stable
 * version last, all over the same window. Types only from health.ts: the dashboard bundles this.
 */
import type { ModuleHealth, VersionHealth } from './health.js';

const pct = (r: number | null) => (r === null ? '-' : `${(100 * r).toFixed(2)}%`);
const per = (r: number | null) => (r === null ? '-' : r.toFixed(3));

/** The table's rows: a label and each version's cell. */
export const HEALTH_ROWS: ReadonlyArray<{ label: string; cell: (v: VersionHealth) => string }> = [
  { label: 'active clients', cell: (v) => String(v.activeClients) },
  { label: 'page loads', cell: (v) => String(v.pageLoads) },
  { label: 'healthy-boot rate', cell: (v) => pct(v.healthyBootRate) },
  { label: 'boot errors', cell: (v) => String(v.bootErrors) },
  { label: 'errors per page load', cell: (v) => per(v.errorsPerPageLoad) },
  { label: 'client fallback rate', cell: (v) => pct(v.fallbackRate) },
  { label: 'top fallback reasons', cell: (v) => v.topReasons.map(([r, n]) => `${r} ${n}`).join(', ') || '-' },
  { label: 'staging failures', cell: (v) => String(v.stagingFailures) },
];

/** The table's columns: every version but the stable, then the stable. */
export function healthColumns(m: ModuleHealth): VersionHealth[] {
  return [...m.versions.filter((v) => v.role !== 'stable'), ...m.versions.filter((v) => v.role === 'stable')];
}

/** A column's heading: `2.1.0 (rollout 5%)`. */
export function columnHeading(v: VersionHealth): string {
  return `${v.version} (${v.role})`;
}

/** The module's plan and its last decision, as a line (the reason a rollout moved, stopped or rolled back). */
export function planLine(m: ModuleHealth): string {
  const plan = m.plan;
  if (!plan) return '';
  const d = plan.lastDecision;
  return (
    `plan ${plan.version} ${plan.steps.join(',')}%: ${plan.state} at step ${plan.step + 1} (${plan.steps[plan.step]}%)` +
    (d ? `; last decision ${d.time} ${d.outcome} (${d.action}): ${d.reason}` : '')
  );
}
