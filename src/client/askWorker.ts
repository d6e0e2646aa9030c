/**
 * A request to the service worker that cannot hang: workbox-window's `messageSW` waits forever
 * for an answer that may never come (an old worker that does not know the request, a worker
 * busy or being replaced), so every request here races a timer.
 */
import { messageSW } from 'workbox-window';
import { TrancheError } from '../core/TrancheError.js';
import { isReply } from '../core/parseMessage.js';

/** Rejects with `timeout` naming `what` when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
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
 * The time limit covers finding the worker too. A refusal rejects with `rejected` carrying
 * the worker's message.
 */
export async function askWorker<T>(worker: Promise<ServiceWorker>, message: { type: string }, what: string, timeoutMs: number): Promise<T> {
  const reply: unknown = await withTimeout(
    worker.then((sw) => messageSW(sw, message)),
    timeoutMs,
    what,
  );
  if (!isReply(reply))
    throw new TrancheError('rejected', { what, reason: `the service worker answered ${JSON.stringify(reply)}, not a reply` });
  if (!reply.ok)
    throw new TrancheError('rejected', { what, reason: `the service worker refused: ${reply.error.code}: ${reply.error.message}` });
  return reply.result as T;
}
