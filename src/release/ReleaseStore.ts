/**
 * A release store and every operation on it: the typed API behind `tranche/node` and the
 * `tranche` CLI alike. Where its bytes live is its backend's business (StoreBackend.ts).
 */
import { assign } from '../core/bucketing.js';
import { TrancheError } from '../core/TrancheError.js';
import type { Rollout } from '../core/manifest.js';
import { currentActor, readHistory, type HistoryEntry } from './history.js';
import { readJwkFile } from './keys.js';
import * as changes from './manifestChanges.js';
import { publish, readCurrentManifest, type Change, type PublishContext, type PublishResult } from './publish.js';
import { releaseBuild, releasedVersions, type ReleaseOptions, type ReleaseResult } from './release.js';
import { DirectoryBackend } from './DirectoryBackend.js';
import type { StoreBackend } from './StoreBackend.js';
import { verifyStore, type VerifyStoreOptions, type VerifyReport } from './verifyStore.js';

/** How a store is opened. */
export interface StoreOptions {
  /** The private key (JWK, or the path of a JWK file) that signs manifests. Needed by mutating verbs. */
  key?: string | object;
  /** Who makes changes, for history. @default TRANCHE_ACTOR, GITHUB_ACTOR, USER, then the OS user */
  actor?: string;
  /** How long to wait for another command's lock before failing with `locked`. @default 30000 */
  lockTimeoutMs?: number;
}

/** Options of every mutating verb. */
export interface PublishOptions {
  /** ISO time after which clients reject the new manifest. @default none */
  expires?: string;
  /**
   * Publish a change even when it leaves a live version's `--requires` range met by no live
   * version (its clients all fall back); the note then carries a warning. Rollbacks never refuse.
   * @default false
   */
  allowIncompatible?: boolean;
}

/** A module's state as `status` reports it. */
export interface ModuleSummary {
  stable: string;
  rollouts: Array<Pick<Rollout, 'version' | 'percent'>>;
  paused: boolean;
  blocked: string[];
}

/** The current manifest, summarised; sequence 0 and no modules for a store that never published. */
export interface StoreStatus {
  sequence: number;
  killSwitch: boolean;
  modules: Record<string, ModuleSummary>;
  published?: string;
  expires?: string;
  keyId?: string;
}

/** Which version of each module one client gets. */
export interface Resolution {
  client: string;
  modules: Record<string, string>;
}

/** The store in one directory or backend. Create with `openStore`. */
export class ReleaseStore {
  /** Where its documents are read and written. */
  readonly backend: StoreBackend;
  private readonly _publisher: PublishContext;

  constructor(where: string | StoreBackend, { key, actor = currentActor(), lockTimeoutMs }: StoreOptions = {}) {
    this.backend = typeof where === 'string' ? new DirectoryBackend(where) : where;
    this._publisher = { backend: this.backend, actor, lockTimeoutMs, signingKey: () => loadKey(key) };
  }

  /** Ingests a build directory as module@version (not live until promoted or rolled out). */
  release(buildDir: string, options: ReleaseOptions): Promise<ReleaseResult> {
    return releaseBuild(this.backend, buildDir, options, this._publisher.lockTimeoutMs);
  }

  /** Makes module@version stable for every client outside a rollout. */
  promote(module: string, version: string, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('promote', { module, version }, (d) => changes.promote(d, module, version), options);
  }

  /** Starts or changes the rollout of module@version to `percent` (0..100, steps of 0.01). */
  rollout(module: string, version: string, percent: number, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('rollout', { module, version, percent }, (d) => changes.rollout(d, module, version, percent), options);
  }

  /** Freezes a module's rollouts; `rollout` and `promote` refuse until `resume`. */
  pause(module: string, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('pause', { module }, (d) => changes.pause(d, module), options);
  }

  /** Lifts `pause`. */
  resume(module: string, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('resume', { module }, (d) => changes.resume(d, module), options);
  }

