/**
 * A release store and every operation on it: the typed API behind `tranche/node` and the
 * `tranche` CLI alike. Where its bytes live is its backend's business (StoreBackend.ts).
 */
import { assign } from '../core/bucketing.js';
import { TrancheError } from '../core/TrancheError.js';
import { sharedVersionsSchema, type Rollout } from '../core/manifest.js';
import { parseDocument } from '../core/validate.js';
import { readSharedInfo } from './releaseInfo.js';
import { currentActor, readHistory, type HistoryEntry } from './history.js';
import { readJwkFile, storeKeys } from './keys.js';
import { keyIdOf, trustKeys, type Ed25519Jwk } from '../core/signature.js';
import * as changes from './manifestChanges.js';
import { publish, readCurrentManifest, type Change, type PublishContext, type PublishHow, type PublishResult } from './publish.js';
import { releaseBuild, releasedVersions, type ReleaseOptions, type ReleaseResult } from './release.js';
import { DirectoryBackend } from './DirectoryBackend.js';
import { S3Backend, isS3Url, type S3Options } from './S3Backend.js';
import { copyRelease, publishStore, type TransferOptions, type TransferResult } from './transfer.js';
import type { StoreBackend } from './StoreBackend.js';
import { DEFAULT_THRESHOLDS, type AnalysisThresholds } from './analysis.js';
import { decide, readPlans, writePlan, armOf, type Decision, type Plan } from './plans.js';
import type { MetricsSource } from './metricsSource.js';
import { checkModule, checkVersion } from './releaseNames.js';
import { verifyStore, type VerifyStoreOptions, type VerifyReport } from './verifyStore.js';

/** How a store is opened. */
export interface StoreOptions {
  /** The private key (JWK, or the path of a JWK file) that signs manifests. Needed by mutating verbs. */
  key?: string | object;
  /** Who makes changes, for history. @default TRANCHE_ACTOR, GITHUB_ACTOR, USER, then the OS user */
  actor?: string;
  /** How long to wait for another command's lock before failing with `locked`. @default 30000 */
  lockTimeoutMs?: number;
  /** How to reach `s3://` stores (this one, and targets of `publishTo` and `copyTo`). */
  s3?: S3Options;
}

/** A directory, or `s3://bucket/prefix`, as a backend. */
export function backendAt(where: string | StoreBackend, s3?: S3Options): StoreBackend {
  if (typeof where !== 'string') return where;
  return isS3Url(where) ? new S3Backend(where, s3) : new DirectoryBackend(where);
}

/** Options of every mutating verb. */
export interface PublishOptions {
  /**
   * ISO time after which clients reject the new manifest, or `'never'`.
   * @default the current manifest's expiry (a store's expiry is kept across publishes until changed)
   */
  expires?: string;
  /**
   * Publish a change even when it leaves a live version's `--requires` range met by no live
   * version, or its shared dependencies' range met by no version the shell has (its clients all
   * fall back); the note then carries a warning. Rollbacks never refuse.
   * @default false
   */
  allowIncompatible?: boolean;
  /** Why the change is made, kept in its history entry (`advance` puts its decision and figures here). */
  because?: Record<string, unknown>;
}

/** A ramp plan: percents ending at 100, how long each step lasts, and the analysis' thresholds. */
export interface PlanOptions extends PublishOptions {
  steps: number[];
  stepMs: number;
  thresholds?: Partial<AnalysisThresholds>;
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
  /** The shell's shared dependencies' versions (`tranche shared`); absent until the store was told. */
  shared?: Record<string, string>;
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
  private readonly _options: StoreOptions;

  constructor(where: string | StoreBackend, options: StoreOptions = {}) {
    const { key, actor = currentActor(), lockTimeoutMs } = options;
    this.backend = backendAt(where, options.s3);
    this._options = options;
    this._publisher = { backend: this.backend, actor, lockTimeoutMs, signingKey: () => loadKey(key) };
  }

