/**
 * "This browser": what the demo's worker says about this browser, through a page client of the
 * dashboard's own. The dashboard is not a shop page (the worker does not serve it a snapshot),
 * so the snapshot shown is the one the worker gives the next shop page load: each module's
 * current version.
 */
import { Tranche, type TrancheState } from '../../src/client/index.js';

const $ = (id: string) => document.getElementById(id)!;

function render(state: TrancheState): void {
  $('client-id').textContent = `${state.worker.clientId}${state.worker.identity === 'app' ? ' (cohorts follow the app identity)' : ''}`;
  const next = Object.entries(state.worker.modules).map(([name, m]) => `${name} ${m.current ?? '(from the network)'}`);
  $('snapshot').textContent = next.join(' · ') || '–';
  $('buckets').textContent =
    Object.entries(state.buckets)
      .map(([name, bucket]) => `${name} ${bucket} → ${state.worker.modules[name]?.assigned?.version ?? '?'}`)
      .join(' · ') || '–';
  $('bad').textContent = state.bad.length ? state.bad.map((b) => `${b.module}@${b.version} (${b.reason})`).join(' · ') : 'none';
  $('worker').textContent = `${state.worker.condition} ${state.worker.why}, manifest ${state.worker.sequence}`;
}

/** Registers the demo's worker (as the shop does) and shows its view of this browser, refreshed every `everyMs`. */
export function watchThisBrowser(everyMs: number): Tranche {
  // Not a shop page: report nothing, and never reload the dashboard for a shop module.
  const tranche = new Tranche('/sw.js', { captureErrors: false, reloadOnRollback: false });
  const show = () =>
    tranche.state().then(render, (err: unknown) => {
      $('worker').textContent = `no answer from the worker yet (${(err as Error).message})`;
    });
  void tranche.register().then(show);
  setInterval(() => void show(), everyMs);
  return tranche;
}
