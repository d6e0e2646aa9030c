/**
 * Debian's Chromium for browser tests: Playwright cannot download its own browsers here, so
 * tests launch the system binary (CHROMIUM_PATH overrides /usr/bin/chromium).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that keep Chromium off the (closed) network and quiet in CI. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const CHROMIUM_MISSING =
  `Chromium not found at ${CHROMIUM_PATH}: ` +
  'install it (as root on Debian: apt-get update && apt-get install -y chromium) or set CHROMIUM_PATH.';

/** A headless Chromium, with `extraArgs` after the usual flags; fails with one clear line when the binary is missing. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}
