/**
 * A manifest of many modules for the assignment benchmark, built in memory (no store, no
 * signature: assignment never looks at either). Isomorphic: the bench worker imports it.
 */
import type { Manifest } from '../../src/core/manifest.js';

/** Name of module number `i`: `m0000`, `m0001`, … */
export function moduleName(i: number): string {
  return `m${String(i).padStart(4, '0')}`;
}

/**
 * `count` modules, each with stable 1.0.0 and, as in a busy fleet, 2.0.0 rolling out at 30%
 * from a module-specific bucket, so every module takes the rollout branch of the assignment.
 */
export function syntheticManifest(count: number): Manifest {
  const modules: Manifest['modules'] = {};
  const releases: Manifest['releases'] = {};
  for (let i = 0; i < count; i++) {
    const name = moduleName(i);
    modules[name] = { stable: '1.0.0', rollouts: [{ version: '2.0.0', percent: 30, from: (i * 37) % 10_000 }], paused: false, blocked: [] };
    for (const version of ['1.0.0', '2.0.0'])
      releases[`${name}@${version}`] = { record: `records/${name}/${version}.json`, sha256: '0'.repeat(64) };
  }
  return { format: 1, sequence: 1, published: new Date(0).toISOString(), keyId: 'bench', killSwitch: false, modules, releases };
}
