/**
 * Listens for everything that can go wrong in a page: uncaught errors, unhandled rejections
 * (where failed dynamic imports surface) and `<script>`/`<link>` elements that failed to load
 * (caught in the capture phase, since those `error` events do not bubble).
 */
import type { RawError } from './describeError.js';

/** What `watchPage` calls. */
interface PageHandlers {
  /**
   * An error happened; called synchronously inside the browser's handler, so keep it cheap.
   * Without it errors are not listened for.
   */
  onError?: (raw: RawError) => void;
  /** The page is being hidden or unloaded: the last moment to send what is pending. */
  onHide: () => void;
}

// Loads whose failure means code did not arrive; images and media are not our business.
const CODE_LINK = /(^|\s)(modulepreload|preload|prefetch|stylesheet)(\s|$)/i;

/** Starts listening on `win`; the returned function stops. */
export function watchPage(win: Window, { onError, onHide }: PageHandlers): () => void {
  const listeners: [EventTarget, string, (event: never) => void, boolean][] = [
    [win, 'pagehide', onHide, false],
    [win.document, 'visibilitychange', () => win.document.visibilityState === 'hidden' && onHide(), false],
  ];
  if (onError) {
    listeners.push(
      [
        win,
        'error',
        (event: Event) => {
          const raw = fromErrorEvent(event);
          if (raw) onError(raw);
        },
        true,
      ],
      [win, 'unhandledrejection', (event: PromiseRejectionEvent) => onError({ error: event.reason }), false],
    );
  }
  for (const [target, type, fn, capture] of listeners) target.addEventListener(type, fn as EventListener, capture);
  return () => {
    for (const [target, type, fn, capture] of listeners) target.removeEventListener(type, fn as EventListener, capture);
  };
}

// Null for a resource that is not code (an image): nothing to report.
function fromErrorEvent(event: Event): RawError | null {
  if (event instanceof ErrorEvent) return { error: event.error, filename: event.filename, message: event.message };
  const url = failedCodeUrl(event.target);
  return url === null ? null : { error: undefined, failedUrl: url };
}

function failedCodeUrl(target: EventTarget | null): string | null {
  if (target instanceof HTMLScriptElement) return target.src || null;
  if (target instanceof HTMLLinkElement && CODE_LINK.test(target.rel)) return target.href || null;
  return null;
}
