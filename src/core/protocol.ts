/**
 * The wire protocol between pages and the tranche service worker (docs/service-worker.md,
 * "Messages"). Both sides import these types, so a message the worker sends is exactly what
 * the page client expects. Tags are SCREAMING_SNAKE; every message is checked with a guard
 * before it is trusted, because any script in the origin can post to the worker.
 */

/** Why staging a module version failed. */
export type StagingFailureReason = 'download' | 'integrity' | 'quota';
/** Why a fetched manifest was not accepted. */
export type ManifestRejectionReason = 'download' | 'signature' | 'sequence' | 'expired' | 'schema';
/** Every reason code a `STAGING_FAILED` or `MANIFEST_REJECTED` event carries. */
export type FailureReason = StagingFailureReason | ManifestRejectionReason;

/** The id of the JSON element the worker injects into each page's HTML. */
export const SNAPSHOT_ELEMENT_ID = 'tranche-snapshot';

/**
 * The module versions one page load runs, fixed for the page's whole life. `id` is a nonce
 * unique to the page load, so anything the page vouches for (readiness) is credited to
 * exactly this load and never to another page running other versions.
 */
export interface Snapshot {
  id: string;
  /** Sequence of the manifest that was accepted when the snapshot was taken (0: none yet). */
  sequence: number;
  /** Module name -> version. A module without a staged version is absent. */
  modules: Record<string, string>;
  /** When the snapshot was taken (ISO-8601). */
  created: string;
  /** Forced versions from a `?tranche=` query that were refused, each with its reason. */
  overrideErrors?: string[];
}

/** The worker's overall condition; `why` in `WorkerState` says what caused it. */
export type WorkerCondition =
  /** Running on the newest manifest it could fetch. */
  | 'NORMAL'
  /** The last manifest check failed (rejected or unreachable): running on the last accepted one. */
  | 'STALE'
  /** The manifest's kill switch is on: the worker stopped intercepting and unregistered. */
  | 'DISABLED';

// === Worker -> page events (broadcast to every window client) ===

/** The manifest assigns this client a version of a module that is not its current one. */
export interface VersionDetectedEvent {
  type: 'VERSION_DETECTED';
  module: string;
  version: string;
  current: string | null;
}
/** Staging progress: files and bytes verified and stored so far, of the totals. */
export interface StagingProgressEvent {
  type: 'STAGING_PROGRESS';
  module: string;
  version: string;
  files: { done: number; total: number };
  bytes: { done: number; total: number };
}
/** Every file of module@version is verified and stored. */
export interface VersionStagedEvent {
  type: 'VERSION_STAGED';
  module: string;
  version: string;
}
/** Staging module@version failed; it is retried at `retryAt` (epoch ms). */
export interface StagingFailedEvent {
  type: 'STAGING_FAILED';
  module: string;
  version: string;
  reason: StagingFailureReason;
  message: string;
  retryAt: number;
}
/** module@version is now what new page loads get; open pages keep their snapshot. */
export interface VersionActivatedEvent {
  type: 'VERSION_ACTIVATED';
  module: string;
  version: string | null;
  previous: string | null;
}
/** A fetched manifest was refused; the worker keeps running on the last accepted one. */
export interface ManifestRejectedEvent {
  type: 'MANIFEST_REJECTED';
  reason: ManifestRejectionReason;
  message: string;
}
/** The kill switch is on: the worker has stopped intercepting and unregisters. */
export interface WorkerDisabledEvent {
  type: 'WORKER_DISABLED';
}

/** Every event the worker broadcasts to pages. */
export type WorkerEvent =
  | VersionDetectedEvent
  | StagingProgressEvent
  | VersionStagedEvent
  | StagingFailedEvent
  | VersionActivatedEvent
  | ManifestRejectedEvent
  | WorkerDisabledEvent;
/** The tag of a worker event. */
export type WorkerEventType = WorkerEvent['type'];

