/**
 * One module's table: per version, what the manifest does with it and what clients reported
 * (the collector's figures), with the rates a release manager decides on.
 */
import type { VersionFigures } from '../../src/collector/index.js';
import type { DashboardState } from './api.js';
import { el } from './dom.js';

const COLUMNS = [
  'version',
  'manifest',
  'clients',
  'share of clients',
  'page loads',
  'healthy boots',
  'healthy rate',
  'boot errors',
  'errors',
  'errors per load',
  'rollbacks',
  'rollback rate',
  'staging failures',
];

const percent = (n: number, of: number) => (of ? `${((100 * n) / of).toFixed(1)}%` : '–');
const perLoad = (n: number, of: number) => (of ? (n / of).toFixed(2) : '–');

/** What the manifest does with `version` of module `name`. */
function manifestRole(name: string, version: string, state: DashboardState): string {
  const mod = state.status.modules[name];
  if (!mod) return '–';
  if (mod.stable === version) return 'stable';
  const rollout = mod.rollouts.find((r) => r.version === version);
  if (rollout) return `rollout ${rollout.percent}%${mod.paused ? ' (paused)' : ''}`;
  return mod.blocked.includes(version) ? 'blocked' : 'released';
}

/** Versions worth a row: live ones and those clients reported, newest first (the server sorts `released`). */
function rowVersions(name: string, state: DashboardState, stats: VersionFigures[]): string[] {
  const mod = state.status.modules[name];
  const shown = new Set([...(mod ? [mod.stable, ...mod.rollouts.map((r) => r.version)] : []), ...stats.map((s) => s.version)]);
  const order = state.released[name] ?? [];
  return [...shown].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** The table of module `name`. */
export function versionTable(name: string, state: DashboardState): HTMLTableElement {
  const stats = state.stats.filter((s) => s.module === name);
  const allClients = stats.reduce((sum, s) => sum + s.activeClients, 0);
  const rows = rowVersions(name, state, stats).map((version) => {
    const s = stats.find((x) => x.version === version);
    const rollbacks = s?.fallbacks ?? 0;
    const reasons = s
      ? Object.entries(s.fallbackReasons)
          .map(([r, n]) => `${r}: ${n}`)
          .join(', ')
      : '';
    const cells = [
      version,
      manifestRole(name, version, state),
      String(s?.activeClients ?? 0),
      percent(s?.activeClients ?? 0, allClients),
      String(s?.pageLoads ?? 0),
      String(s?.healthyBoots ?? 0),
      percent(s?.healthyBoots ?? 0, s?.pageLoads ?? 0),
      String(s?.bootErrors ?? 0),
      String(s?.runtimeErrors ?? 0),
      perLoad(s?.runtimeErrors ?? 0, s?.pageLoads ?? 0),
      `${rollbacks}${reasons ? ` (${reasons})` : ''}`,
      percent(rollbacks, s?.activeClients ?? 0),
      String(s?.stagingFailures ?? 0),
    ];
    const tr = el(
      'tr',
      {},
      ...cells.map((c, i) => {
        const td = el('td', {}, c);
        td.dataset.column = COLUMNS[i]!;
        return td;
      }),
    );
    tr.dataset.version = version;
    return tr;
  });
  const table = el('table', {}, el('thead', {}, el('tr', {}, ...COLUMNS.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
  table.dataset.stats = name;
  return table;
}
