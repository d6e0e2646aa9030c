/**
 * The world of the automatic-fallback browser tests: the real test worker (tranche/sw from
 * source, configured with a short boot timeout and a telemetry endpoint) serving an app built
 * on the page client, with cart versions that break in each way the policy knows, an app shell
 * and a third-party script that throw on demand, and a collector endpoint that can be down.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeEach, expect } from 'vitest';
import { parseTelemetryBatch, type TelemetryBatch } from '../../src/core/telemetry.js';
import { openStore } from '../../src/release/index.js';
import { browserFixture } from './browserFixture.js';
import { clientBundle } from './clientPages.js';
import { checkForUpdate, loaded, openApp, waitForState } from './swPage.js';
import { startSwServer, type SwTestConfig, type SwTestServer } from './swServer.js';
import type { S3TestServer } from './s3Server.js';
import { createTestStore, type TestStore } from './trancheStore.js';

/** Boot timeout of the test worker: configuration, long enough for a loaded CI machine. */
export const BOOT_TIMEOUT_MS = 5000;

const render = (version: string, extra = '') => `export function render(el) {
  el.dataset.cart = ${JSON.stringify(version)};
  el.append('cart@${version} ');${extra}
}
export async function lazy() { return (await import('./chunk.js')).value; }
`;

/** cart's versions: what each does is the name of the failure it stands for. */
export const CART = {
  /** Good, until the test sets localStorage `break` (a backend change breaks it too). */
  good: '1.0.0',
  /** Good too: what a healthy rollout moves to. */
  next: '1.1.0',
  /** Throws while it is imported. */
  throwsOnImport: '2.0.0',
  /** Boots, then throws from the third click on #buy. */
  throwsFromThirdClick: '2.1.0',
  /** Never finishes booting, so the app never calls ready(). */
  neverReady: '3.0.0',
  /** Boots; `window.storm(count, ms)` throws `count` errors from module code over `ms`. */
  storms: '4.0.0',
  /** Boots; a click on #buy imports its chunk `lazy.js`, which imports a bare specifier no import map maps. */
  importsUnmapped: '5.0.0',
} as const;

const SOURCES: Record<string, string> = {
  [CART.good]: `if (localStorage.getItem('break')) throw new Error('cart@1.0.0 broke too');\n${render('1.0.0')}`,
  [CART.next]: render('1.1.0'),
  [CART.throwsOnImport]: `throw new Error('cart@2.0.0 failed to boot');\n${render('2.0.0')}`,
  [CART.throwsFromThirdClick]: `let clicks = 0;\n${render(
    '2.1.0',
    `
  document.getElementById('buy').addEventListener('click', () => {
    clicks++;
    if (clicks >= 3) null.checkout();
  });`,
  )}`,
  [CART.neverReady]: `await new Promise(() => {});\n${render('3.0.0')}`,
  [CART.storms]: `${render(
    '4.0.0',
    `
  window.stormThrown = 0;
  window.storm = (count, ms) => {
    for (let i = 0; i < count; i++) setTimeout(() => { window.stormThrown++; throw new Error('storm ' + i); }, (i * ms) / count);
  };`,
  )}`,
  [CART.importsUnmapped]: render('5.0.0', `\n  document.getElementById('buy').addEventListener('click', () => import('./lazy.js'));`),
};

/** Files of a version beside its index.js. */
const CHUNKS: Record<string, Record<string, string>> = {
  [CART.importsUnmapped]: { 'lazy.js': `import { pad } from 'left-pad';\nexport const padded = pad('cart', 8);\n` },
};

/**
 * The app: the page client first, then each module of the snapshot, then `ready()`. `?prompt`
 * makes it prompt instead of reloading on a rollback. Each load counts itself, and
 * `rolled-back`, `worker-updated` and `shell-updated` events are kept, in sessionStorage (which
 * outlives the reloads of a tab).
 * `/shell.js` and the third-party script throw at boot and on demand when the URL has `?noise`.
 * `shellBuild` names the build of the shell the HTML belongs to.
 */
