/**
 * Chromium driven over the DevTools protocol directly (`--remote-debugging-pipe`), without
 * Playwright. Playwright enables the CDP `Network` domain on every page it drives, and that
 * instrumentation slows the browser's HTTP-cache path more than a service worker's answers, so
 * a measure comparing service workers with the browser's native floor drives its pages through
 * this client instead. It enables no CDP domain on a page: it navigates (`Page.navigate`),
 * evaluates (`Runtime.evaluate`) and, on a separate session it detaches at once, stops the
 * context's service workers (`ServiceWorker.stopAllWorkers`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CHROMIUM_ARGS, CHROMIUM_MISSING, CHROMIUM_PATH } from '../support/chromium.js';
import { existsSync } from 'node:fs';

/**
 * Besides the tests' flags: headless, and the switches Playwright adds that keep a page that is
 * not in front from being throttled and field trials from changing the browser between runs.
 */
const RAW_ARGS = [
  '--headless',
  '--remote-debugging-pipe',
  '--disable-field-trial-config',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--disable-extensions',
  '--disable-breakpad',
  '--disable-hang-monitor',
  '--no-default-browser-check',
];

/** One CDP command's answer. */
interface Message {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** A Chromium launched for raw CDP, with one connection to its browser target. */
export interface RawBrowser {
  /** A new browser context (its own storage, as Playwright's `browser.newContext()`). */
  newContext(): Promise<RawContext>;
  close(): Promise<void>;
}

/** A browser context of a `RawBrowser`. */
export interface RawContext {
  /** A new tab at about:blank, attached without enabling any domain. */
  newPage(): Promise<RawPage>;
  close(): Promise<void>;
}

/** A tab driven over raw CDP. */
export interface RawPage {
  /** Navigates and waits for the load event. */
  goto(url: string): Promise<void>;
  /** Calls `fn(arg)` in the page (the function's source text, as Playwright passes it) and returns its JSON value. */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Stops every service worker of the page's context, as the browser stops an idle worker. */
  stopWorkers(): Promise<void>;
}

/** Launches headless Chromium with a CDP pipe on fds 3 (to the browser) and 4 (from it). */
export async function launchRawChromium(): Promise<RawBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(CHROMIUM_MISSING);
  const profile = await mkdtemp(join(tmpdir(), 'tranche-bench-cdp-'));
  const child: ChildProcess = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, ...RAW_ARGS, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
  });
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve(result: Record<string, unknown>): void; reject(err: Error): void; method: string }>();
  let nextId = 1;
  let buffered = '';
  let exited: Error | null = null;
  fromBrowser.setEncoding('utf8');
  fromBrowser.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const message = JSON.parse(buffered.slice(0, end)) as Message;
      buffered = buffered.slice(end + 1);
      const waiting = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiting) continue; // an event: no domain is enabled, so only target lifecycle ones
      pending.delete(message.id!);
      if (message.error) waiting.reject(new Error(`CDP ${waiting.method}: ${message.error.message}`));
      else waiting.resolve(message.result ?? {});
    }
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`Chromium (raw CDP) exited (${signal ?? code})`);
    for (const waiting of pending.values()) waiting.reject(exited);
    pending.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (exited) return reject(exited);
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    });

  const attach = async (targetId: string) => (await send('Target.attachToTarget', { targetId, flatten: true })).sessionId as string;

  const newPage = async (browserContextId: string): Promise<RawPage> => {
    const { targetId } = (await send('Target.createTarget', { url: 'about:blank', browserContextId })) as { targetId: string };
    const sessionId = await attach(targetId);
    const evaluate = async <R>(expression: string): Promise<R> => {
      const { result, exceptionDetails } = (await send(
        'Runtime.evaluate',
        { expression, awaitPromise: true, returnByValue: true },
        sessionId,
      )) as {
        result: { value: R };
        exceptionDetails?: { text: string; exception?: { description?: string } };
      };
      if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
      return result.value;
    };
    return {
      async goto(url) {
        const { errorText } = (await send('Page.navigate', { url }, sessionId)) as { errorText?: string };
        if (errorText) throw new Error(`navigating to ${url}: ${errorText}`);
        // Page.navigate answers once the new document is committed; wait for its load event.
        await evaluate(
          `document.readyState === 'complete' || new Promise((resolve) => addEventListener('load', () => resolve(true), { once: true }))`,
        );
      },
      evaluate: (fn, arg) => evaluate(`(${fn.toString()})(${JSON.stringify(arg)})`),
      async stopWorkers() {
        // On a session of its own, detached at once: the page's session keeps no domain enabled.
        const stopper = await attach(targetId);
        await send('ServiceWorker.enable', {}, stopper);
        await send('ServiceWorker.stopAllWorkers', {}, stopper);
        await send('Target.detachFromTarget', { sessionId: stopper });
      },
    };
  };

  return {
    async newContext() {
      const { browserContextId } = (await send('Target.createBrowserContext', { disposeOnDetach: true })) as { browserContextId: string };
      return {
        newPage: () => newPage(browserContextId),
        close: async () => void (await send('Target.disposeBrowserContext', { browserContextId })),
      };
    },
    async close() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        await send('Browser.close').catch(() => undefined);
        await gone;
      }
      await rm(profile, { recursive: true, force: true });
    },
  };
}
