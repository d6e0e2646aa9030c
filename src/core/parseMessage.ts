/**
 * The one check of every message between pages and the worker, in both directions: page
 * requests and fallback messages (any script of the origin can post to the worker), the worker's
 * broadcasts and its replies (a page acts on nothing malformed). The types live in protocol.ts
 * and clientMessages.ts; each schema here is tested to infer exactly its type.
 */
import * as v from 'valibot';
import { MODULE_NAME } from './names.js';
import { parseDocument } from './validate.js';
import {
  ERROR_KINDS,
  FALLBACK_REASONS,
  MAX_BATCH_ENTRIES,
  MAX_MESSAGE_CHARS,
  MAX_NONCE_CHARS,
  MAX_SAMPLES,
  MAX_STACK_CHARS,
  type RolledBackEvent,
} from './clientMessages.js';
import {
  MANIFEST_REJECTION_REASONS,
  MAX_USER_ID_LENGTH,
  STAGING_FAILURE_REASONS,
  type PageMessage,
  type Reply,
  type WorkerEvent,
} from './protocol.js';

/** Longest version string a message may carry (a manifest's versions are far shorter). */
const MAX_VERSION_CHARS = 64;

const count = (what: string, min: number) =>
  v.pipe(v.number(`expected ${what}`), v.safeInteger(`expected ${what}`), v.minValue(min, `expected ${what}`));
const text = (max: number) => v.pipe(v.string('expected a string'), v.maxLength(max, `expected at most ${max} characters`));
const nonce = v.pipe(
  v.string('expected a snapshot nonce'),
  v.minLength(1, 'expected a snapshot nonce'),
  v.maxLength(MAX_NONCE_CHARS, `expected at most ${MAX_NONCE_CHARS} characters`),
);
const moduleName = v.pipe(v.string('expected a module name'), v.regex(MODULE_NAME, 'expected a module name'));
const version = v.pipe(
  v.string('expected a version'),
  v.minLength(1, 'expected a version'),
  v.maxLength(MAX_VERSION_CHARS, `expected at most ${MAX_VERSION_CHARS} characters`),
);
const progress = v.object({ done: count('a count', 0), total: count('a count', 0) });

// === Page -> worker ===

const errorEntrySchema = v.pipe(
  v.object({
    module: v.nullable(v.pipe(v.string('expected a module name or null'), v.regex(MODULE_NAME, 'expected a module name or null'))),
    version: v.nullable(
      v.pipe(
        v.string('expected a version or null'),
        v.minLength(1, 'expected a version or null'),
        v.maxLength(MAX_VERSION_CHARS, `expected at most ${MAX_VERSION_CHARS} characters`),
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

/** `CHECK_FOR_UPDATES`: see `CheckForUpdatesRequest`. */
export const checkForUpdatesRequestSchema = v.object({ type: v.literal('CHECK_FOR_UPDATES') });
/** `GET_STATE`: see `GetStateRequest`. */
export const getStateRequestSchema = v.object({ type: v.literal('GET_STATE') });
/** `SET_IDENTITY`: see `SetIdentityRequest`. */
export const setIdentityRequestSchema = v.object({
  type: v.literal('SET_IDENTITY'),
  userId: v.nullable(
    v.pipe(
      v.string('expected a user id or null'),
      v.minLength(1, 'expected a user id or null'),
      v.maxLength(MAX_USER_ID_LENGTH, `expected at most ${MAX_USER_ID_LENGTH} characters`),
    ),
  ),
});
/** `SET_OVERRIDE`: see `SetOverrideRequest`. */
export const setOverrideRequestSchema = v.object({ type: v.literal('SET_OVERRIDE'), module: moduleName, version: v.nullable(version) });
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

const PAGE_MESSAGE_SCHEMAS = [
  checkForUpdatesRequestSchema,
  getStateRequestSchema,
  setIdentityRequestSchema,
  setOverrideRequestSchema,
  readyRequestSchema,
  reportErrorsMessageSchema,
] as const;
const pageMessageSchema = v.variant(
  'type',
  PAGE_MESSAGE_SCHEMAS,
  `expected type ${PAGE_MESSAGE_SCHEMAS.map((s) => s.entries.type.literal).join(', ')}`,
);

/** True when `data` (a `message` event's data) is a well-formed page message; anything else is the app's own. */
export function isPageMessage(data: unknown): data is PageMessage {
  return v.is(pageMessageSchema, data);
}

/** Checks a page message, throwing `invalid-document` naming every problem. */
export function parsePageMessage(data: unknown): PageMessage {
  return parseDocument(pageMessageSchema, data, 'page message');
}

// === Worker -> page ===

const ref = { module: moduleName, version };
/** The worker's broadcasts, by tag (protocol.ts `WorkerEvent`, clientMessages.ts `RolledBackEvent`). */
export const broadcastSchemas = {
  VERSION_DETECTED: v.object({ type: v.literal('VERSION_DETECTED'), ...ref, current: v.nullable(version) }),
  STAGING_PROGRESS: v.object({ type: v.literal('STAGING_PROGRESS'), ...ref, files: progress, bytes: progress }),
  VERSION_STAGED: v.object({ type: v.literal('VERSION_STAGED'), ...ref }),
  STAGING_FAILED: v.object({
    type: v.literal('STAGING_FAILED'),
    ...ref,
    reason: v.picklist(STAGING_FAILURE_REASONS),
    message: v.string(),
    retryAt: v.number(),
  }),
  VERSION_ACTIVATED: v.object({
    type: v.literal('VERSION_ACTIVATED'),
    module: moduleName,
    version: v.nullable(version),
    previous: v.nullable(version),
  }),
  MANIFEST_REJECTED: v.object({
    type: v.literal('MANIFEST_REJECTED'),
    reason: v.picklist(MANIFEST_REJECTION_REASONS),
    message: v.string(),
  }),
  SHELL_UPDATED: v.object({ type: v.literal('SHELL_UPDATED') }),
  WORKER_DISABLED: v.object({ type: v.literal('WORKER_DISABLED') }),
  ROLLED_BACK: v.object({ type: v.literal('ROLLED_BACK'), ...ref, reason: v.picklist(FALLBACK_REASONS), to: v.nullable(version) }),
} as const;
const broadcastSchema = v.variant('type', Object.values(broadcastSchemas));

/** True when `data` is a well-formed broadcast of the worker. */
export function isBroadcast(data: unknown): data is WorkerEvent | RolledBackEvent {
  return v.is(broadcastSchema, data);
}

const replySchema = v.union([
  v.object({ type: v.literal('REPLY'), ok: v.literal(true), result: v.unknown() }),
  v.object({
    type: v.literal('REPLY'),
    ok: v.literal(false),
    error: v.object({ code: v.string(), message: v.string(), details: v.record(v.string(), v.unknown()) }),
  }),
]);

/** True when `data` is a well-formed reply to a page request. */
export function isReply(data: unknown): data is Reply {
  return v.is(replySchema, data);
}
