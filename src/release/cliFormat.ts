/**
 * Human-readable output of the CLI. JSON output is the API's objects as they are; these are
 * for people at a terminal.
 */
import type { FleetHealth } from './health.js';
import { HEALTH_ROWS, columnHeading, healthColumns, planLine } from './healthTable.js';
import type { Decision } from './plans.js';
import type { ModuleState } from '../core/manifest.js';
import type { HistoryEntry } from './history.js';
import type { ReleaseResult } from './release.js';
import type { StoreStatus } from './ReleaseStore.js';
import type { VerifyReport } from './verifyStore.js';

/** `12345 bytes (12.1 KiB)`. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB'];
  let size = bytes;
  let unit = '';
  for (let i = 0; size >= 1024 && i < units.length; i++) [size, unit] = [size / 1024, units[i]!];
  return unit ? `${bytes} bytes (${size.toFixed(1)} ${unit})` : `${bytes} bytes`;
}

/** The summary `release` prints. */
export function formatRelease(r: ReleaseResult): string {
  const counts = `${r.files} files, ${formatBytes(r.bytes)}, ${formatBytes(r.newBytes)} new to the store`;
  return r.unchanged
    ? `${r.module}@${r.version} was already released with identical contents; nothing changed (${counts})`
    : `released ${r.module}@${r.version}: ${counts}\nrecord: ${r.record}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table `status` prints. */
export function formatStatus(s: StoreStatus): string {
  if (!s.sequence) return 'no manifest yet (sequence 0): release a module, then tranche promote <module>@<version>';
  const head = [
    `sequence ${s.sequence}, published ${s.published} by key ${s.keyId}`,
    s.expires ? `, expires ${s.expires}${Date.parse(s.expires) <= Date.now() ? ' (EXPIRED: clients reject it)' : ''}` : '',
    `, kill switch ${s.killSwitch ? 'ON: workers unregister themselves' : 'off'}`,
    s.shared
      ? `\nshared: ${
          Object.entries(s.shared)
            .map(([pkg, version]) => `${pkg}@${version}`)
            .join(', ') || 'none'
        }`
      : '',
  ].join('');
  const rows = [['module', 'stable', 'rollouts', 'paused', 'blocked']];
  for (const [name, m] of Object.entries(s.modules)) {
    const rollouts = m.rollouts.map((r) => `${r.version} ${r.percent}%`).join(', ') || '-';
    rows.push([name, m.stable, rollouts, m.paused ? 'yes' : 'no', m.blocked.join(', ') || '-']);
  }
  return `${head}\n${table(rows)}`;
}

function describeState(state: ModuleState | null): string {
  if (!state) return '(absent)';
  const parts = [`stable ${state.stable}`];
  if (state.rollouts.length) parts.push(`rollouts ${state.rollouts.map((r) => `${r.version} ${r.percent}%`).join(', ')}`);
  if (state.paused) parts.push('paused');
  if (state.blocked.length) parts.push(`blocked ${state.blocked.join(', ')}`);
  return parts.join(', ');
}

function describeVerb(e: HistoryEntry): string {
  const a = e.args as { module?: string; version?: string; percent?: number; to?: string; on?: boolean; keyId?: string };
  const target = a.version ? `${a.module}@${a.version}` : (a.module ?? a.keyId ?? '');
  const extra = [a.percent === undefined ? '' : `${a.percent}%`, a.to ? `--to ${a.to}` : '', a.on === undefined ? '' : a.on ? 'on' : 'off'];
  return [e.verb, target, ...extra].filter(Boolean).join(' ');
}

/** One history entry as a few lines: who did what, then each module's before → after. */
export function formatHistoryEntry(e: HistoryEntry, module?: string): string {
  const lines = [`#${e.sequence}  ${e.time}  ${e.actor}  ${describeVerb(e)}`];
  for (const [name, change] of Object.entries(e.modules)) {
    if (module === undefined || name === module)
      lines.push(`    ${name}: ${describeState(change.before)} → ${describeState(change.after)}`);
  }
  if (e.killSwitch) lines.push(`    kill switch: ${e.killSwitch.before ? 'on' : 'off'} → ${e.killSwitch.after ? 'on' : 'off'}`);
  const decided = (e.args.because as { advance?: Decision } | undefined)?.advance;
  if (decided) lines.push(`    tranche advance: ${decided.outcome}: ${decided.reason}`);
  return lines.join('\n');
}

/** What `verify` prints: each problem, or a one-line OK. */
export function formatVerify(r: VerifyReport): string {
  const keys = r.trustedFrom.length ? r.trustedFrom.join(', ') : 'no keys';
  const warnings = r.warnings.map((line) => `${line}\n`).join('');
  const found = `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} found`;
  if (!r.ok) return `${warnings}${r.problems.join('\n')}\n${found} (signature checked with ${keys})`;
  const manifest = r.sequence === null ? 'no manifest yet' : `manifest sequence ${r.sequence} signature valid (checked with ${keys})`;
  return `${warnings}OK: ${manifest}; ${r.records} records and ${r.files} files (${formatBytes(r.bytes)}) verified`;
}

/** What `status --health` prints: per module, a table with each version's figures beside the stable's, and its plan. */
export function formatHealth(h: FleetHealth): string {
  const minutes = Math.round((h.window.to - h.window.from) / 60_000);
  const lines = [
    `fleet health over the last ${minutes} min (${new Date(h.window.from).toISOString()} to ${new Date(h.window.to).toISOString()})`,
  ];
  for (const [name, m] of Object.entries(h.modules)) {
    lines.push(`${name}${m.paused ? ' (paused)' : ''}`);
    const columns = healthColumns(m);
    const table = [['', ...columns.map(columnHeading)], ...HEALTH_ROWS.map(({ label, cell }) => [label, ...columns.map(cell)])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) lines.push(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
    if (m.plan) lines.push(`  ${planLine(m)}`);
  }
  return lines.join('\n');
}

/** One decision of `advance`, as a line. */
export function formatDecision(d: Decision): string {
  return `${d.time}  ${d.module}@${d.version}  ${d.outcome} -> ${d.action} (step ${d.step + 1}, ${d.percent}%): ${d.reason}`;
}
