/**
 * Tells pages and the hooks (the app's `onEvent`, the telemetry queue) what happened. Delivery
 * never blocks the caller, and a failing hook or a closed page never breaks the worker.
 */
import type { Adapter } from './Adapter.js';
import type { BroadcastEvent, WorkerHookEvent } from './options.js';

/** Something that watches every event; called synchronously, so it must be cheap. */
export type EventHook = (event: WorkerHookEvent) => void | Promise<void>;

/** Sends worker events to every window client and to the hooks. */
export class Broadcaster {
  private readonly _hooks: EventHook[];

  constructor(
    private readonly _adapter: Adapter,
    hooks: readonly (EventHook | null)[],
  ) {
    this._hooks = hooks.filter((hook): hook is EventHook => hook !== null);
  }

  /** Gives `event` to the hooks now and to every open page but `except` (a client id); resolves once posted. */
  async emit(event: BroadcastEvent, except: string | null = null): Promise<void> {
    this.notify(event);
    for (const client of await this._adapter.clients()) {
      if (client.type !== 'window' || client.id === except) continue;
      try {
        client.postMessage(event);
      } catch {
        // A page that is going away cannot be told; it will read the state when it asks.
      }
    }
  }

  /** Gives `event` to the hooks only (exposures, readiness and error reports are not for pages). */
  notify(event: WorkerHookEvent): void {
    for (const hook of this._hooks) {
      try {
        Promise.resolve(hook(event)).catch(() => undefined);
      } catch {
        // The hook is app code: its failure must not stop a fetch or a staging.
      }
    }
  }
}
