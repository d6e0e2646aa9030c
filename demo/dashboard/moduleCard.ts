/**
 * One module on the dashboard: its manifest state, its version table and chart, and the
 * buttons. The card is built once and updated in place on every refresh, so a version being
 * chosen or a percentage being typed survives the refresh.
 */
import { HEALTH_ROWS, columnHeading, healthColumns, planLine } from '../../src/release/healthTable.js';
import type { DashboardAction, DashboardState } from './api.js';
import { el } from './dom.js';
import { VersionChart } from './versionChart.js';
import { versionTable } from './versionTable.js';

/** Runs an action (POST /api/actions) and reports the outcome. */
export type Act = (action: DashboardAction) => Promise<void>;

/** A module's card. */
export class ModuleCard {
  readonly root: HTMLElement;
  private readonly _tags = el('p', { className: 'tags' });
  private readonly _plan = el('p', { className: 'plan' });
  private readonly _table = el('div');
  private readonly _health = el('div');
  private readonly _chart: VersionChart;
  private readonly _version = el('select', { name: 'version' });
  private readonly _percent = el('input', { name: 'percent', type: 'number', min: '0', max: '100', step: '0.01', value: '50' });
  private readonly _pause: HTMLButtonElement;
  private _paused = false;
  private _released = '';

  constructor(
    private readonly _name: string,
    act: Act,
  ) {
    this._chart = new VersionChart(_name);
    const button = (label: string, action: () => DashboardAction) => {
      const b = el('button', { type: 'button' }, label);
      b.dataset.action = label;
      b.addEventListener('click', () => void act(action()));
      return b;
    };
    const module = _name;
    this._pause = button('pause', () => ({ verb: this._paused ? 'resume' : 'pause', module }));
    const controls = el(
      'form',
      {},
      this._version,
      this._percent,
      '%',
      button('roll out', () => ({ verb: 'rollout', module, version: this._version.value, percent: Number(this._percent.value) })),
      button('promote', () => ({ verb: 'promote', module, version: this._version.value })),
      this._pause,
      button('roll back', () => ({ verb: 'rollback', module })),
    );
    controls.addEventListener('submit', (e) => e.preventDefault());
    this.root = el(
      'section',
      { className: 'module' },
      el('h2', {}, _name),
      this._tags,
      this._plan,
      this._table,
      this._health,
      this._chart.root,
      controls,
    );
    this.root.dataset.module = _name;
  }

  /** Shows `state`. */
  update(state: DashboardState): void {
    const mod = state.status.modules[this._name]!;
    this._tags.replaceChildren(
      tag('', `stable ${mod.stable}`),
      ...mod.rollouts.map((r) => tag('canary', `${r.version} at ${r.percent}%`)),
      ...(mod.paused ? [tag('paused', 'paused')] : []),
      ...mod.blocked.map((v) => tag('blocked', `${v} blocked`)),
    );
    const health = state.health.modules[this._name];
    this._plan.textContent = health ? planLine(health) : '';
    this._table.replaceChildren(versionTable(this._name, state));
    this._health.replaceChildren(...(health ? [healthTable(this._name, health)] : []));
    this._chart.update(state);
    this._paused = mod.paused;
    this._pause.textContent = mod.paused ? 'resume' : 'pause';
    this._pause.dataset.action = this._pause.textContent;
    const released = state.released[this._name] ?? [];
    if (released.join(',') !== this._released) {
      const chosen = this._version.value;
      this._version.replaceChildren(...released.map((v) => el('option', { value: v }, v)));
      if (released.includes(chosen)) this._version.value = chosen;
      this._released = released.join(',');
    }
  }
}

/**
 * Each version's figures beside the stable's over the same window, as `tranche status --health`
 * prints them: a row per figure, a column per version (`td[data-version][data-row]`).
 */
function healthTable(name: string, health: NonNullable<DashboardState['health']['modules'][string]>): HTMLTableElement {
  const columns = healthColumns(health);
  const head = el('tr', {}, el('th', {}, 'over the last hour'), ...columns.map((v) => el('th', {}, columnHeading(v))));
  const rows = HEALTH_ROWS.map(({ label, cell }) => {
    const cells = columns.map((v) => {
      const td = el('td', {}, cell(v));
      td.dataset.version = v.version;
      td.dataset.row = label;
      return td;
    });
    return el('tr', {}, el('th', {}, label), ...cells);
  });
  const table = el('table', { className: 'health' }, el('thead', {}, head), el('tbody', {}, ...rows));
  table.dataset.health = name;
  return table;
}

function tag(kind: string, text: string): HTMLElement {
  return el('span', { className: `tag ${kind}`.trim() }, text);
}
