/**
 * Answers page messages: the requests of protocol.ts and the fallback messages of
 * clientMessages.ts. Every request is answered, whatever the worker's condition (a degraded
 * worker that ignores pages leaves apps no way out, angular #22087); a request the worker cannot
 * honour gets an error reply naming why. `REPORT_ERRORS` is never answered: a page in an error
 * storm must not wait on the worker (sw/install.ts hands it to the Driver).
 */
import type { ReadyRequest } from '../src/core/clientMessages.js';
import type { PageRequest, Reply, ReplyError } from '../src/core/protocol.js';
import { TrancheError, isTrancheError } from '../src/core/TrancheError.js';
import type { Driver } from './Driver.js';

/** The reply to `request` from client `clientId`. */
export async function answer(driver: Driver, request: PageRequest | ReadyRequest, clientId: string): Promise<Reply> {
  try {
    return { type: 'REPLY', ok: true, result: await run(driver, request, clientId) };
  } catch (err) {
    return { type: 'REPLY', ok: false, error: replyError(err, request.type) };
  }
}

/** `err` as the page will rethrow it: a TrancheError keeps its code, anything else is `worker-failed`. */
function replyError(err: unknown, what: string): ReplyError {
  const error = isTrancheError(err)
    ? err
    : new TrancheError('worker-failed', { what, reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  return { code: error.code, message: error.message, details: { ...error.details } };
}

async function run(driver: Driver, request: PageRequest | ReadyRequest, clientId: string): Promise<unknown> {
  switch (request.type) {
    case 'CHECK_FOR_UPDATES':
      return driver.checkForUpdates();
    case 'GET_STATE':
      return driver.state(clientId);
    case 'SET_IDENTITY':
      await driver.setIdentity(request.userId);
      return null;
    case 'SET_OVERRIDE':
      await driver.setOverride(request.module, request.version);
      return null;
    case 'READY':
      await driver.pageReady(clientId, request.nonce);
      return null;
  }
}