  /** Ends live rollouts or reverts the last promote, blocking what was abandoned (see docs/cli.md). */
  rollback(module: string, options: PublishOptions & { to?: string } = {}): Promise<PublishResult> {
    return this._publish(
      'rollback',
      { module, ...(options.to ? { to: options.to } : {}) },
      async (d, history) => {
        const stables = (await history()).flatMap((e) => (e.modules[module]?.after ? [e.modules[module].after.stable] : []));
        return changes.rollback(d, module, options.to, stables);
      },
      // An emergency is never refused: what it leaves unmet is a warning.
      { ...options, allowIncompatible: true },
    );
  }

  /** Lifts the block a rollback put on module@version, so that it may go live again (recorded in history). */
  unblock(module: string, version: string, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('unblock', { module, version }, (d) => changes.unblock(d, module, version), options);
  }

  /** Turns the kill switch on (every worker unregisters itself) or off. */
  setKillSwitch(on: boolean, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('kill-switch', { on }, (d) => changes.setKillSwitch(d, on), options);
  }

  /** The current manifest, summarised. */
  async status(): Promise<StoreStatus> {
    const manifest = await readCurrentManifest(this.backend);
    if (!manifest) return { sequence: 0, killSwitch: false, modules: {} };
    const modules: Record<string, ModuleSummary> = {};
    for (const [name, mod] of Object.entries(manifest.modules)) {
      modules[name] = {
        stable: mod.stable,
        rollouts: mod.rollouts.map(({ version, percent }) => ({ version, percent })),
        paused: mod.paused,
        blocked: [...mod.blocked],
      };
    }
    const { sequence, killSwitch, published, expires, keyId } = manifest;
    return { sequence, killSwitch, modules, published, keyId, ...(expires ? { expires } : {}) };
  }

  /** Every released version of every module (released, not necessarily live), oldest first. */
  releases(): Promise<Record<string, string[]>> {
    return releasedVersions(this.backend);
  }

  /** Committed changes, oldest first: all, or those touching `module` (kill-switch changes touch every module). */
  async history(module?: string): Promise<HistoryEntry[]> {
    const sequence = (await readCurrentManifest(this.backend))?.sequence ?? 0;
    const entries = await readHistory(this.backend, sequence);
    return module === undefined ? entries : entries.filter((e) => module in e.modules || e.killSwitch);
  }

  /** The version of every module each client gets under the current manifest, streamed in order. */
  async *resolve(clients: Iterable<string> | AsyncIterable<string>): AsyncGenerator<Resolution> {
    const manifest = (await readCurrentManifest(this.backend)) ?? { modules: {} };
    for await (const client of clients) {
      const modules: Record<string, string> = {};
      for (const [name, { version }] of Object.entries(assign(manifest, client))) modules[name] = version;
      yield { client, modules };
    }
  }

  /** Checks signature, schema, records and file hashes; never throws for a problem it can report. */
  verify(options?: VerifyStoreOptions): Promise<VerifyReport> {
    return verifyStore(this.backend, options);
  }

  private async _publish(
    verb: string,
    args: Record<string, unknown>,
    change: Change,
    { expires, allowIncompatible = false }: PublishOptions = {},
  ): Promise<PublishResult> {
    const checked = expires === undefined ? undefined : checkExpires(expires);
    return publish(this._publisher, verb, args, change, checked, allowIncompatible ? 'warn' : 'refuse');
  }
}

/** Opens the store in directory `dir` (created on first write), or in `backend`. */
export function openStore(where: string | StoreBackend, options?: StoreOptions): ReleaseStore {
  return new ReleaseStore(where, options);
}

async function loadKey(key: string | object | undefined): Promise<{ jwk: unknown; where: string }> {
  if (key === undefined)
    throw new TrancheError('usage', {
      reason: 'signing needs a private key: pass --key <file> or set TRANCHE_KEY (API: openStore(dir, { key }))',
    });
  return typeof key === 'string' ? { jwk: await readJwkFile(key, '--key'), where: `--key ${key}` } : { jwk: key, where: 'private key' };
}

function checkExpires(expires: string): string {
  const time = Date.parse(expires);
  if (Number.isNaN(time))
    throw new TrancheError('usage', { reason: `--expires ${expires}: expected an ISO time such as 2030-01-31T00:00:00Z` });
  if (time <= Date.now())
    throw new TrancheError('usage', { reason: `--expires ${expires}: is in the past; clients would reject the manifest at once` });
  return new Date(time).toISOString();
}
