/**
 * The worker's check of the fallback messages pages send (clientMessages.ts): any script of the
 * origin can post to the worker, so nothing is acted on before it passed these schemas.
 */
import * as v from 'valibot';
import { MODULE_NAME } from './names.js';
import { parseDocument } from './validate.js';
import {
  ERROR_KINDS,
  MAX_BATCH_ENTRIES,
  MAX_MESSAGE_CHARS,
  MAX_NONCE_CHARS,
  MAX_SAMPLES,
  MAX_STACK_CHARS,
  type ClientMessage,
} from './clientMessages.js';

const count = (what: string, min: number) =>
  v.pipe(v.number(`expected ${what}`), v.safeInteger(`expected ${what}`), v.minValue(min, `expected ${what}`));
const text = (max: number) => v.pipe(v.string('expected a string'), v.maxLength(max, `expected at most ${max} characters`));
const nonce = v.pipe(
  v.string('expected a snapshot nonce'),
  v.minLength(1, 'expected a snapshot nonce'),
  v.maxLength(MAX_NONCE_CHARS, `expected at most ${MAX_NONCE_CHARS} characters`),
);

const errorEntrySchema = v.pipe(
  v.object({
    module: v.nullable(v.pipe(v.string('expected a module name or null'), v.regex(MODULE_NAME, 'expected a module name or null'))),
    version: v.nullable(
      v.pipe(
        v.string('expected a version or null'),
        v.minLength(1, 'expected a version or null'),
        v.maxLength(64, 'expected at most 64 characters'),
      ),
    ),
    kind: v.picklist(ERROR_KINDS, `expected one of ${ERROR_KINDS.join(', ')}`),
    count: count('a count (integer >= 1)', 1),
    samples: v.pipe(
      v.array(v.object({ message: text(MAX_MESSAGE_CHARS), stack: v.optional(text(MAX_STACK_CHARS)) }), 'expected an array of samples'),
      v.maxLength(MAX_SAMPLES, `expected at most ${MAX_SAMPLES} samples`),
    ),
  }),
  v.check((e) => (e.module === null) === (e.version === null), 'expected module and version both set or both null'),
);

/** `READY`: see `ReadyRequest`. */
export const readyRequestSchema = v.object({ type: v.literal('READY'), nonce: v.nullable(nonce) });

/** `REPORT_ERRORS`: see `ReportErrorsMessage`. */
export const reportErrorsMessageSchema = v.object({
  type: v.literal('REPORT_ERRORS'),
  nonce: v.nullable(nonce),
  entries: v.pipe(
    v.array(errorEntrySchema, 'expected an array of entries'),
    v.maxLength(MAX_BATCH_ENTRIES, `expected at most ${MAX_BATCH_ENTRIES} entries`),
  ),
  dropped: count('a count (integer >= 0)', 0),
});

const clientMessageSchema = v.variant('type', [readyRequestSchema, reportErrorsMessageSchema], 'expected type READY or REPORT_ERRORS');

/** True when `data` is a well-formed `READY` or `REPORT_ERRORS` (`parseClientMessage` says what is wrong). */
export function isClientMessage(data: unknown): data is ClientMessage {
  return v.is(clientMessageSchema, data);
}

/** Checks a page message, throwing `invalid-document` naming every problem. */
export function parseClientMessage(data: unknown): ClientMessage {
  return parseDocument(clientMessageSchema, data, 'page message');
}
