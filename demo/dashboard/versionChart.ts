/**
 * One module's chart (uPlot): page loads per time bucket for each version, and the rollbacks
 * clients reported, over the recent window the server sends (`DashboardState.chart`).
 */
import uPlot from 'uplot';
import type { DashboardState } from './api.js';
import { chartData } from './chartData.js';
import { el } from './dom.js';

const COLORS = ['#2f6fdf', '#e0572a', '#2a9d5b', '#8a4fd1', '#c9a100', '#0f8b8d'];
const ROLLBACK_COLOR = '#c81e1e';

/** A module's chart, rebuilt only when the set of versions changes. */
export class VersionChart {
  readonly root = el('div', { className: 'chart' });
  private _chart: uPlot | null = null;
  private _labels = '';

  constructor(private readonly _module: string) {}

  /** Redraws from `state`. */
  update(state: DashboardState): void {
    const { labels, data } = chartData(this._module, state);
    if (labels.length === 0) {
      this.root.textContent = 'No page loads reported yet: open the shop.';
      this._chart?.destroy();
      this._chart = null;
      return;
    }
    if (this._chart && this._labels === labels.join(',')) {
      this._chart.setData(data);
      return;
    }
    this._chart?.destroy();
    this.root.replaceChildren();
    this._labels = labels.join(',');
    this._chart = new uPlot(
      {
        width: Math.max(320, Math.min(1000, this.root.clientWidth || window.innerWidth - 80)),
        height: 180,
        title: `page loads per ${state.chart.bucketMs / 1000} s by version, and rollbacks`,
        series: [
          {},
          ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length]!, width: 2 })),
          { label: 'rollbacks', stroke: ROLLBACK_COLOR, width: 2, dash: [6, 4] },
        ],
      },
      data,
      this.root,
    );
  }
}
