/**
 * Running the worker in Node against a FakePlatform, through its real entry point (sw/install.ts
 * on a FakeScope, what `installTranche` runs on `self`): start, "restart" (a new worker over the
 * same IndexedDB and caches, as after the browser stopped the worker) and read what pages were
 * told.
 */
import type { ReadyRequest, ReportErrorsMessage } from '../../src/core/clientMessages.js';
import type { PageRequest, Reply, WorkerEvent } from '../../src/core/protocol.js';
import type { Driver } from '../../sw/Driver.js';
import { install } from '../../sw/install.js';
import type { TrancheWorkerOptions } from '../../sw/options.js';
import { MANIFEST_URL, type FakeClient, type FakePlatform } from './fakePlatform.js';
import { FakeScope } from './fakeScope.js';

const scopes = new WeakMap<Driver, FakeScope>();

/** The scope the worker of `driver` listens on: a test posts messages and dispatches fetches to it. */
export function scopeOf(driver: Driver): FakeScope {
  const scope = scopes.get(driver);
  if (!scope) throw new Error('this Driver was not started by startDriver');
  return scope;
}

/**
 * Starts a worker (as a worker start does: `install` on a new FakeScope) and waits until its
 * start-up work is done. `scopeOf(driver)` is the scope, to post messages and dispatch events to.
 */
export async function startDriver(
  platform: FakePlatform,
  publicKey: unknown,
  options: Partial<TrancheWorkerOptions> = {},
): Promise<Driver> {
  const scope = new FakeScope();
  const { driver } = install(scope, platform, { manifestUrl: MANIFEST_URL, publicKeys: [publicKey], ...options });
  scopes.set(driver, scope);
  await driver.loaded; // as an event needing the state does (a worker asked nothing reads it after a timer)
  await driver.idle();
  return driver;
}

/** The events of `type` a client received, in order. */
export function eventsOf<T extends WorkerEvent['type']>(client: FakeClient, type: T): Extract<WorkerEvent, { type: T }>[] {
  return client.messages.filter((m): m is Extract<WorkerEvent, { type: T }> => (m as WorkerEvent).type === type);
}

/** The module -> version map new page loads would get now. */
export async function currentVersions(driver: Driver): Promise<Record<string, string>> {
  return (await driver.pinSnapshot('')).modules;
}

/** Posts page request `message` from client `clientId` to the worker's message listener; resolves to its reply. */
export function ask(driver: Driver, message: PageRequest | ReadyRequest, clientId: string): Promise<Reply> {
  return scopeOf(driver).ask(message, clientId) as Promise<Reply>;
}

/** Posts `REPORT_ERRORS` from client `clientId` (never answered) and waits until the worker acted on it. */
export async function reportErrors(driver: Driver, message: ReportErrorsMessage, clientId: string): Promise<void> {
  scopeOf(driver).post(message, clientId);
  await driver.idle();
}