function appHtml(thirdParty: string, shellBuild: number): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>tranche fallback test app</title>
<meta name="shell-build" content="${shellBuild}">
<script src="/shell.js"></script>
</head>
<body><div id="out"></div><button id="buy">buy</button>
<script type="module">
  import { Tranche } from '/tranche.js';
  sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads')) + 1));
  const tranche = new Tranche('/sw.js', { reportIntervalMs: 50, reloadOnRollback: !location.search.includes('prompt') });
  window.tranche = tranche;
  const keep = (key, value) => sessionStorage.setItem(key, JSON.stringify([...JSON.parse(sessionStorage.getItem(key) ?? '[]'), value]));
  tranche.addEventListener('rolled-back', ({ module, version, reason, to, affectsThisPage, willReload }) =>
    keep('rolled-back', { module, version, reason, to, affectsThisPage, willReload }),
  );
  for (const type of ['worker-updated', 'shell-updated'])
    tranche.addEventListener(type, () => keep('updates', \`\${type} on build ${shellBuild}\`));
  document.getElementById('buy').addEventListener('click', () => (window.buys = (window.buys ?? 0) + 1));
  await tranche.register({ immediate: true });
  const element = document.getElementById('tranche-snapshot');
  window.snapshot = element ? JSON.parse(element.textContent) : null;
  const out = document.getElementById('out');
  for (const name of Object.keys(window.snapshot?.modules ?? {})) (await import(name)).render(out);
  await tranche.ready();
  document.body.dataset.booted = 'yes';
</script>
<script defer crossorigin="anonymous" src="${thirdParty}/modules/cart/${CART.storms}/third-party.js"></script>
</body></html>`;
}

const NOISY = "location.search.includes('noise')";
const SHELL_JS = `window.shellFail = () => setTimeout(() => { throw new Error('the shell broke'); });
if (${NOISY}) addEventListener('load', () => { throw new Error('the shell failed while booting'); });\n`;
// Laid out like a module file, on another origin: attribution must not blame cart for it.
const THIRD_PARTY_JS = `window.thirdPartyFail = () => setTimeout(() => { throw new Error('a third party broke'); });
if (${NOISY}) throw new Error('a third party failed while booting');\n`;

/** A store with every cart version released and 1.0.0 stable, served with the app. */
export interface FallbackWorld {
  t: TestStore;
  server: SwTestServer;
  /** Telemetry batches the collector accepted, checked with its own schema. */
  accepted: TelemetryBatch[];
  /** Bodies that reached the collector while it was down. */
  refused: TelemetryBatch[];
  /** While true the collector answers 503. */
  collectorDown: boolean;
  /** The build of the app shell the server deploys (its HTML and worker); see `redeployShell`. */
  shellBuild: number;
  /**
   * Makes the store's latest manifest the one workers read: nothing to do where the app server
   * serves the store, a publish where the store lives in a bucket.
   */
  publish(): Promise<void>;
  close(): Promise<void>;
}

let buckets = 0;

/**
 * Another app served at / instead of the fallback test app: its HTML and the files it loads
 * (path -> [content type, body]). It must boot as the test app does (`loaded()` reads it).
 */
export interface OtherApp {
  html: string;
  files: Record<string, [string, string]>;
}

/**
 * Builds the world, its worker configured with `worker` merged in; the page client is the one
 * the global setup bundled (when the test app is served; `app` replaces it). With `s3`, the store the
 * worker reads is a bucket of its own there (another origin), which lets the app's origin read it
 * (CORS) and gets the store published on every change.
 */
export async function fallbackWorld(
  worker: Partial<SwTestConfig> = {},
  s3?: S3TestServer,
  app?: () => Promise<OtherApp>,
): Promise<FallbackWorld> {
  const t = await createTestStore();
  for (const [version, source] of Object.entries(SOURCES))
    await t.release('cart', version, {
      'index.js': source,
      'chunk.js': `export const value = 'cart@${version} chunk';\n`,
      ...CHUNKS[version],
    });
  await t.store.promote('cart', CART.good);
  const server = await startSwServer(t.dir, {
    publicKeys: [t.publicKey],
    retryDelayMs: 1000,
    navigationCheckThrottleMs: 0,
    fallback: { bootTimeoutMs: BOOT_TIMEOUT_MS },
    telemetry: { url: '/telemetry', batchIntervalMs: 200 },
    ...worker,
  });
  const world: FallbackWorld = {
    t,
    server,
    accepted: [],
    refused: [],
    collectorDown: false,
    shellBuild: 1,
    publish: async () => {},
    close: async () => {
      await server.close();
      await t.remove();
    },
  };
  if (s3) {
    const bucket = `app-${++buckets}`;
    await s3.createBucket(bucket, [server.origin]);
    world.publish = async () => void (await openStore(t.dir, { s3: s3.options }).publishTo(`s3://${bucket}/store`));
    await world.publish();
    server.config.manifestUrl = s3.url('store/manifest.json', bucket);
  }
  const thirdParty = server.origin.replace('127.0.0.1', 'localhost');
  const other = await app?.();
  const files: Record<string, [string, string]> = other?.files ?? {
    '/tranche.js': ['text/javascript', await clientBundle()],
    '/shell.js': ['text/javascript', SHELL_JS],
  };
  server.hook = async (req, res, path) => {
    if (req.headers.host?.startsWith('localhost'))
      return send(res, 200, 'text/javascript', THIRD_PARTY_JS, { 'access-control-allow-origin': '*' });
    if (path === '/telemetry') return collect(world, req, res);
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', other?.html ?? appHtml(thirdParty, world.shellBuild));
    const file = files[path];
    return file ? send(res, 200, file[0], file[1]) : false;
  };
  return world;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers }).end(body);
  return true;
}

