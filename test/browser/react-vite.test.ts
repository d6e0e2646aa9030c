/**
 * docs/frameworks.md's React worked example, followed literally in a fresh app made by
 * create-vite's react-ts template, with tranche installed from `npm pack`'s tarball, in Chromium
 * (commands run as GuideRun in test/support/guide.ts says). The counter, a component with hooks,
 * becomes a tranche module sharing the shell's React through `trancheApp({ shared })`: no vendor
 * build, import map or precache plugin written by hand, and at most 15 lines of glue.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guideBlocks, type GuideRun } from '../support/guide.js';
import { openGuideSession, type GuideSession } from '../support/guideSession.js';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/frameworks.md', import.meta.url)), 'utf8');
/** The worked example: from its heading to the section after its last step. */
const EXAMPLE = DOC.slice(DOC.indexOf("### A worked example: create-vite's react-ts template"), DOC.indexOf('### Beyond the example'));
/** The component, which adopting tranche does not count as glue. */
const COMPONENT = 'modules/counter/Counter.tsx';
/** The steps that adopt tranche (install, module, app, page); the later ones use it. */
const ADOPTION = ['1.', '2.', '3.', '4.'];
const MINUTE = 60_000;
/** The error 3.0.0's render throws. */
const BROKEN = 'counter 3.0.0 cannot render';

let session: GuideSession;
let guide: GuideRun;
let context: BrowserContext;
let page: Page;
/** Console errors of the open tab that are 3.0.0's render error. */
let brokenRenders = 0;
/** Requests of the open tab for 3.0.0's module script. */
let brokenLoads = 0;

/** The counter's text once it has one (in `p`, the open tab by default). */
async function counterText(p: Page = page): Promise<string> {
  const counter = p.locator('button.counter');
  await expect.poll(() => counter.textContent({ timeout: 1_000 }).catch(() => ''), { timeout: MINUTE }).not.toBe('');
  return (await counter.textContent())!;
}

/** Clicks the counter and returns its text after: it changes only when the module's hooks run with the page's React. */
async function click(p: Page = page): Promise<string> {
  const before = await counterText(p);
  await p.locator('button.counter').click();
  await expect.poll(() => counterText(p)).not.toBe(before);
  return counterText(p);
}

/** Reloads the tab until `done()` holds, as a user would until the new version shows (the worker fetches it in the background). */
async function reloadUntil(done: () => Promise<boolean>): Promise<void> {
  await session.stopIdleWorker();
  await expect
    .poll(
      async () => {
        await page.reload();
        await counterText().catch(() => '');
        return done();
      },
      { timeout: 2 * MINUTE, interval: 1_000 },
    )
    .toBe(true);
}

beforeAll(async () => {
  session = await openGuideSession('react-vite', 'react-ts', guideBlocks(EXAMPLE));
  ({ guide, context, page } = session);
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes(BROKEN)) brokenRenders++;
  });
  page.on('request', (r) => {
    // From the network on a first visit (under the store's /tranche/), from the worker after.
    if (/\/modules\/counter\/3\.0\.0\/index\.js$/.test(new URL(r.url()).pathname)) brokenLoads++;
  });
}, 10 * MINUTE);

afterAll(async () => {
  await session?.close();
});

describe("docs/frameworks.md's React example in a fresh create-vite react-ts app", () => {
  it(
    'adopting tranche (steps 1-4) takes at most 15 lines of glue beyond the component',
    async () => {
      for (const number of ADOPTION) await guide.follow(number);
      const { lines, files } = guide.glue(ADOPTION, [COMPONENT]);
      console.info(`react-vite: ${lines} lines of glue in ${files.join(', ')}`);
      expect(lines).toBeLessThanOrEqual(15);
    },
    5 * MINUTE,
  );

  it(
    'vite dev renders the module from its source with one React: its hooks work',
    async () => {
      const dev = (await guide.follow('5.'))!;
      try {
        const devPage = await context.newPage();
        const fromSource = devPage.waitForRequest((r) => new URL(r.url()).pathname === `/${COMPONENT}`);
        await devPage.goto(dev.origin);
        await fromSource;
        expect(await counterText(devPage)).toBe('Count is 0');
        expect(await click(devPage)).toBe('Count is 1');
        expect(await devPage.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
        await devPage.close();
      } finally {
        await dev.close();
      }
    },
    3 * MINUTE,
  );

  it(
    '1.0.0 on a plain static server: the module renders with the shell React, from the network and then from the worker',
    async () => {
      const site = (await guide.follow('6.'))!;
      const react: string[] = [];
      page.on('request', (r) => {
        if (/^\/shared\/react@[\d.]+-[\w-]+\.js$/.test(new URL(r.url()).pathname)) react.push(r.url());
      });
      await page.goto(site.origin);
      expect(await counterText()).toBe('Count is 0');
      expect(await click()).toBe('Count is 1');
      // React came from the app's build, mapped and served by the static host: one copy, the shell's.
      expect(react).toHaveLength(1);
      await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: MINUTE }).toBe(true);
      await page.reload();
      expect(await counterText()).toBe('Count is 0');
      expect(await click()).toBe('Count is 1');
    },
    5 * MINUTE,
  );

  it(
    '2.0.0 rolled out to 100%: a later page load runs it, hooks working',
    async () => {
      await guide.follow('7.');
      await reloadUntil(async () => (await counterText()) === 'Clicked 0 times');
      expect(await click()).toBe('Clicked 1 times');
    },
    5 * MINUTE,
  );

  it(
    'a 3.0.0 whose render throws inside the boundary is rolled back after one page load, which reloads onto 2.0.0',
    async () => {
      await guide.follow('8.');
      const before = session.navigations;
      await reloadUntil(async () => brokenLoads > 0);
      // The load that ran 3.0.0 rendered the boundary's fallback once, and the page client reloaded it onto 2.0.0.
      await expect.poll(() => counterText(), { timeout: MINUTE }).toBe('Clicked 0 times');
      expect(await click()).toBe('Clicked 1 times');
      expect({ brokenLoads, brokenRenders }).toEqual({ brokenLoads: 1, brokenRenders: 1 });
      // It stays there: no further reload by itself, and the next page load runs 2.0.0 too.
      const settled = session.navigations;
      expect(settled).toBeGreaterThan(before);
      await page.waitForTimeout(3_000);
      expect(session.navigations).toBe(settled);
      await page.reload();
      expect(await counterText()).toBe('Clicked 0 times');
      expect({ brokenLoads, brokenRenders }).toEqual({ brokenLoads: 1, brokenRenders: 1 });
    },
    5 * MINUTE,
  );
});
