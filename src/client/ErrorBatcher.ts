/**
 * Batches error reports so that an error storm neither stalls the page nor floods the worker:
 * errors are counted per module@version and kind and sent at most once per `flushMs`; past
 * `budget` errors in one batch, further errors are only counted (`dropped`), without being
 * described. The first `budget` per batch are more than any fallback threshold needs.
 */
import { releaseKey } from '../core/names.js';
import {
  MAX_BATCH_ENTRIES,
  MAX_MESSAGE_CHARS,
  MAX_SAMPLES,
  MAX_STACK_CHARS,
  type ErrorEntry,
  type ErrorKind,
} from '../core/clientMessages.js';
import type { ModuleRef } from '../core/attribution.js';

/** One error, as the batcher counts it. */
export interface ErrorReport {
  ref: ModuleRef | null;
  kind: ErrorKind;
  message: string;
  stack?: string;
}

/** What one flush sends. */
export interface ErrorBatch {
  entries: ErrorEntry[];
  dropped: number;
}

/** Batching limits. Every field is optional. */
interface ErrorBatcherOptions {
  /**
   * How long errors are collected before they are sent together.
   * @default 250
   */
  flushMs?: number;
  /**
   * Errors described per batch; past it they are only counted as `dropped`.
   * @default 100
   */
  budget?: number;
}

/** Collects error reports and sends them in batches through `send`. */
export class ErrorBatcher {
  private readonly _flushMs: number;
  private readonly _budget: number;
  private readonly _entries = new Map<string, ErrorEntry>();
  private _described = 0;
  private _dropped = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly _send: (batch: ErrorBatch) => void,
    { flushMs = 250, budget = 100 }: ErrorBatcherOptions = {},
  ) {
    this._flushMs = flushMs;
    this._budget = budget;
  }

  /**
   * Counts one error. `describe` is called only while the batch is under budget, so a storm
   * costs a counter increment per error once the budget is spent; it returns null for an error
   * its caller will report later (once it knows what to blame).
   */
  report(describe: () => ErrorReport | null): void {
    this._timer ??= setTimeout(() => this.flush(), this._flushMs);
    if (this._described >= this._budget) {
      this._dropped++;
      return;
    }
    this._described++;
    const report = describe();
    if (report === null) return;
    const key = `${report.ref ? releaseKey(report.ref.module, report.ref.version) : ''}#${report.kind}`;
    let entry = this._entries.get(key);
    if (!entry) {
      if (this._entries.size >= MAX_BATCH_ENTRIES) {
        this._dropped++;
        return;
      }
      entry = { module: report.ref?.module ?? null, version: report.ref?.version ?? null, kind: report.kind, count: 0, samples: [] };
      this._entries.set(key, entry);
    }
    entry.count++;
    if (entry.samples.length < MAX_SAMPLES) {
      entry.samples.push({
        message: report.message.slice(0, MAX_MESSAGE_CHARS),
        ...(report.stack !== undefined && { stack: report.stack.slice(0, MAX_STACK_CHARS) }),
      });
    }
  }

  /** Sends what was collected, if anything, and starts a new batch (and budget). */
  flush(): void {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    if (this._entries.size === 0 && this._dropped === 0) return;
    const batch = { entries: [...this._entries.values()], dropped: this._dropped };
    this._entries.clear();
    this._described = 0;
    this._dropped = 0;
    this._send(batch);
  }
}
