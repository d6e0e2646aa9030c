/**
 * Pages for Chromium tests of the page client: the client bundled as an app would ship it, an
 * app page whose snapshot element is what the worker injects, module files under versioned
 * URLs, and a recording worker standing in for the worker side of the fallback messages.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { build as viteBuild } from 'vite';

const CLIENT_ENTRY = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));

/** Where the browser project's global setup (buildSwBundle.ts) writes `bundle()`'s output once per run. */
export const CLIENT_BUNDLE = fileURLToPath(new URL('../../.tmp/client-test/tranche.js', import.meta.url));

/** The page client (`tranche`) as one minified ES module. */
export async function bundle(build: typeof viteBuild): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: true, lib: { entry: CLIENT_ENTRY, formats: ['es'], fileName: 'tranche' } },
  });
  const output = (Array.isArray(result) ? result[0]! : result) as { output: { code?: string }[] };
  return output.output[0]!.code!;
}

let built: Promise<string> | null = null;

/** The page client bundle the test pages import as `/tranche.js`: the global setup's, else (a bench run) built now. */
export function clientBundle(): Promise<string> {
  built ??= readFile(CLIENT_BUNDLE, 'utf8').catch(async () => bundle((await import('vite')).build));
  return built;
}

/**
 * Keeps every READY and REPORT_ERRORS a page sends (answering READY), and answers the test's
 * TEST_RECEIVED, TEST_RESET and TEST_BROADCAST (posts `message` to every window). Never answers
 * anything else, like a worker that does not know a request.
 */
export const RECORDER_SW = `
const received = [];
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  const data = event.data;
  const reply = (result) => event.ports[0].postMessage({ type: 'REPLY', ok: true, result });
  switch (data && data.type) {
    case 'REPORT_ERRORS': received.push(data); break;
    case 'READY': received.push(data); reply(null); break;
    case 'TEST_RECEIVED': reply(received); break;
    case 'TEST_RESET': received.length = 0; reply(null); break;
    case 'TEST_BROADCAST':
      event.waitUntil(self.clients.matchAll({ type: 'window' }).then((clients) => {
        for (const client of clients) client.postMessage(data.message);
        reply(null);
      }));
  }
});
`;

/** A file the test server serves; a function body is called for each request. */
export interface PageFile {
  type: string;
  body: string | (() => string);
}

const js = (body: string): PageFile => ({ type: 'text/javascript', body });

/**
 * The app: `/app.html` runs cart@2.1.0 and header@1.0.0 (each load with its own nonce). header throws while it boots and one of
 * its scripts is missing; the shell and a third-party script (served from `thirdParty`) throw
 * too. `?reload=no` makes the app prompt instead of reloading on a rollback; `?ready=boot` calls
 * `ready()` as soon as the last module booted. Each load counts
 * itself and records `rolled-back` events in sessionStorage, which outlives the reloads.
 */
export function appPage(thirdParty: string): [string, PageFile][] {
  let loads = 0;
  // A fresh nonce per page load, as the worker injects it.
  const snapshot = () => ({
    id: `nonce-${++loads}`,
    sequence: 1,
    modules: { cart: '2.1.0', header: '1.0.0' },
    created: '2026-11-26T15:00:00.000Z',
  });
  const html = () => `<!doctype html>
<html><head>
<script type="application/json" id="tranche-snapshot">${JSON.stringify(snapshot())}</script>
<script type="module">
  import { Tranche } from '/tranche.js';
  sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads')) + 1));
  const tranche = new Tranche('/sw.js', { reloadOnRollback: !location.search.includes('reload=no') });
  tranche.addEventListener('rolled-back', ({ type, module, version, reason, to, affectsThisPage, willReload }) => {
    const events = JSON.parse(sessionStorage.getItem('events') ?? '[]');
    events.push({ type, module, version, reason, to, affectsThisPage, willReload });
    sessionStorage.setItem('events', JSON.stringify(events));
  });
  tranche.register({ immediate: true });
  window.tranche = tranche;
</script>
<script type="module" src="/modules/header/1.0.0/index.js"></script>
<script type="module" src="/modules/header/1.0.0/missing.js"></script>
<script type="module" src="/shell.js"></script>
<script defer src="${thirdParty}/modules/cart/2.1.0/third-party.js"></script>
<script type="module" src="/modules/cart/2.1.0/index.js"></script>
<script type="module">if (location.search.includes('ready=boot')) window.tranche.ready();</script>
</head><body><button id="buy">buy</button></body></html>`;
  return [
    ['/app.html', { type: 'text/html', body: html }],
    ['/modules/header/1.0.0/index.js', js("throw new Error('header failed to boot');\n")],
    [
      '/shell.js',
      js(
        [
          "window.shell = { fail() { setTimeout(() => { throw new Error('shell at runtime'); }); } };",
          "throw new Error('shell failed to boot');",
        ].join('\n'),
      ),
    ],
    ['/modules/cart/2.1.0/third-party.js', js("throw new Error('third party');\n")],
    [
      '/modules/cart/2.1.0/index.js',
      js(
        [
          'const cart = { clicks: 0 };',
          "document.querySelector('#buy').addEventListener('click', () => {",
          '  cart.clicks++;',
          '  if (cart.clicks <= 3) null.checkout();',
          '});',
          "cart.loadMissingChunk = () => { import('./assets/chunk-missing.js'); };",
          '// `count` errors thrown by module code, spread over `ms` milliseconds.',
          'cart.storm = (count, ms) => {',
          '  for (let i = 0; i < count; i++) setTimeout(() => { throw new Error(`storm ${i}`); }, (i * ms) / count);',
          '};',
          'window.cart = cart;',
        ].join('\n'),
      ),
    ],
  ];
}
