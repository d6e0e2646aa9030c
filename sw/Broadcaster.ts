/**
 * Tells pages and the telemetry hook what happened. Delivery never blocks the caller and a
 * failing hook or a closed page never breaks the worker.
 */
import type { WorkerEvent } from '../src/core/protocol.js';
import type { Adapter } from './Adapter.js';
import type { TrancheEvent } from './options.js';

/** Sends worker events to every window client and to `onEvent`. */
export class Broadcaster {
  constructor(
    private readonly _adapter: Adapter,
    private readonly _onEvent: ((event: TrancheEvent) => void | Promise<void>) | null,
  ) {}

  /** Gives `event` to the hook now and to every open page; resolves once posted. */
  async emit(event: WorkerEvent): Promise<void> {
    this.notify(event);
    for (const client of await this._adapter.clients()) {
      if (client.type !== 'window') continue;
      try {
        client.postMessage(event);
      } catch {
        // A page that is going away cannot be told; it will read the state when it asks.
      }
    }
  }

  /** Gives `event` to the telemetry hook only (exposures are not for pages). */
  notify(event: TrancheEvent): void {
    if (!this._onEvent) return;
    try {
      Promise.resolve(this._onEvent(event)).catch(() => undefined);
    } catch {
      // The hook is app code: its failure must not stop a fetch or a staging.
    }
  }
}
