/**
 * The demo dashboard: per module, the manifest's stable version and rollouts, the collector's
 * figures per version, a chart over time, and buttons that run the same release code as the
 * CLI (through the demo server's /api/actions). Refreshes itself every two seconds.
 */
import type { ActionResult, DashboardAction, DashboardState } from './api.js';
import { ModuleCard } from './moduleCard.js';
import { watchThisBrowser } from './thisBrowser.js';

const REFRESH_MS = 2000;
const $ = (id: string) => document.getElementById(id)!;
const cards = new Map<string, ModuleCard>();

async function act(action: DashboardAction): Promise<void> {
  const res = await fetch('/api/actions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(action),
  });
  const result = (await res.json()) as ActionResult;
  $('notice').textContent =
    'error' in result
      ? `${action.verb} ${action.module} refused: ${result.error}`
      : `${action.verb} ${action.module}: ${result.note} (manifest ${result.sequence})`;
  await refresh();
}

function summary(state: DashboardState): string {
  const rejected = Object.entries(state.rejections)
    .map(([r, n]) => `${r}: ${n}`)
    .join(', ');
  return [
    `manifest sequence ${state.status.sequence}`,
    state.status.killSwitch ? 'KILL SWITCH ON' : '',
    rejected ? `manifests refused by clients: ${rejected}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

async function refresh(): Promise<void> {
  const state = (await (await fetch('/api/state', { cache: 'no-store' })).json()) as DashboardState;
  $('summary').textContent = summary(state);
  const names = Object.keys(state.status.modules).sort();
  for (const name of names) {
    let card = cards.get(name);
    if (!card) cards.set(name, (card = new ModuleCard(name, act)));
    card.update(state);
  }
  $('modules').replaceChildren(...names.map((name) => cards.get(name)!.root));
  document.body.dataset.refreshed = String(Date.now());
}

const refreshSoon = () =>
  refresh().catch((err: unknown) => {
    $('notice').textContent = `refresh failed: ${(err as Error).message}`;
  });
watchThisBrowser(REFRESH_MS);
void refreshSoon();
setInterval(() => void refreshSoon(), REFRESH_MS);
