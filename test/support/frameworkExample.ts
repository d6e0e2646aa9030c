/**
 * One worked example of docs/frameworks.md (React, Vue, Svelte), followed literally in a fresh
 * app made by the create-vite template it starts from, with tranche installed from `npm pack`'s
 * tarball, in Chromium (a GuideSession, test/support/guideSession.ts). Every example has the
 * same steps and the same counter: its component becomes a tranche module sharing the shell's
 * copy of the framework through `trancheApp({ shared })`, in at most 15 lines of glue; `vite dev`
 * runs it from source; 1.0.0 is deployed to a plain static server, 2.0.0 rolled out, and a 3.0.0
 * that throws while rendering is rolled back after one page load. A test file calls
 * `describeFrameworkExample` once; the steps share one app, one browser and one tab.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guideBlocks } from './guide.js';
import { openGuideSession, type GuideSession } from './guideSession.js';

/** One framework's worked example. */
export interface FrameworkExample {
  /** The framework, as the test names say it (`React`). */
  framework: string;
  /** create-vite's template the example starts from, and names in its heading (`react-ts`). */
  template: string;
  /** The module's component, which adopting tranche does not count as glue, and `vite dev` serves from source. */
  component: string;
  /** The URL path of the shell's copy of the framework's runtime, built into `shared/` (`/shared/react@19.2.0-<hash>.js`). */
  runtime: RegExp;
}

const DOC = readFileSync(fileURLToPath(new URL('../../docs/frameworks.md', import.meta.url)), 'utf8');
/** The steps that adopt tranche (install, module, app, page); the later ones use it. */
const ADOPTION = ['1.', '2.', '3.', '4.'];
const MINUTE = 60_000;
/** The error 3.0.0 throws while it renders, in every example. */
const BROKEN = 'counter 3.0.0 cannot render';

/** The worked example starting from `template`: from its heading to the first heading after it that is not a numbered step. */
function exampleSection(template: string): string {
  const heading = `### A worked example: create-vite's ${template} template`;
  const start = DOC.indexOf(heading);
  if (start < 0) throw new Error(`docs/frameworks.md has no section "${heading}"`);
  const end = /^#{2,3} (?!\d+\. )/m.exec(DOC.slice(start + heading.length));
  return DOC.slice(start, end ? start + heading.length + end.index : undefined);
}

/** Defines the example's tests (see the file comment). */
export function describeFrameworkExample({ framework, template, component, runtime }: FrameworkExample): void {
  let session: GuideSession;
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

  /** Clicks the counter and returns its text after: it changes only when the module's state runs on the page's copy of the framework. */
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
    session = await openGuideSession(`${template}-example`, template, guideBlocks(exampleSection(template)));
    page = session.page;
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

  describe(`docs/frameworks.md's ${framework} example in a fresh create-vite ${template} app`, () => {
    it(
      'adopting tranche (steps 1-4) takes at most 15 lines of glue beyond the component',
      async () => {
        for (const number of ADOPTION) await session.guide.follow(number);
        const { lines, files } = session.guide.glue(ADOPTION, [component]);
        console.info(`${template}: ${lines} lines of glue in ${files.join(', ')}`);
        expect(lines).toBeLessThanOrEqual(15);
      },
      5 * MINUTE,
    );

    it(
      `vite dev renders the module from its source with one ${framework}: its state works`,
      async () => {
        const dev = (await session.guide.follow('5.'))!;
        try {
          const devPage = await session.context.newPage();
          const fromSource = devPage.waitForRequest((r) => new URL(r.url()).pathname === `/${component}`);
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
      `1.0.0 on a plain static server: the module renders with the shell's ${framework}, from the network and then from the worker`,
      async () => {
        const site = (await session.guide.follow('6.'))!;
        const copies: string[] = [];
        page.on('request', (r) => {
          if (runtime.test(new URL(r.url()).pathname)) copies.push(r.url());
        });
        await page.goto(site.origin);
        expect(await counterText()).toBe('Count is 0');
        expect(await click()).toBe('Count is 1');
        // The runtime came from the app's build, mapped and served by the static host: one copy, the shell's.
        expect(copies).toHaveLength(1);
        await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: MINUTE }).toBe(true);
        await page.reload();
        expect(await counterText()).toBe('Count is 0');
        expect(await click()).toBe('Count is 1');
      },
      5 * MINUTE,
    );

    it(
      '2.0.0 rolled out to 100%: a later page load runs it, its state working',
      async () => {
        await session.guide.follow('7.');
        await reloadUntil(async () => (await counterText()) === 'Clicked 0 times');
        expect(await click()).toBe('Clicked 1 times');
      },
      5 * MINUTE,
    );

    it(
      'a 3.0.0 that throws while rendering is rolled back after one page load, which reloads onto 2.0.0',
      async () => {
        await session.guide.follow('8.');
        const before = session.navigations;
        await reloadUntil(async () => brokenLoads > 0);
        // The load that ran 3.0.0 rendered it once, reported the error, and the page client reloaded it onto 2.0.0.
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
}
