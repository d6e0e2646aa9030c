import { messages, type ErrorCode, type ErrorDetails } from './messages.js';

/**
 * The one error type tranche throws. `name` is the machine-readable code (tests and
 * callers branch on it), `details` the data the message was built from, and `message`
 * a sentence that names the file, field or argument at fault.
 */
export class TrancheError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: ErrorDetails[C];

  constructor(code: C, details: ErrorDetails[C]) {
    super(messages[code](details as never));
    this.name = code;
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a TrancheError, optionally of one code. */
export function isTrancheError<C extends ErrorCode>(err: unknown, code?: C): err is TrancheError<C> {
  return err instanceof TrancheError && (code === undefined || err.code === code);
}
