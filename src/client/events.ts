/**
 * The events a `Tranche` dispatches, one per worker broadcast (protocol.ts, clientMessages.ts),
 * typed by name so that each listener sees its event's fields. The event and listener types,
 * which name the `Tranche` that dispatches them, live beside it in Tranche.ts.
 */
import type {
  ManifestRejectedEvent,
  StagingFailedEvent,
  StagingProgressEvent,
  VersionActivatedEvent,
  VersionDetectedEvent,
  VersionStagedEvent,
  WorkerEventType,
} from '../core/protocol.js';
import type { RolledBackEvent } from '../core/clientMessages.js';

type Data<E> = Omit<E, 'type'>;

/** Event name -> the fields its event carries. */
export interface TrancheEventMap {
  /** The manifest assigns this client a version of a module that is not its current one. */
  detected: Data<VersionDetectedEvent>;
  /** Staging progress: files and bytes verified and stored so far, of the totals. */
  progress: Data<StagingProgressEvent>;
  /** Every file of module@version is verified and stored. */
  staged: Data<VersionStagedEvent>;
  /** Staging module@version failed (`reason`: download, integrity, quota); retried at `retryAt`. */
  failed: Data<StagingFailedEvent>;
  /** module@version is what new page loads get; open pages keep their snapshot. */
  activated: Data<VersionActivatedEvent>;
  /** A fetched manifest was refused; the worker keeps running on the last accepted one. */
  'manifest-rejected': Data<ManifestRejectedEvent>;
  /**
   * module@version failed on this client and new page loads get `to` instead (null: nothing
   * better is available). `affectsThisPage`: this page runs the failed version.
   * `willReload`: this page reloads into the good snapshot right after the listeners ran.
   */
  'rolled-back': Data<RolledBackEvent> & { affectsThisPage: boolean; willReload: boolean };
  /** The manifest's kill switch is on: the worker stopped intercepting and unregisters. */
  disabled: Record<string, never>;
  /**
   * A new version of the app's service worker (the app was redeployed) took over this page.
   * The page keeps running its snapshot: its modules and their lazy chunks keep loading.
   */
  'worker-updated': Record<string, never>;
  /**
   * The app's HTML changed on the server since this page got it (found after a navigation, or by
   * a new worker that took over): the next page load gets it. Prompt, or call `applyUpdate()`.
   */
  'shell-updated': Record<string, never>;
}

/** Which event each worker broadcast becomes. */
export const EVENT_NAMES: { readonly [T in WorkerEventType]: keyof TrancheEventMap } = {
  VERSION_DETECTED: 'detected',
  STAGING_PROGRESS: 'progress',
  VERSION_STAGED: 'staged',
  STAGING_FAILED: 'failed',
  VERSION_ACTIVATED: 'activated',
  MANIFEST_REJECTED: 'manifest-rejected',
  SHELL_UPDATED: 'shell-updated',
  WORKER_DISABLED: 'disabled',
};