  /** Ingests a build directory as module@version (not live until promoted or rolled out). */
  release(buildDir: string, options: ReleaseOptions): Promise<ReleaseResult> {
    return releaseBuild(this.backend, buildDir, options, this._publisher.lockTimeoutMs);
  }

  /** Makes module@version stable for every client outside a rollout. */
  async promote(module: string, version: string, options?: PublishOptions): Promise<PublishResult> {
    checkTarget('promote', module, version);
    return this._publish('promote', { module, version }, (d) => changes.promote(d, module, version), options);
  }

  /** Starts or changes the rollout of module@version to `percent` (0..100, steps of 0.01). */
  async rollout(module: string, version: string, percent: number, options?: PublishOptions): Promise<PublishResult> {
    checkTarget('rollout', module, version);
    return this._publish('rollout', { module, version, percent }, (d) => changes.rollout(d, module, version, percent), options);
  }

  /**
   * Starts a ramp plan: rolls module@version out to the first step's percent now and keeps the
   * plan in the store (`plans/<module>.json`), replacing any earlier plan of the module;
   * `advance` moves it on (docs/progressive-rollouts.md).
   */
  async rolloutPlan(module: string, version: string, { steps, stepMs, thresholds, ...options }: PlanOptions): Promise<PublishResult> {
    checkTarget('rolloutPlan', module, version);
    return this.backend.exclusive(async () => {
      const now = Date.now();
      const plan: Plan = {
        format: 1,
        module,
        version,
        steps,
        stepMs,
        thresholds: { ...DEFAULT_THRESHOLDS, ...thresholds },
        state: 'running',
        step: 0,
        startedAt: now,
        stepStartedAt: now,
        extensions: 0,
        decisions: [],
      };
      const because = { plan: { steps, stepMs, thresholds: plan.thresholds } };
      const result = await this._held().rollout(module, version, steps[0]!, { ...options, because });
      plan.decisions.push({
        time: new Date(now).toISOString(),
        module,
        version,
        outcome: 'Started',
        action: `rollout ${steps[0]}%`,
        reason: `plan ${steps.join(',')}% every ${stepMs} ms`,
        step: 0,
        percent: steps[0]!,
      });
      await writePlan(this.backend, plan);
      return { ...result, note: `${result.note}; plan ${steps.join(',')}% started (tranche advance moves it on)` };
    }, this._publisher.lockTimeoutMs);
  }

  /** Every ramp plan in the store (running or not), by module. */
  plans(): Promise<Plan[]> {
    return readPlans(this.backend);
  }

  /**
   * Evaluates every running plan once against `metrics` and publishes what it decides, under the
   * store lock (safe from cron beside people using the CLI). Returns the decisions it recorded.
   */
  async advance(metrics: MetricsSource, { now = Date.now() }: { now?: number } = {}): Promise<Decision[]> {
    return this.backend.exclusive(async () => {
      const decisions: Decision[] = [];
      const held = this._held();
      for (const stored of await readPlans(this.backend)) {
        if (stored.state !== 'running' && stored.state !== 'paused') continue;
        const manifest = await readCurrentManifest(this.backend);
        const history = await held.history(stored.module);
        const total = await metrics.figures({ from: stored.startedAt, to: now });
        const step = await metrics.figures({ from: stored.stepStartedAt, to: now });
        const arms = (figures: typeof total) => ({
          canary: armOf(figures, stored.module, stored.version),
          stable: armOf(figures, stored.module, manifest?.modules[stored.module]?.stable ?? ''),
        });
        const verdict = decide(stored, {
          now,
          module: manifest?.modules[stored.module] ?? null,
          lastChange: history.at(-1) ?? null,
          total: arms(total),
          step: arms(step),
        });
        if (!verdict.decision) continue;
        const because = { advance: { ...verdict.decision } };
        const { action } = verdict;
        if (action.kind === 'rollout') await held.rollout(stored.module, stored.version, action.percent, { because });
        else if (action.kind === 'promote') await held.promote(stored.module, stored.version, { because });
        else if (action.kind === 'rollback') await held.rollback(stored.module, { because });
        else if (action.kind === 'pause') await held.pause(stored.module, { because });
        await writePlan(this.backend, verdict.plan);
        decisions.push(verdict.decision);
      }
      return decisions;
    }, this._publisher.lockTimeoutMs);
  }

