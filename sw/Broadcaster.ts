/**
 * Tells pages, the app's `onEvent` and telemetry what happened. Delivery to pages and hooks never
 * blocks the caller, and a failing hook or a closed page never breaks the worker; what telemetry
 * stores is awaited by whoever must not acknowledge work before its events are stored.
 */
import type { Adapter } from './Adapter.js';
import type { BroadcastEvent, WorkerHookEvent } from './options.js';

/** Something that watches every event; called synchronously, so it must be cheap. */
type EventHook = (event: WorkerHookEvent) => void | Promise<void>;

/** Sends worker events to every window client and to the hooks. */
export class Broadcaster {
  private readonly _hooks: EventHook[];

  /** `record` stores what telemetry reports of an event (sw/Telemetry.ts), resolving once stored. */
  constructor(
    private readonly _adapter: Adapter,
    hooks: readonly (EventHook | null)[],
    private readonly _record: ((event: WorkerHookEvent) => Promise<void>) | null,
  ) {
    this._hooks = hooks.filter((hook): hook is EventHook => hook !== null);
  }

  /** Gives `event` to the hooks now and to every open page but `except` (a client id); resolves once posted and stored. */
  async emit(event: BroadcastEvent, except: string | null = null): Promise<void> {
    const recorded = this.notify(event);
    for (const client of await this._adapter.clients()) {
      if (client.type !== 'window' || client.id === except) continue;
      try {
        client.postMessage(event);
      } catch {
        // A page that is going away cannot be told; it will read the state when it asks.
      }
    }
    await recorded;
  }

  /**
   * Gives `event` to the hooks only (exposures, readiness and error reports are not for pages);
   * resolves once telemetry stored it.
   */
  notify(event: WorkerHookEvent): Promise<void> {
    for (const hook of this._hooks) {
      try {
        Promise.resolve(hook(event)).catch(() => undefined);
      } catch {
        // The hook is app code: its failure must not stop a fetch or a staging.
      }
    }
    return this._record?.(event) ?? Promise.resolve();
  }
}
