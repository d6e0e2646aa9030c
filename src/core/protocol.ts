/**
 * The wire protocol between pages and the tranche service worker (docs/service-worker.md,
 * "Messages"). Both sides import these types, so a message the worker sends is exactly what
 * the page client expects. Tags are SCREAMING_SNAKE; every message is checked by the schemas of
 * parseMessage.ts before it is trusted, because any script in the origin can post to the worker.
 */

import type { ClientMessage } from './clientMessages.js';

/** Why staging a module version failed. */
export const STAGING_FAILURE_REASONS = ['download', 'integrity', 'quota'] as const;
/** Why staging a module version failed. */
export type StagingFailureReason = (typeof STAGING_FAILURE_REASONS)[number];
/** Why a fetched manifest was not accepted. */
export const MANIFEST_REJECTION_REASONS = ['download', 'signature', 'sequence', 'expired', 'schema'] as const;
/** Why a fetched manifest was not accepted. */
export type ManifestRejectionReason = (typeof MANIFEST_REJECTION_REASONS)[number];

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

/**
 * The app's HTML changed on the server: a refreshed copy differs from the one pages were served
 * (found after a navigation, or by a new worker that took over). The next page load gets it.
 */
export interface ShellUpdatedEvent {
  type: 'SHELL_UPDATED';
}

/** Every event the worker broadcasts to pages. */
export type WorkerEvent =
  | VersionDetectedEvent
  | StagingProgressEvent
  | VersionStagedEvent
  | StagingFailedEvent
  | VersionActivatedEvent
  | ManifestRejectedEvent
  | ShellUpdatedEvent
  | WorkerDisabledEvent;
/** The tag of a worker event. */
export type WorkerEventType = WorkerEvent['type'];

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
/** Everything a page may post to the worker: its requests and the fallback messages (clientMessages.ts). */
export type PageMessage = PageRequest | ClientMessage;

/** Longest app identity accepted: ids are hashed for bucketing and stored, never displayed. */
export const MAX_USER_ID_LENGTH = 256;

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
  /**
   * Why this client does not get the version it should run (its override or assignment): each
   * range of that version left unmet, one line each, such as `counter@3.0.0 requires shared
   * react@^20.0.0 (the shell has react@19.2.0)`; empty when it does get it or is on its way to it.
   */
  unmet: string[];
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

/**
 * Why the worker refused a request: a TrancheError's code, details and sentence (`worker-failed`
 * for an error it has no code for). The page client rethrows it as a TrancheError of that code.
 */
export interface ReplyError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** The answer to a request, posted on the request's MessageChannel port. */
export type Reply<T = unknown> = { type: 'REPLY'; ok: true; result: T } | { type: 'REPLY'; ok: false; error: ReplyError };
