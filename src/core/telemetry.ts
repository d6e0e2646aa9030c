/**
 * Telemetry batches: what a worker sends to the collector endpoint and what the collector
 * accepts. One schema for both sides, so a collector never trusts a body it did not check.
 */
import * as v from 'valibot';
import { MODULE_NAME } from './manifest.js';
import { parseDocument } from './validate.js';

/** A collector refuses bodies larger than this (HTTP 413); a worker never builds one. */
export const MAX_BATCH_BYTES = 256 * 1024;
/** A worker sends at most this many events per batch. */
export const MAX_BATCH_EVENTS = 500;
/**
 * Most errors one `errors` event may stand for. A worker sums a page's errors per batch interval
 * and clamps at this; a collector refuses more, so no sum of stored counts can overflow.
 */
export const MAX_EVENT_COUNT = 100_000;

/** What happened, from the client's point of view. */
export const TELEMETRY_TYPES = ['exposure', 'healthy-boot', 'errors', 'rollback', 'staging-failed', 'manifest-rejected'] as const;

const text = (max: number) =>
  v.pipe(
    v.string('expected a string'),
    v.minLength(1, 'expected a non-empty string'),
    v.maxLength(max, `expected at most ${max} characters`),
  );

const epochMs = v.pipe(
  v.number('expected epoch milliseconds'),
  v.integer('expected epoch milliseconds'),
  v.minValue(0, 'expected epoch milliseconds'),
);

const telemetryEventSchema = v.object({
  /** Unique per event (a UUID), so a collector drops the duplicates of a retried batch. */
  id: text(64),
  type: v.picklist(TELEMETRY_TYPES, `expected one of ${TELEMETRY_TYPES.join(', ')}`),
  time: epochMs,
  module: v.optional(v.pipe(v.string('expected a module name'), v.regex(MODULE_NAME, 'expected a module name'))),
  version: v.optional(text(64)),
  /** Reason code: a fallback reason for `rollback`, a failure code for `staging-failed` and `manifest-rejected`. */
  reason: v.optional(text(64)),
  /** How many errors an `errors` event stands for. */
  count: v.optional(
    v.pipe(
      v.number('expected a count'),
      v.integer('expected a count'),
      v.minValue(1, 'expected a count >= 1'),
      v.maxValue(MAX_EVENT_COUNT, `expected a count <= ${MAX_EVENT_COUNT}`),
    ),
  ),
  /** The version a `rollback` moved the client to. */
  to: v.optional(text(64)),
});

const telemetryBatchSchema = v.object({
  format: v.literal(1, 'expected format 1'),
  /** The anonymous client id (never the app identity). */
  client: text(64),
  /**
   * The worker's clock when it sent the batch (epoch ms). A collector shifts event times by the
   * difference to its own clock, so a client whose clock is off still reports in server time.
   * Optional: batches without it are taken at their word.
   */
  sent: v.optional(epochMs),
  // The count first: a batch of 10,000 events is refused for that, not checked event by event.
  events: v.pipe(
    v.array(v.unknown(), 'expected an array of events'),
    v.minLength(1, 'expected at least one event'),
    v.maxLength(MAX_BATCH_EVENTS, `expected at most ${MAX_BATCH_EVENTS} events`),
    v.array(telemetryEventSchema),
  ),
});

export type TelemetryEvent = v.InferOutput<typeof telemetryEventSchema>;
export type TelemetryBatch = v.InferOutput<typeof telemetryBatchSchema>;
export type TelemetryType = (typeof TELEMETRY_TYPES)[number];

/** Checks a received batch, throwing `invalid-document` with every problem named. */
export function parseTelemetryBatch(input: unknown): TelemetryBatch {
  return parseDocument(telemetryBatchSchema, input, 'telemetry batch');
}