async function collect(world: FallbackWorld, req: IncomingMessage, res: ServerResponse): Promise<true> {
  let body = '';
  for await (const chunk of req) body += chunk;
  const batch = parseTelemetryBatch(JSON.parse(body));
  (world.collectorDown ? world.refused : world.accepted).push(batch);
  return send(res, world.collectorDown ? 503 : 200, 'application/json', '{}');
}

/**
 * Deploys a new build of the app shell: its HTML names the build, and the worker script's bytes
 * change (as a rebuilt shell's precache list changes them), so browsers find a new worker.
 * `worker` is merged into the new worker's configuration.
 */
export function redeployShell(world: FallbackWorld, worker: Partial<SwTestConfig> = {}): void {
  world.shellBuild++;
  world.server.config = { ...world.server.config, ...worker, shellBuild: world.shellBuild };
}

/** The shell build a page's HTML belongs to. */
export function shellBuildOf(page: Page): Promise<number> {
  return page.evaluate(() => Number(document.querySelector('meta[name="shell-build"]')!.getAttribute('content')));
}

/** Errors the collector counted for `module@version` (`null`: unattributed). */
export function errorCount(world: FallbackWorld, ref: string | null): number {
  return world.accepted
    .flatMap((b) => b.events)
    .filter((e) => e.type === 'errors' && (e.module === undefined ? null : `${e.module}@${e.version}`) === ref)
    .reduce((sum, e) => sum + (e.count ?? 0), 0);
}

/** What each test of the fallback app gets: its world, its browser context, and a tab. */
export interface FallbackTest {
  world: FallbackWorld;
  context: BrowserContext;
  /** A tab opened on the app, which booted cart's good version healthily. */
  page: Page;
}

/**
 * Registers the vitest hooks (call at the top of a test file); the fields are each test's.
 * `worker`, the S3 server `s3()` (started by the test file) and `app`: see `fallbackWorld`.
 */
export function fallbackTest(worker: Partial<SwTestConfig> = {}, s3?: () => S3TestServer, app?: () => Promise<OtherApp>): FallbackTest {
  const fixture = browserFixture(() => fallbackWorld(worker, s3?.(), app));
  const test = {} as FallbackTest;
  beforeEach(async () => {
    [test.world, test.context] = [fixture.world(), fixture.context()];
    test.page = await openApp(test.context, test.world.server.origin);
    expect((await loaded(test.page)).rendered.cart).toBe(CART.good); // booted healthily: proven here
  });
  return test;
}

/** Polls `fn` until the assertion holds; page loads and fallbacks take seconds on a busy machine. */
export function poll<T>(fn: () => T | Promise<T>): ReturnType<typeof expect.poll<T>> {
  return expect.poll(fn, { timeout: 30_000 });
}

/** Rolls cart `version` out to everyone and waits until new page loads get it. */
export async function moveTo(world: FallbackWorld, page: Page, version: string): Promise<void> {
  await world.t.store.rollout('cart', version, 100);
  await world.publish();
  const { sequence } = JSON.parse(JSON.parse(await world.t.manifestText()).payload);
  // At least as new as the ask, even while a check the worker started before the publish (a navigation's) runs.
  expect(await checkForUpdate(page)).toMatchObject({ sequence });
  await waitForState(page, (state) => state.modules.cart?.current === version, `cart@${version} to be current`);
}

/**
 * What this tab remembers across its reloads: how often it loaded, its rolled-back events, and
 * its worker-updated and shell-updated events (`<type> on build <shell build of the page>`).
 */
export async function tab(page: Page): Promise<{ loads: number; rolledBack: unknown[]; updates: string[] }> {
  for (;;) {
    try {
      return await page.evaluate(() => ({
        loads: Number(sessionStorage.getItem('loads')),
        rolledBack: JSON.parse(sessionStorage.getItem('rolled-back') ?? '[]'),
        updates: JSON.parse(sessionStorage.getItem('updates') ?? '[]'),
      }));
    } catch {
      await page.waitForLoadState(); // the page was reloading: ask the next document
    }
  }
}
