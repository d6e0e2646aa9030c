/**
 * A request to the service worker that cannot hang: workbox-window's `messageSW` waits forever
 * for an answer that may never come (an old worker that does not know the request, a worker
 * busy or being replaced), so every request here races a timer.
 */
import { messageSW } from 'workbox-window';
import { TrancheError, isErrorCode } from '../core/TrancheError.js';
import { isReply } from '../core/parseMessage.js';
import type { ReplyError } from '../core/protocol.js';

/** Rejects with `timeout` naming `what` when `promise` has not settled within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TrancheError('timeout', { what, ms })), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Sends `message` to the worker `worker` resolves to and returns the result of its `Reply`.
 * The time limit covers finding the worker too. A refusal rejects with a TrancheError of the
 * worker's code (`kill-switch`, `override-refused`, …) and its sentence after `what`; a code this
 * page does not know (a newer worker) arrives as `worker-failed`. When the page's controller
 * changes before the answer (a new worker took over: `container`'s `controllerchange`), the new
 * controller is asked too and the first answer counts: Chromium drops what was sent to the worker
 * being replaced, which would never answer. Every page request is safe to receive twice.
 */
export async function askWorker<T>(
  worker: Promise<ServiceWorker>,
  message: { type: string },
  what: string,
  timeoutMs: number,
  container: Pick<ServiceWorkerContainer, 'controller' | 'addEventListener' | 'removeEventListener'> | null = null,
): Promise<T> {
  let onControllerChange = (): void => undefined;
  const answered = new Promise<unknown>((resolve, reject) => {
    const send = (sw: ServiceWorker) => void messageSW(sw, message).then(resolve, reject);
    worker.then(send, reject);
    onControllerChange = () => {
      if (container?.controller) send(container.controller);
    };
    container?.addEventListener('controllerchange', onControllerChange);
  });
  let reply: unknown;
  try {
    reply = await withTimeout(answered, timeoutMs, what);
  } finally {
    container?.removeEventListener('controllerchange', onControllerChange);
  }
  if (!isReply(reply)) throw new TrancheError('bad-reply', { what, got: JSON.stringify(reply) ?? String(reply) });
  if (!reply.ok) throw workerError(reply.error, what);
  return reply.result as T;
}

function workerError({ code, message, details }: ReplyError, what: string): TrancheError {
  if (!isErrorCode(code)) return new TrancheError('worker-failed', { what, reason: `${code}: ${message}` });
  // Same code and details as thrown in the worker (the worker and this client ship together).
  return new TrancheError(code, details as never, `${what}: ${message}`);
}
