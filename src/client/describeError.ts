/**
 * Turns whatever reached an error handler (an Error, a thrown string, a rejection reason, a
 * failed `<script>`) into a report: the module@version to blame, if any, and whether it is a
 * failed chunk load. Never throws: it runs inside error handlers, where throwing would recurse.
 */
import {
  attributeStack,
  attributeUrl,
  failedChunkUrl,
  unresolvedSpecifier,
  type AttributionOptions,
  type ModuleRef,
} from '../core/attribution.js';

/** What an error handler saw. */
export interface RawError {
  /** The thrown value or rejection reason (`undefined` for a resource that failed to load). */
  error: unknown;
  /** `ErrorEvent.filename`: the script the error was thrown in. */
  filename?: string;
  /** `ErrorEvent.message`, used when the thrown value has no message of its own. */
  message?: string;
  /** URL of a `<script>` or `<link>` that failed to load. */
  failedUrl?: string;
  /** A framework's trace of where the error happened (React's component stack), read after the error's own stack. */
  componentStack?: string;
}

/** An error ready for the batcher. */
interface DescribedError {
  /** The module version to blame; null when no module file is named. */
  ref: ModuleRef | null;
  /** A failed chunk load or dynamic import rather than code that threw. */
  chunkLoad: boolean;
  /**
   * An import named this bare specifier and nothing resolves it: a failed import whose importer
   * the browser does not name (`ref` is null; the page finds the importer, see findImporter.ts).
   */
  unresolved?: string;
  message: string;
  stack?: string;
}

/** Attribution and wording of `raw`. */
export function describeError(raw: RawError, options: AttributionOptions): DescribedError {
  if (raw.failedUrl !== undefined) {
    return { ref: attributeUrl(raw.failedUrl, options), chunkLoad: true, message: `failed to load ${raw.failedUrl}` };
  }
  const { name, message, stack } = fieldsOf(raw.error);
  const text = message ?? raw.message ?? safeString(raw.error);
  const chunkUrl = message === undefined ? undefined : failedChunkUrl(message);
  const unresolved = message === undefined ? undefined : unresolvedSpecifier(message);
  if (unresolved !== undefined) {
    return { ref: null, chunkLoad: true, unresolved, message: `${name ?? 'Error'}: ${text}`, ...(stack && { stack }) };
  }
  const described: DescribedError = {
    // A failed import blames the module whose file failed to load, never its importer.
    ref:
      chunkUrl !== undefined
        ? chunkUrl === null
          ? null
          : attributeUrl(chunkUrl, options)
        : ((raw.filename ? attributeUrl(raw.filename, options) : null) ??
          (stack ? attributeStack(stack, options) : null) ??
          (raw.componentStack ? attributeStack(raw.componentStack, options) : null)),
    chunkLoad: chunkUrl !== undefined,
    message: name ? `${name}: ${text}` : text,
  };
  if (stack) described.stack = stack;
  return described;
}

// Thrown values can be anything, including objects whose getters throw, or errors from another
// realm (an iframe) that fail `instanceof Error`: read the fields defensively.
function fieldsOf(error: unknown): { name?: string; message?: string; stack?: string } {
  if (typeof error !== 'object' || error === null) return {};
  try {
    const { name, message, stack } = error as Record<string, unknown>;
    return {
      ...(typeof name === 'string' && { name }),
      ...(typeof message === 'string' && { message }),
      ...(typeof stack === 'string' && { stack }),
    };
  } catch {
    return {};
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'unprintable thrown value';
  }
}
