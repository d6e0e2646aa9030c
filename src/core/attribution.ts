/**
 * Which module@version an error belongs to, read from the versioned URLs module files are served
 * under (`<origin><prefix><module>/<version>/<file>`, docs/service-worker.md). The URL is the only
 * evidence used: an error whose source and stack name no module file is counted as unattributed
 * and never blames a module (app shell code, third-party scripts, browser extensions).
 */
import { parseModuleUrl } from './moduleUrl.js';

/** A module version named by a URL. */
export interface ModuleRef {
  module: string;
  version: string;
}

/** Where module files live. */
export interface AttributionOptions {
  /**
   * Only URLs of this origin count (a third-party CDN with the same path layout blames nothing).
   * `null` accepts any origin, for callers that have already checked it.
   */
  origin: string | null;
  /** Path prefix of module URLs, starting and ending with `/` (e.g. `/modules/`). */
  prefix: string;
}

/** Path prefix of module URLs unless configured otherwise (the worker's `modulePrefix` default). */
export const DEFAULT_MODULE_PREFIX = '/modules/';

/**
 * module@version of a versioned module file URL of `origin`, or null when `url` is not one
 * (an unversioned module URL names no version: it blames nothing).
 */
export function attributeUrl(url: string, { origin, prefix }: AttributionOptions): ModuleRef | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (origin !== null && parsed.origin !== origin) return null;
  const file = parseModuleUrl(parsed.href, parsed.origin + prefix);
  return file?.version ? { module: file.module, version: file.version } : null;
}

// V8 (Chromium, Node): "    at fn (http://h/a.js:1:20)", "    at http://h/a.js:1:20",
// "    at async fn (…)", "    at eval (eval at f (http://h/a.js:1:2), <anonymous>:1:1)".
const V8_FRAME = /^\s*at\s/;
// SpiderMonkey and JavaScriptCore: "fn@http://h/a.js:1:20", "@http://…", "global code@http://…".
const AT_SIGN_FRAME = /@\S+:\d+(?::\d+)?\s*$/;
// A script location inside a frame: URL, line and optional column.
const LOCATION = /([a-z][a-z0-9+.-]*:\/\/[^\s()]+?):\d+(?::\d+)?(?=[\s),]|$)/gi;

/**
 * module@version of the first stack frame that runs a module file. The header lines of a V8
 * stack (`TypeError: message`) are skipped, so a URL quoted in a message blames nothing.
 */
export function attributeStack(stack: string, options: AttributionOptions): ModuleRef | null {
  const lines = stack.split('\n');
  const v8 = lines.filter((line) => V8_FRAME.test(line));
  const frames = v8.length > 0 ? v8 : lines.filter((line) => AT_SIGN_FRAME.test(line));
  for (const frame of frames) {
    for (const match of frame.matchAll(LOCATION)) {
      const ref = attributeUrl(match[1]!, options);
      if (ref) return ref;
    }
  }
  return null;
}

// How browsers word a dynamic import whose module graph failed to load, and the URL they name.
// Safari names no URL ("Importing a module script failed."): still a chunk load, unattributed.
const CHUNK_LOAD_MESSAGES: readonly RegExp[] = [
  /^Failed to fetch dynamically imported module: (\S+)/, // Chromium
  /^error loading dynamically imported module: (\S+)/, // Firefox
  /^Importing a module script failed\.?$/, // Safari
  /^Unable to preload CSS for (\S+)/, // Vite's preload helper
];

/**
 * When `message` says a dynamic import or preload failed to load: the URL it names (null when
 * the browser names none). `undefined` when the message is about something else.
 */
export function failedChunkUrl(message: string): string | null | undefined {
  for (const pattern of CHUNK_LOAD_MESSAGES) {
    const match = pattern.exec(message);
    if (match) return match[1] ?? null;
  }
  return undefined;
}

// How browsers word an import of a bare specifier that nothing (no import map entry) resolves.
const UNRESOLVED_SPECIFIER_MESSAGES: readonly RegExp[] = [
  /^Failed to resolve module specifier ["'](.+?)["']/, // Chromium
  /^The specifier \u201c(.+?)\u201d was a bare specifier/, // Firefox
  /^Module name, '(.+?)' does not resolve to a valid URL/, // Safari
];

/**
 * When `message` says an import named a bare specifier nothing resolves (no import map entry):
 * that specifier. `undefined` when the message is about something else. Browsers name neither
 * the importing file nor a stack frame in it.
 */
export function unresolvedSpecifier(message: string): string | undefined {
  for (const pattern of UNRESOLVED_SPECIFIER_MESSAGES) {
    const match = pattern.exec(message);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * Whether JavaScript module source `code` imports `specifier`: `import … from "s"`, `import "s"`,
 * `import("s")`, `export … from "s"`, minified or not. Text, not a parse: used only to find which
 * of the files a page loaded holds the import a browser could not resolve.
 */
export function importsSpecifier(code: string, specifier: string): boolean {
  const quoted = specifier.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:\\bfrom|\\bimport)\\s*\\(?\\s*(["'\`])${quoted}\\1`).test(code);
}
