/**
 * docs/getting-started.md, followed literally in a fresh app made by create-vite's vanilla-ts
 * template, with tranche installed from `npm pack`'s tarball, in Chromium. Every command and
 * file comes from the guide; the test only runs three commands its own way, each the same thing
 * on this machine (GuideRun, test/support/guide.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../support/freshApp.js';
import { guideBlocks, type GuideRun } from '../support/guide.js';
import { openGuideSession, type GuideSession } from '../support/guideSession.js';

const GUIDE = fileURLToPath(new URL('../../docs/getting-started.md', import.meta.url));
const blocks = guideBlocks(readFileSync(GUIDE, 'utf8'));
/** The module's own code, which adopting tranche does not count as glue. */
const MODULE_CODE = 'modules/counter/index.ts';
/** The sections that adopt tranche (install, module, app, page); the later ones use it. */
const ADOPTION = ['1.', '2.', '3.', '4.'];
const MINUTE = 60_000;

let session: GuideSession;
let app: string;
let guide: GuideRun;
let browser: Browser;
let page: Page;
let site: RunningServer;
/** What the open tab's console said, in order. */
const consoleLines: string[] = [];

/** Resolves with the first console line of the open tab, from now on, that matches `pattern`. */
function nextConsoleLine(pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const listener = (message: ConsoleMessage): void => {
      if (!pattern.test(message.text())) return;
      page.off('console', listener);
      resolve(message.text());
    };
    page.on('console', listener);
  });
}

/** The counter's text once it has one. */
async function counterText(p: Page = page): Promise<string> {
  const counter = p.locator('#counter');
  await expect.poll(() => counter.textContent(), { timeout: MINUTE }).not.toBe('');
  return (await counter.textContent())!;
}

beforeAll(async () => {
  session = await openGuideSession('getting-started', 'vanilla-ts', blocks);
  ({ app, guide, browser, page } = session);
  page.on('console', (m) => consoleLines.push(m.text()));
}, 15 * MINUTE);

afterAll(async () => {
  await session?.close();
});

describe('docs/getting-started.md in a fresh create-vite vanilla-ts app', () => {
  it(
    'adopting tranche (sections 1-4) takes at most 15 lines of glue beyond the module',
    async () => {
      for (const number of ADOPTION) await guide.follow(number);
      const { lines, files } = guide.glue(ADOPTION, [MODULE_CODE]);
      console.info(`getting-started: ${lines} lines of glue in ${files.join(', ')}`);
      expect(lines).toBeLessThanOrEqual(15);
    },
    5 * MINUTE,
  );

  it(
    'vite dev renders the module from its source, with no worker',
    async () => {
      const dev = (await guide.follow('5.'))!;
      try {
        const dev_page = await session.context.newPage();
        const fromSource = dev_page.waitForRequest((r) => new URL(r.url()).pathname === `/${MODULE_CODE}`);
        await dev_page.goto(dev.origin);
        await fromSource;
        expect(await counterText(dev_page)).toBe('Count is 0');
        await dev_page.locator('#counter').click();
        expect(await counterText(dev_page)).toBe('Count is 1');
        expect(await dev_page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
        await dev_page.close();
      } finally {
        await dev.close();
      }
    },
    3 * MINUTE,
  );

  it(
    '1.0.0 released and promoted: a first visit to the build on a plain static server shows it, from the network',
    async () => {
      site = (await guide.follow('6.'))!;
      const moduleScript = page.waitForResponse((r) => new URL(r.url()).pathname === '/tranche/modules/counter/1.0.0/index.js');
      await page.goto(site.origin);
      expect((await moduleScript).fromServiceWorker()).toBe(false);
      expect(await counterText()).toBe('Count is 0');
      // The worker installed meanwhile and took the page over.
      await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: MINUTE }).toBe(true);
    },
    5 * MINUTE,
  );

  it(
    '2.0.0 rolled out to 100%: the page is told it is ready, and the next reload shows it',
    async () => {
      await guide.follow('7.');
      await session.stopIdleWorker();
      const ready = nextConsoleLine(/^tranche: counter 2\.0\.0 is ready, reload to run it$/);
      await page.reload();
      expect(await counterText()).toBe('Count is 0');
      await ready;
      await page.reload();
      expect(await counterText()).toBe('Clicked 0 times');
    },
    5 * MINUTE,
  );

  it(
    'a shell redeployed and a 3.0.0 that throws: the tab gets rolled-back, reloads once onto 2.0.0 and stays there',
    async () => {
      const heading = async (): Promise<string | null> => page.locator('h1').textContent();
      const oldHeading = await heading();
      const ready = nextConsoleLine(/^tranche: counter 3\.0\.0 is ready, reload to run it$/);
      await guide.follow('8.');
      // The browser finds the new shell's worker, which takes the tab over, and the new manifest.
      await session.stopIdleWorker();
      await page.reload();
      expect(await counterText()).toBe('Clicked 0 times');
      await ready;
      const rolledBack = nextConsoleLine(/^tranche: counter 3\.0\.0 failed/);
      const before = session.navigations;
      await page.reload();
      expect(await rolledBack).toBe('tranche: counter 3.0.0 failed (boot-error), back to 2.0.0');
      await expect.poll(() => session.navigations, { timeout: MINUTE }).toBe(before + 2);
      expect(await counterText()).toBe('Clicked 0 times');
      expect(await heading()).not.toBe(oldHeading);
      // It stays there: no further reload, and the next page load runs 2.0.0 too.
      await page.waitForTimeout(5_000);
      expect(session.navigations).toBe(before + 2);
      await page.reload();
      expect(await counterText()).toBe('Clicked 0 times');
      expect(consoleLines.filter((l) => l.includes('counter 3.0.0') && !l.includes('is ready'))).toHaveLength(1);
    },
    5 * MINUTE,
  );

  it(
    'the rollout ended for everyone: status shows 2.0.0, and the tab still runs it',
    async () => {
      await guide.follow('9.');
      console.info(`getting-started: tranche status printed\n${guide.lastOutput}`);
      expect(guide.lastOutput).toMatch(/counter\b.*2\.0\.0/);
      expect(guide.lastOutput).not.toMatch(/3\.0\.0.*%/);
      await session.stopIdleWorker();
      await page.reload();
      expect(await counterText()).toBe('Clicked 0 times');
    },
    3 * MINUTE,
  );

  it(
    'a first visit on the static host refuses a tampered module script: importmap.js carries its SHA-256',
    async () => {
      const script = path.join(app, 'dist/tranche/modules/counter/2.0.0/index.js');
      const original = readFileSync(script, 'utf8');
      /** A browser's first visit, and the first console line of it matching `pattern`. */
      const firstVisit = async (pattern?: RegExp): Promise<{ visitor: Page; line?: Promise<string> }> => {
        const visitor = await (await browser.newContext()).newPage();
        const line = pattern && visitor.waitForEvent('console', (m) => pattern.test(m.text())).then((m) => m.text());
        await visitor.goto(site.origin);
        return { visitor, line };
      };
      writeFileSync(script, original.replace('Clicked', 'Hacked'));
      try {
        const { visitor, line } = await firstVisit(/integrity/i);
        expect(await line).toContain('/tranche/modules/counter/2.0.0/index.js');
        expect(await visitor.locator('#counter').textContent()).toBe('');
        await visitor.context().close();
      } finally {
        writeFileSync(script, original);
      }
      // The same first visit, with the file as published, runs it.
      const { visitor } = await firstVisit();
      expect(await counterText(visitor)).toBe('Clicked 0 times');
      await visitor.context().close();
    },
    3 * MINUTE,
  );
});
