/**
 * tranche's worker for the benchmarks: exactly the browser tests' worker (sw-entry.ts), plus an
 * answer to `BENCH_ASSIGN`, which times the worker's assignment (`planModules`) of a manifest of
 * `modules` modules for a new client, inside the service worker's own JavaScript engine.
 * tranche ignores messages that are not page requests, so this listener changes nothing else.
 */
import '../../browser/fixtures/sw-entry.js';
import { planModules } from '../../../sw/assignment.js';
import { syntheticManifest } from '../syntheticManifest.js';

declare const self: ServiceWorkerGlobalScope;

interface AssignRequest {
  type: 'BENCH_ASSIGN';
  modules: number;
  rounds: number;
}

/** Milliseconds of each of `rounds` assignments, each for a fresh client id. */
function timeAssignments({ modules, rounds }: AssignRequest): number[] {
  const manifest = syntheticManifest(modules);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const key = crypto.randomUUID();
    const start = performance.now();
    planModules(new Map(), manifest, key, () => false);
    times.push(performance.now() - start);
  }
  return times;
}

self.addEventListener('message', (event) => {
  const data = event.data as AssignRequest | undefined;
  if (data?.type === 'BENCH_ASSIGN') event.ports[0]?.postMessage(timeAssignments(data));
});
