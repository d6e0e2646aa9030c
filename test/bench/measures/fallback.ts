/**
 * 4. Fallback latency, end to end in Chromium with the real worker and page client (the app
 * of the fallback tests, test/support/fallbackApp.ts): each round rolls out a new cart version
 * that throws on import, reloads the tab into it and times, from the moment the page client
 * posts its `REPORT_ERRORS`, (a) the `ROLLED_BACK` broadcast reaching that page (the worker
 * sends it once the bad mark and the switch of the current version are committed in one
 * IndexedDB transaction, so this bounds that commit from above) and (b) the page the client
 * reloads into showing the good version.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { trancheScript } from '../origins.js';
import { median, repeat } from '../stats.js';
import { CART, fallbackWorld, moveTo, type FallbackWorld } from '../../support/fallbackApp.js';
import { checkForUpdate, loaded, openApp } from '../../support/swPage.js';

const GOAL_SWITCH_MS = 50;
const GOAL_RECOVERED_MS = 1000;

/**
 * Runs in every document of the tab: stamps (in sessionStorage, which outlives reloads) the
 * first boot-error report, the ROLLED_BACK that follows, and the first load after it that runs
 * the good cart. performance.now() times the first two (same document); Date.now() spans the
 * reload. Source text, not a function: tsx would add helpers the page does not have.
 */
const STAMP_FALLBACK = `(() => {
  const stamp = (key) => {
    if (sessionStorage.getItem('bench-armed') !== 'yes' || sessionStorage.getItem(key)) return;
    sessionStorage.setItem(key, JSON.stringify({ perf: performance.now(), wall: Date.now() }));
  };
  const post = ServiceWorker.prototype.postMessage;
  ServiceWorker.prototype.postMessage = function (message, ...rest) {
    if (message?.type === 'REPORT_ERRORS' && message.entries?.some((e) => e.kind === 'boot')) stamp('bench-report');
    return post.call(this, message, ...rest);
  };
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data?.type === 'ROLLED_BACK' && sessionStorage.getItem('bench-report')) stamp('bench-rolled-back');
  });
  new MutationObserver(() => {
    const out = document.getElementById('out');
    const good = out?.dataset.cart === ${JSON.stringify(CART.good)};
    if (document.body?.dataset.booted === 'yes' && good && sessionStorage.getItem('bench-rolled-back')) stamp('bench-good');
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-booted'] });
})();`;

interface Stamp {
  perf: number;
  wall: number;
}

/** The stamps of this tab, once the good page has loaded (page loads in between are waited out). */
async function stamps(page: Page): Promise<Record<'report' | 'rolledBack' | 'good', Stamp>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = await page
      .evaluate(() => ['report', 'rolled-back', 'good'].map((k) => sessionStorage.getItem(`bench-${k}`)))
      .catch(() => null);
    if (found?.every((s) => s !== null)) {
      const [report, rolledBack, good] = found.map((s) => JSON.parse(s!) as Stamp);
      return { report: report!, rolledBack: rolledBack!, good: good! };
    }
    if (Date.now() > deadline) throw new Error(`fallback did not complete within 30 s; stamps: ${JSON.stringify(found)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One round: cart `version` (throws on import) goes live, the tab loads it and falls back. */
async function round(world: FallbackWorld, page: Page, version: string): Promise<{ switched: number; recovered: number }> {
  await world.t.release('cart', version, {
    'index.js': `throw new Error('cart@${version} failed to boot');\nexport function render() {}\n`,
  });
  await moveTo(world, page, version);
  await page.evaluate(() => {
    for (const key of ['report', 'rolled-back', 'good']) sessionStorage.removeItem(`bench-${key}`);
    sessionStorage.setItem('bench-armed', 'yes');
  });
  await page.reload();
  const { report, rolledBack, good } = await stamps(page);
  await page.evaluate(() => sessionStorage.removeItem('bench-armed'));
  expectGood(await loaded(page));
  // Back to where the next round starts: no rollout live, the failed version blocked.
  await world.t.store.rollback('cart');
  await checkForUpdate(page);
  return { switched: rolledBack.perf - report.perf, recovered: good.wall - report.wall };
}

function expectGood(state: Awaited<ReturnType<typeof loaded>>): void {
  if (state.rendered.cart !== CART.good) throw new Error(`after the fallback the tab runs cart@${state.rendered.cart}, not ${CART.good}`);
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const world = await fallbackWorld();
  // The bench's bundle of the worker (the tests' one may be stale); the world's hook does the rest.
  const inner = world.server.hook;
  world.server.hook = (req, res, path) => {
    if (path !== '/sw.js') return inner ? inner(req, res, path) : false;
    res
      .writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-cache' })
      .end(trancheScript(env.bundles, world.server.config));
    return true;
  };
  let context: BrowserContext | null = null;
  try {
    context = await env.browser.newContext();
    await context.addInitScript(STAMP_FALLBACK);
    const page = await openApp(context, world.server.origin);
    expectGood(await loaded(page));
    let next = 0;
    const recorded = await repeat(() => round(world, page, `9.0.${next++}`), env.rounds(10, 3), 1);
    return [
      {
        name: 'fallback: error report → bad version marked, current switched (ROLLED_BACK at the page)',
        value: median(recorded.map((s) => s.switched)),
        unit: 'ms',
        goal: GOAL_SWITCH_MS,
        baseline: null,
      },
      {
        name: 'fallback: error report → reloaded page shows the good version',
        value: median(recorded.map((s) => s.recovered)),
        unit: 'ms',
        goal: GOAL_RECOVERED_MS,
        baseline: null,
      },
    ];
  } finally {
    await context?.close();
    await world.close();
  }
}

/** The fallback latency measure. */
export const fallback: Measure = { title: 'fallback latency', run };
