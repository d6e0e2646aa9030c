/**
 * What a test that follows a guide of docs/ in a fresh app sets up and tears down
 * (getting-started, and the worked examples of docs/frameworks.md through frameworkExample.ts):
 * the app, the guide's run over it, and one Chromium tab.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { packTranche, removeDir, scaffoldViteApp, tempDir } from './freshApp.js';
import { GuideRun, type GuideBlock } from './guide.js';

/** A guide followed in a fresh app, with the tab a user watches it in. */
export interface GuideSession {
  /** The app's directory. */
  app: string;
  guide: GuideRun;
  browser: Browser;
  context: BrowserContext;
  /** The open tab. */
  page: Page;
  /** Navigations of the open tab's main frame so far. */
  readonly navigations: number;
  /**
   * Stops the app's worker, as the browser does with an idle one (after 30 s): its next start
   * checks the manifest at once (page loads check at most once a minute).
   */
  stopIdleWorker(): Promise<void>;
  /** Stops the servers the guide started, closes the browser and removes the app. */
  close(): Promise<void>;
}

/**
 * Scaffolds create-vite's `template` in a temporary directory named after `name`, to follow
 * `blocks` in with tranche from `npm pack` (the guide's first command, `npm install tranche`,
 * installs the app's dependencies too), and opens a tab in a new Chromium.
 */
export async function openGuideSession(name: string, template: string, blocks: readonly GuideBlock[]): Promise<GuideSession> {
  const work = tempDir(name);
  let browser: Browser | undefined;
  try {
    const app = scaffoldViteApp(template, work);
    const guide = new GuideRun(blocks, app, packTranche());
    browser = await launchChromium();
    const context = await browser.newContext();
    const page = await context.newPage();
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    const opened = browser;
    return {
      app,
      guide,
      browser,
      context,
      page,
      get navigations() {
        return navigations;
      },
      async stopIdleWorker() {
        const cdp = await context.newCDPSession(page);
        await cdp.send('ServiceWorker.enable');
        await cdp.send('ServiceWorker.stopAllWorkers');
        await cdp.detach();
      },
      async close() {
        await guide.close();
        await opened.close();
        removeDir(work);
      },
    };
  } catch (err) {
    await browser?.close();
    removeDir(work);
    throw err;
  }
}
