/**
 * Running the worker's Driver in Node against a FakePlatform: start, "restart" (a new Driver
 * over the same IndexedDB and caches, as after the browser stopped the worker) and read what
 * pages were told.
 */
import type { WorkerEvent } from '../../src/core/protocol.js';
import { Driver } from '../../sw/Driver.js';
import { resolveOptions, type TrancheWorkerOptions } from '../../sw/options.js';
import { MANIFEST_URL, ORIGIN, type FakeClient, type FakePlatform } from './fakePlatform.js';

/** Starts a Driver (as a worker start does) and waits until its start-up work is done. */
export async function startDriver(
  platform: FakePlatform,
  publicKey: unknown,
  options: Partial<TrancheWorkerOptions> = {},
): Promise<Driver> {
  const driver = new Driver(resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [publicKey], ...options }, `${ORIGIN}/`), platform);
  driver.start();
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
