import { messages, type ErrorCode, type ErrorDetails } from './messages.js';

/**
 * The one error type tranche throws. `name` is the machine-readable code (tests and
 * callers branch on it), `details` the data the message was built from, and `message`
 * a sentence that names the file, field or argument at fault (from the messages table, unless
 * `message` is given: the page client rethrows a worker's error with the worker's sentence).
 * Codes cross the worker/page boundary: a request the worker refuses rejects on the page with
 * the worker's code, so a page can tell the kill switch (`kill-switch`) from a refused override
 * (`override-refused`). docs/errors.md lists every code.
 */
export class TrancheError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: ErrorDetails[C];

  constructor(code: C, details: ErrorDetails[C], message: string = messages[code](details as never)) {
    super(message);
    this.name = code;
    this.code = code;
    this.details = details;
  }
}

/** True when `code` is one of tranche's error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(messages, code);
}

/** True when `err` is a TrancheError, optionally of one code. */
export function isTrancheError<C extends ErrorCode>(err: unknown, code?: C): err is TrancheError<C> {
  return err instanceof TrancheError && (code === undefined || err.code === code);
}
