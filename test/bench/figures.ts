/**
 * What a benchmark reports: figures, each beside its goal and baseline, printed as a table and
 * written as JSON (`[{ name, value, unit, goal, baseline }]`).
 */
import { writeFile } from 'node:fs/promises';

/** One reported figure. Every goal is an upper bound ("at most"); null where none applies. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  goal: number | null;
  /** The same figure for what tranche is compared with (bare worker, Workbox…), where one applies. */
  baseline: number | null;
  /** What the baseline is, for the table (not written to JSON). */
  baselineName?: string;
}

/** A figure with a goal that the value exceeds. */
export function missed(figure: Figure): boolean {
  return figure.goal !== null && figure.value > figure.goal;
}

function format(value: number | null, unit: string): string {
  if (value === null) return '—';
  // Ratios to three decimals (goals such as 1.03 need them); other values to three significant digits.
  const digits = unit === '×' ? 3 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  const number = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: unit === '×' ? 3 : 0 });
  return unit === '×' ? `${number}×` : `${number} ${unit}`;
}

/** The figures as a Markdown table (it reads as plain text in a terminal too). */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    format(f.value, f.unit),
    f.goal === null ? '—' : `≤ ${format(f.goal, f.unit)}`,
    f.baseline === null ? '—' : `${format(f.baseline, f.unit)}${f.baselineName ? ` (${f.baselineName})` : ''}`,
    f.goal === null ? '' : missed(f) ? 'MISSED' : 'met',
  ]);
  const header = ['measure', 'value', 'goal', 'baseline', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Writes the figures as the JSON array `[{ name, value, unit, goal, baseline }]`. */
export async function writeFigures(path: string, figures: readonly Figure[]): Promise<void> {
  const plain = figures.map(({ name, value, unit, goal, baseline }) => ({ name, value, unit, goal, baseline }));
  await writeFile(path, `${JSON.stringify(plain, null, 2)}\n`);
}
