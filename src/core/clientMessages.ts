/**
 * The messages of automatic fallback (docs/fallback.md), beside the worker protocol of
 * protocol.ts: what pages send about their health (`READY`, `REPORT_ERRORS`), what the worker
 * broadcasts when it rolls a version back (`ROLLED_BACK`), and what `GET_STATE` adds (the bad
 * marks). Plain types and limits; every message is checked with the schemas of parseMessage.ts.
 */
import type { ModuleRef } from './attribution.js';

/** Why a module version was marked bad on this client. */
export const FALLBACK_REASONS = ['boot-error', 'boot-timeout', 'runtime-errors', 'chunk-load', 'fatal-error', 'integrity'] as const;
/** Why a module version was marked bad on this client (data: shown by `state()` and in telemetry). */
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

/** A module version that failed on this client. */
export interface BadVersion extends ModuleRef {
  reason: FallbackReason;
  /** When it failed (epoch ms). */
  at: number;
  /**
   * The version the manifest assigned this client for the module when it failed: the mark holds
   * while the manifest still assigns that (null: nothing assigned).
   */
  assigned: string | null;
  /**
   * How many times in a row it failed here, each after the previous quarantine ended (absent: 1,
   * a mark stored before quarantines grew). Each one doubles the quarantine.
   */
  strikes?: number;
}

/**
 * Whether an error happened before the page called `ready()` (`boot`), after it (`runtime`), is
 * a failed load (`chunk-load`), or left the page without the module's UI (`fatal`: a framework
 * unmounted it, reported with `reportError(error, { fatal: true })`).
 */
export const ERROR_KINDS = ['boot', 'runtime', 'chunk-load', 'fatal'] as const;
/** Whether an error happened before the page called `ready()`, after it, is a failed load, or was fatal. */
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Distinct module@version+kind entries per batch; a page has a handful, so more is a bug or abuse. */
export const MAX_BATCH_ENTRIES = 64;
/** Example errors kept per entry: enough to debug, never a copy of a storm. */
export const MAX_SAMPLES = 3;
/** Characters kept of a sample's message. */
export const MAX_MESSAGE_CHARS = 500;
/** Characters kept of a sample's stack. */
export const MAX_STACK_CHARS = 4000;
/** Longest snapshot nonce a page may send. */
export const MAX_NONCE_CHARS = 128;

/** One example error: its message and, when it had one, its stack. */
interface ErrorSample {
  message: string;
  stack?: string;
}

/** Errors of one module@version and kind in a batch; module and version null: unattributed. */
export interface ErrorEntry {
  module: string | null;
  version: string | null;
  kind: ErrorKind;
  count: number;
  samples: ErrorSample[];
}

/**
 * The page's snapshot was good: credits its versions with a healthy boot. The nonce names the
 * exact page load, so a page that is leaving can never vouch for another one (capgo #907); the
 * worker also checks that the sender is the client that load was pinned to. `nonce` null: the
 * page has no injected snapshot (an app with `navigation: false`), and the snapshot pinned to
 * the sending client counts. Answered with a `Reply` (protocol.ts): `ok: false` when the worker
 * knows no such page load on that client.
 */
export interface ReadyRequest {
  type: 'READY';
  nonce: string | null;
}

/**
 * Errors a page saw since its last batch. `dropped` errors arrived past the page's budget and
 * were only counted. Fire and forget: no answer, so a storm never waits on the worker.
 */
export interface ReportErrorsMessage {
  type: 'REPORT_ERRORS';
  /** The reporting page's snapshot nonce; null for a page the worker did not serve. */
  nonce: string | null;
  entries: ErrorEntry[];
  dropped: number;
}

/** Every fallback message a page sends. */
export type ClientMessage = ReadyRequest | ReportErrorsMessage;

/**
 * Broadcast to every window when module@version failed on this client. `to` is what new page
 * loads of the module get now, or null when nothing better is available (pages then stay).
 */
export interface RolledBackEvent {
  type: 'ROLLED_BACK';
  module: string;
  version: string;
  reason: FallbackReason;
  to: string | null;
}

/** What the `GET_STATE` answer carries besides `WorkerState`: the versions marked bad here. */
export interface FallbackStatus {
  bad: BadVersion[];
}