  /** This store as seen by a caller already holding its lock. */
  private _held(): ReleaseStore {
    const backend = this.backend;
    const held = new Proxy(backend, {
      get: (target, prop) =>
        prop === 'exclusive'
          ? <T>(fn: () => Promise<T>) => fn()
          : typeof Reflect.get(target, prop) === 'function'
            ? (Reflect.get(target, prop) as (...a: unknown[]) => unknown).bind(target)
            : Reflect.get(target, prop),
    });
    return new ReleaseStore(held, this._options);
  }

  /** Freezes a module's rollouts; `rollout` and `promote` refuse until `resume`. */
  async pause(module: string, options?: PublishOptions): Promise<PublishResult> {
    checkModule(module, 'pause() module');
    return this._publish('pause', { module }, (d) => changes.pause(d, module), options);
  }

  /** Lifts `pause`. */
  async resume(module: string, options?: PublishOptions): Promise<PublishResult> {
    checkModule(module, 'resume() module');
    return this._publish('resume', { module }, (d) => changes.resume(d, module), options);
  }

  /** Ends live rollouts or reverts the last promote, blocking what was abandoned (see docs/cli.md). */
  async rollback(module: string, options: PublishOptions & { to?: string } = {}): Promise<PublishResult> {
    checkModule(module, 'rollback() module');
    if (options.to !== undefined) checkVersion(options.to, 'rollback() to');
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
  async unblock(module: string, version: string, options?: PublishOptions): Promise<PublishResult> {
    checkTarget('unblock', module, version);
    return this._publish('unblock', { module, version }, (d) => changes.unblock(d, module, version), options);
  }

  /** Turns the kill switch on (every worker unregisters itself) or off. */
  setKillSwitch(on: boolean, options?: PublishOptions): Promise<PublishResult> {
    return this._publish('kill-switch', { on }, (d) => changes.setKillSwitch(d, on), options);
  }

  /**
   * Records the versions of the shared dependencies the app's shell provides: `shared` (package ->
   * version), or the path of an app build whose tranche-shared.json (written by `trancheApp()`)
   * says them. From then on `promote` and `rollout` refuse a version whose `requiresShared` they do
   * not meet, and so does this when a live version would be left unmet (docs/manifest.md, "Shared dependencies").
   */
  async setShared(shared: string | Readonly<Record<string, string>>, options?: PublishOptions): Promise<PublishResult> {
    const versions =
      typeof shared === 'string' ? await readSharedInfo(shared) : parseDocument(sharedVersionsSchema, shared, 'setShared() shared');
    return this._publish('shared', { shared: versions }, (d) => changes.setShared(d, versions), options);
  }

  /**
   * Key rotation: makes the store trust `publicKey` (a JWK, or the path of a JWK file) to sign its
   * manifests from now on, besides the keys it trusts already. Published as a manifest signed
   * with this store's `key`, which must be trusted, and recorded in history as `keys-add`.
   */
  async trustKey(publicKey: string | object, options?: PublishOptions): Promise<PublishResult> {
    const where = typeof publicKey === 'string' ? `keys add ${publicKey}` : 'trustKey() publicKey';
    const jwk = typeof publicKey === 'string' ? await readJwkFile(publicKey, 'keys add') : publicKey;
    if (typeof jwk === 'object' && jwk !== null && 'd' in jwk)
      throw new TrancheError('invalid-argument', {
        where,
        problem: `is a private key (it has "d"); give its public part (public.jwk): a store's keys are served to anyone`,
      });
    await trustKeys([jwk], where);
    const keyId = await keyIdOf(jwk as Ed25519Jwk);
    if ((await storeKeys(this.backend)).keys.has(keyId)) {
      const { sequence } = await this.status();
      return { changed: false, sequence, note: `key ${keyId} is already trusted; nothing changed` };
    }
    const note = `key ${keyId} is trusted from now on; list it in the workers' publicKeys before publishing with it`;
    return this._publish('keys-add', { keyId }, () => note, options, { jwk: jwk as Ed25519Jwk, keyId });
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
    const { sequence, killSwitch, published, expires, keyId, shared } = manifest;
    return { sequence, killSwitch, modules, ...(shared ? { shared } : {}), published, keyId, ...(expires ? { expires } : {}) };
  }

  /** Every released version of every module (released, not necessarily live), oldest first. */
  releases(): Promise<Record<string, string[]>> {
    return releasedVersions(this.backend);
  }

  /**
   * Committed changes, oldest first: all, or those touching `module` (store-wide ones such as the
   * kill switch or keys touch every module).
   */
  async history(module?: string): Promise<HistoryEntry[]> {
    if (module !== undefined) checkModule(module, 'history() module');
    const sequence = (await readCurrentManifest(this.backend))?.sequence ?? 0;
    const entries = await readHistory(this.backend, sequence);
    // Store-wide changes (kill switch, keys, expiry) touch every module.
    return module === undefined ? entries : entries.filter((e) => module in e.modules || e.killSwitch || !Object.keys(e.modules).length);
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

  /**
   * Publishes this store to `target` (a directory or `s3://bucket/prefix`): the records, files and
   * keys it lacks, then the manifest, unless the target's is as new or newer, or signed by a key
   * this store does not trust (docs/cli.md, "publish --to").
   */
  publishTo(target: string | StoreBackend, options?: TransferOptions): Promise<TransferResult> {
    return publishStore(this.backend, backendAt(target, this._options.s3), options);
  }

  /** Copies the release module@version to `target`, same bytes and hashes; not live there until promoted. */
  async copyTo(target: string | StoreBackend, module: string, version: string, options?: TransferOptions): Promise<TransferResult> {
    checkTarget('copyTo', module, version);
    return copyRelease(this.backend, backendAt(target, this._options.s3), module, version, options);
  }

  /** Checks signature, schema, records and file hashes; never throws for a problem it can report. */
  verify(options?: VerifyStoreOptions): Promise<VerifyReport> {
    return verifyStore(this.backend, options);
  }

  private async _publish(
    verb: string,
    args: Record<string, unknown>,
    change: Change,
    { expires, allowIncompatible = false, because }: PublishOptions = {},
    trust?: PublishHow['trust'],
  ): Promise<PublishResult> {
    const recorded = because === undefined ? args : { ...args, because };
    return publish(this._publisher, verb, recorded, change, {
      ...(expires === undefined ? {} : { expires: checkExpires(expires) }),
      incompatible: allowIncompatible ? 'warn' : 'refuse',
      ...(trust ? { trust } : {}),
    });
  }
}

/** Opens the store in a directory (created on first write), at `s3://bucket/prefix`, or in `backend`. */
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

/** Checks a method's module and version before anything is read (releaseNames.ts). */
function checkTarget(method: string, module: string, version: string): void {
  checkModule(module, `${method}() module`);
  checkVersion(version, `${method}() version`);
}

function checkExpires(expires: string): string {
  if (expires === 'never') return expires;
  const time = Date.parse(expires);
  if (Number.isNaN(time))
    throw new TrancheError('invalid-argument', {
      where: `--expires ${expires}`,
      problem: `expected an ISO time such as 2030-01-31T00:00:00Z`,
    });
  if (time <= Date.now())
    throw new TrancheError('invalid-argument', {
      where: `--expires ${expires}`,
      problem: `is in the past; clients would reject the manifest at once`,
    });
  return new Date(time).toISOString();
}