const WORKER_EVENT_TYPES: ReadonlySet<string> = new Set<WorkerEventType>([
  'VERSION_DETECTED',
  'STAGING_PROGRESS',
  'VERSION_STAGED',
  'STAGING_FAILED',
  'VERSION_ACTIVATED',
  'MANIFEST_REJECTED',
  'WORKER_DISABLED',
]);

/** True when `data` (a `message` event's data) is a tranche worker event. */
export function isWorkerEvent(data: unknown): data is WorkerEvent {
  return typeof data === 'object' && data !== null && WORKER_EVENT_TYPES.has((data as { type?: unknown }).type as string);
}

// === Page -> worker requests (answered on the MessageChannel port sent along) ===

/** Fetch and verify the manifest now. Answered with a `CheckResult`. */
export interface CheckForUpdatesRequest {
  type: 'CHECK_FOR_UPDATES';
}
/** Answered with the `WorkerState` as seen by the asking page. */
export interface GetStateRequest {
  type: 'GET_STATE';
}
/** Sets (or with `null` clears) the app identity that takes precedence over the anonymous id. */
export interface SetIdentityRequest {
  type: 'SET_IDENTITY';
  userId: string | null;
}
/** QA: forces (or with `null` releases) a released version of a module on this browser. */
export interface SetOverrideRequest {
  type: 'SET_OVERRIDE';
  module: string;
  version: string | null;
}

/** Every request a page may send. */
export type PageRequest = CheckForUpdatesRequest | GetStateRequest | SetIdentityRequest | SetOverrideRequest;

/** Longest app identity accepted: ids are hashed for bucketing and stored, never displayed. */
export const MAX_USER_ID_LENGTH = 256;

/** True when `data` is a well-formed page request. */
export function isPageRequest(data: unknown): data is PageRequest {
  if (typeof data !== 'object' || data === null) return false;
  const msg = data as Record<string, unknown>;
  switch (msg.type) {
    case 'CHECK_FOR_UPDATES':
    case 'GET_STATE':
      return true;
    case 'SET_IDENTITY':
      return msg.userId === null || (typeof msg.userId === 'string' && msg.userId.length > 0 && msg.userId.length <= MAX_USER_ID_LENGTH);
    case 'SET_OVERRIDE':
      return typeof msg.module === 'string' && (msg.version === null || typeof msg.version === 'string');
    default:
      return false;
  }
}

/** What a manifest check found. */
export interface CheckResult {
  outcome: 'updated' | 'unchanged' | 'rejected';
  /** Sequence of the manifest the worker runs on after the check (0: none accepted yet). */
  sequence: number;
  reason?: ManifestRejectionReason;
  message?: string;
}

/** One module as the worker sees it for this browser. */
export interface WorkerModuleState {
  /** What new page loads get (null: nothing staged yet; module files come from the network). */
  current: string | null;
  /** What the manifest assigns this client, and the bucket (0..9999) that decided it. */
  assigned: { version: string; bucket: number; sequence: number } | null;
  /** A QA override in force, and when it lapses (epoch ms). */
  override: { version: string; expires: number } | null;
  /** Earlier good versions kept for fallback, newest first. */
  previous: string[];
  /** The version being staged and its last failure, if any. */
  staging: { version: string; failure: { reason: StagingFailureReason; message: string; retryAt: number } | null } | null;
}

/** Answer to `GET_STATE`. */
export interface WorkerState {
  condition: WorkerCondition;
  /** Why the worker is in this condition: `(nominal)` or the reason code and message. */
  why: string;
  sequence: number;
  identity: 'anonymous' | 'app';
  /** This browser's anonymous client id (what telemetry reports; buckets use the app identity when one is set). */
  clientId: string;
  /** The asking page's snapshot (null for a page the worker never served). */
  snapshot: Snapshot | null;
  modules: Record<string, WorkerModuleState>;
}

/** The answer to a request, posted on the request's MessageChannel port. */
export type Reply<T = unknown> =
  { type: 'REPLY'; ok: true; result: T } | { type: 'REPLY'; ok: false; error: { code: string; message: string } };
