/**
 * How the worker describes a module to pages (`GET_STATE`, protocol.ts `WorkerModuleState`).
 */
import type { WorkerModuleState } from '../src/core/protocol.js';
import type { ModuleRow, Overrides } from './Database.js';

/**
 * The status of one module row; `target` is the version it is moving to, if any; `unmet` why it
 * does not get the version it should run (describeUnmet lines).
 */
export function workerModuleState(
  row: ModuleRow,
  target: string | undefined,
  override: Overrides[string] | undefined,
  unmet: string[],
): WorkerModuleState {
  const failure = target !== undefined && row.failure?.version === target ? row.failure : null;
  return {
    current: row.current,
    assigned: row.assignment && { version: row.assignment.version, bucket: row.assignment.bucket, sequence: row.assignment.sequence },
    override: override ?? null,
    previous: [...row.previous],
    unmet,
    staging:
      target === undefined
        ? null
        : {
            version: target,
            failure: failure && { reason: failure.reason, message: failure.message, retryAt: failure.retryAt },
          },
  };
}
