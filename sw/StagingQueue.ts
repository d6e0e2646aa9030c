/**
 * When staging runs: at most one staging per module at a time (modules are independent, so
 * one failing module blocks no other), a retry timer per failed module, and clean-up only
 * when no staging or commit is in flight (and no staging starting while it runs).
 */
import type { Adapter } from './Adapter.js';

/** What the queue runs; Modules (sw/Modules.ts) implements it. */
interface StagingWork {
  /** Stages and commits what `module` is moving to; returns when to retry (epoch ms) or null. */
  stage(module: string, signal: AbortSignal): Promise<number | null>;
  cleanUp(): Promise<void>;
  /** Keeps the worker alive until `work` settles. */
  track(work: Promise<unknown>): void;
}

/** Schedules staging per module and clean-up between stagings. */
export class StagingQueue {
  private readonly _running = new Map<string, Promise<void>>();
  private readonly _again = new Set<string>();
  private readonly _timers = new Map<string, unknown>();
  private readonly _abort = new AbortController();
  private _cleaning: Promise<void> | null = null;
  private _stopped = false;

  constructor(
    private readonly _adapter: Adapter,
    private readonly _work: StagingWork,
  ) {}

  /** Runs staging for `module` now, or once more after the run in flight. */
  kick(module: string): void {
    if (this._stopped) return;
    if (this._running.has(module)) {
      this._again.add(module);
      return;
    }
    this._clearTimer(module);
    const run = this._run(module).finally(() => {
      this._running.delete(module);
      if (this._again.delete(module)) this.kick(module);
      else this.cleanUpWhenIdle();
    });
    this._running.set(module, run);
    this._work.track(run);
  }

  /** Resolves when no clean-up is running. */
  async quiet(): Promise<void> {
    while (this._cleaning) await this._cleaning;
  }

  /** Waits until none of `modules` is staging, or `ms` passed. */
  async settle(modules: readonly string[], ms: number): Promise<void> {
    let timer: unknown;
    const timeout = new Promise<void>((resolve) => (timer = this._adapter.setTimeout(resolve, ms)));
    let expired = false;
    void timeout.then(() => (expired = true));
    for (;;) {
      const busy = modules.map((m) => this._running.get(m)).filter((p) => p !== undefined);
      if (busy.length === 0 || expired) break;
      await Promise.race([Promise.allSettled(busy), timeout]);
    }
    this._adapter.clearTimeout(timer);
  }

  /** Stops scheduling (timers die with the worker anyway). */
  stop(): void {
    this._stopped = true;
    for (const module of [...this._timers.keys()]) this._clearTimer(module);
  }

  /** Stops scheduling, aborts the downloads in flight and waits for every run to end. */
  async abort(): Promise<void> {
    this.stop();
    this._abort.abort();
    await Promise.allSettled([...this._running.values(), this._cleaning]);
  }

  private async _run(module: string): Promise<void> {
    await this.quiet();
    const retryAt = await this._work.stage(module, this._abort.signal);
    if (retryAt === null || this._stopped) return;
    this._timers.set(
      module,
      this._adapter.setTimeout(
        () => {
          this._timers.delete(module);
          this.kick(module);
        },
        Math.max(0, retryAt - this._adapter.now()),
      ),
    );
  }

  /** Cleans up now if no staging runs, else after the last one ends. */
  cleanUpWhenIdle(): void {
    if (this._running.size > 0 || this._cleaning || this._stopped) return;
    this._cleaning = this._work.cleanUp().finally(() => (this._cleaning = null));
    this._work.track(this._cleaning);
  }

  private _clearTimer(module: string): void {
    const timer = this._timers.get(module);
    if (timer === undefined) return;
    this._adapter.clearTimeout(timer);
    this._timers.delete(module);
  }
}
