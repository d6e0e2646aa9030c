/**
 * Vitest global setup for the browser project: makes sure Debian's Chromium is there. As root
 * on Debian it installs the package (a fresh CI machine has none); elsewhere it stops the run
 * with one line saying how to get it.
 */
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { CHROMIUM_MISSING, CHROMIUM_PATH } from './chromium.js';

export default function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && !process.env.CHROMIUM_PATH;
  if (!canInstall) throw new Error(CHROMIUM_MISSING);
  console.log("Chromium is missing: installing Debian's chromium package (apt-get)...");
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' });
  if (!existsSync(CHROMIUM_PATH)) throw new Error(CHROMIUM_MISSING);
}
