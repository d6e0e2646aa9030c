/**
 * The demo server over HTTP: the collector refusing bad bodies and serving on, the dashboard's
 * buttons running the release verbs, and `npm run demo`'s process (the URL alone on a line, a
 * clean stop on Ctrl-C, a restart that keeps the store and the collected data).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../../src/core/manifest.js';
import { MAX_BATCH_BYTES } from '../../src/core/telemetry.js';
import { launchChromium } from '../support/chromium.js';
import { booted, startTestDemo, statsOf, type TestDemo } from '../support/demo.js';
import { DEMO_BUILD_DIR, DEMO_KEYS_DIR } from '../support/demoBuild.js';

let browser: Browser;
let demo: TestDemo;

// Pages on another site: `attacker.test` resolves to loopback in this browser, as a rebound DNS name would.
const ATTACKER_HOST = 'attacker.test';

beforeAll(async () => {
  [demo, browser] = await Promise.all([startTestDemo(), launchChromium([`--host-resolver-rules=MAP ${ATTACKER_HOST} 127.0.0.1`])]);
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

const batch = (id: string, client = 'c1') =>
  JSON.stringify({ format: 1, client, events: [{ id, type: 'exposure', time: Date.now(), module: 'cart', version: '1.0.0' }] });
const post = (url: string, body: string) =>
  fetch(`${url}api/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the collector at /api/telemetry', () => {
  it('answers malformed bodies with 400 and the reason, oversized ones with 413, and keeps serving', async () => {
    const notJson = await post(demo.url, '{"format":1,');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error).toMatch(/^telemetry batch is not valid JSON/);
    const badField = await post(demo.url, JSON.stringify({ format: 1, client: 'c1', events: [{ id: 'x', type: 'exposure', time: -5 }] }));
    expect(badField.status).toBe(400);
    expect((await badField.json()).error).toContain('events[0].time: expected epoch milliseconds, got -5');
    const huge = await post(demo.url, `{"format":1,"client":"c1","events":[${'"x",'.repeat(MAX_BATCH_BYTES / 4)}]}`);
    expect(huge.status).toBe(413);
    expect((await huge.json()).error).toMatch(/over the limit of 262144/);

    const good = await post(demo.url, batch('e1'));
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await post(demo.url, batch('e1'))).json()).toEqual({ accepted: 0, duplicates: 1 });
    expect(statsOf(await demo.state(), 'cart', '1.0.0')).toMatchObject({ activeClients: 1, pageLoads: 1 });
  });
});

describe('the dashboard', () => {
  it('rolls out, pauses, resumes, promotes and rolls back through the release API, as the CLI would', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${demo.url}dashboard`);
    const card = '[data-module=catalog]';
    const tags = () => page.textContent(`${card} .tags`);
    await page.waitForSelector(`${card} select option[value="1.1.0"]`, { state: 'attached' });

    await page.selectOption(`${card} select`, '1.1.0');
    await page.fill(`${card} input[name=percent]`, '25');
    await page.click(`${card} [data-action="roll out"]`);
    await expect.poll(tags).toBe('stable 1.0.01.1.0 at 25%');
    expect(await page.textContent('#notice')).toBe('rollout catalog: catalog@1.1.0 reaches 25% of clients (manifest 4)');

    await page.click(`${card} [data-action=pause]`);
    await expect.poll(tags).toContain('paused');
    // The release code refuses what the CLI refuses, with its words.
    await page.click(`${card} [data-action=promote]`);
    await expect
      .poll(() => page.textContent('#notice'))
      .toMatch(/^promote catalog refused: catalog: is paused; run tranche resume catalog first/);
    await page.click(`${card} [data-action=resume]`);
    await expect.poll(tags).toBe('stable 1.0.01.1.0 at 25%');

    await page.click(`${card} [data-action="roll back"]`);
    await expect.poll(tags).toBe('stable 1.0.01.1.0 blocked');
    const history = demo
      .tranche('history', 'catalog', '--json')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { verb: string; actor: string });
    expect(history.map((h) => h.verb)).toEqual(['promote', 'rollout', 'pause', 'resume', 'rollback']);
    expect(new Set(history.map((h) => h.actor))).toEqual(new Set(['tranche demo']));
    await context.close();
  });
});

describe('the dashboard and ramp plans', () => {
  it('shows a module’s ramp plan and its last decision', async () => {
    demo.tranche('rollout', 'header@2.0.0', '--plan', '1,100', '--step', '1h');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${demo.url}dashboard`);
    await expect
      .poll(() => page.textContent('[data-module=header] .plan'))
      .toMatch(/^plan 2\.0\.0 1,100%: running at step 1 \(1%\); last decision \S+ Started \(rollout 1%\): plan 1,100% every 3600000 ms$/);
    await context.close();
  });
});

describe('POST /api/actions from anywhere but the dashboard', () => {
  /** A page of another site, served from its own server. */
  async function attackerPage(html: string): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://${ATTACKER_HOST}:${(server.address() as AddressInfo).port}/`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
  const actions = () => new URL('api/actions', demo.url).href;
  const published = async () => (await demo.state()).status.sequence;

  it('refuses a form (text/plain JSON) and a no-cors fetch from another origin, publishing nothing', async () => {
    const before = await published();
    // The form's field name and value together form JSON: {"verb":"pause","module":"cart","x":"="}
    const attacker = await attackerPage(`<!doctype html>
      <iframe name="sink"></iframe>
      <form method="post" enctype="text/plain" target="sink" action="${actions()}">
        <input name='{"verb":"pause","module":"cart","x":"' value='"}'>
      </form>`);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(attacker.url);
    const sink = page.frame({ name: 'sink' })!;
    await Promise.all([sink.waitForNavigation(), page.evaluate(() => document.forms[0]!.submit())]);
    expect(await sink.textContent('body')).toContain('content-type \\"text/plain\\": expected application/json');

    const noCors = (action: object) =>
      page.evaluate(
        ([url, body]) =>
          fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body }).then((r) => r.type),
        [actions(), JSON.stringify(action)] as const,
      );
    expect(await noCors({ verb: 'rollout', module: 'cart', version: '2.0.0', percent: 100 })).toBe('opaque');
    // A fetch that declares JSON needs a CORS preflight, which the demo server does not grant.
    const declared = await page.evaluate(
      (url) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"verb":"pause","module":"cart"}' }).then(
          (r) => `answered ${r.status}`,
          (err: Error) => err.name,
        ),
      actions(),
    );
    expect(declared).toBe('TypeError');

    expect(await published()).toBe(before);
    expect((await demo.state()).status.modules.cart).toMatchObject({ stable: '1.0.0', rollouts: [], paused: false });
    await context.close();
    await attacker.close();
  });

  it('answers JSON nested 7,000 deep with 400 and the reason, and keeps serving', async () => {
    const deep = `{"verb":"rollout","module":"cart","version":"2.0.0","percent":${'['.repeat(7000)}${']'.repeat(7000)}}`;
    const answer = await fetch(actions(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
    expect(answer.status).toBe(400);
    expect((await answer.json()).error).toBe('action is not valid JSON: nested deeper than 64 levels');
    expect((await fetch(new URL('api/state', demo.url))).status).toBe(200);
  });

  it("refuses requests addressed to another host name (DNS rebinding), even from that name's own pages", async () => {
    const before = await published();
    const context = await browser.newContext();
    const page = await context.newPage();
    // The rebound name reaches the demo server itself, so the page and its fetch are "same-origin".
    const rebound = new URL(demo.url);
    rebound.hostname = ATTACKER_HOST;
    const visit = await page.goto(`${rebound.href}dashboard`);
    expect(visit!.status()).toBe(403);
    const answer = await page.evaluate(
      (url) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ verb: 'rollout', module: 'cart', version: '2.0.0', percent: 100 }),
        }).then(async (r) => `${r.status} ${(await r.json()).error}`),
      `${rebound.href}api/actions`,
    );
    expect(answer).toBe(`403 Host "${rebound.host}" is not one this server answers to`);
    expect(await published()).toBe(before);
    await context.close();
  });
});

describe('a first visit (no worker yet) to a tampered store', () => {
  it('never runs bytes that do not match the release record: the import map refuses them, the module URL fails with 500', async () => {
    const record = JSON.parse(await readFile(path.join(demo.storeDir, 'records', 'header', '1.0.0.json'), 'utf8')) as ReleaseRecord;
    const entry = record.files.find((f) => f.path === record.entry)!;
    // Both copies a first visit can meet: the blob (served through storeHandler's /modules/) and
    // the file by name that publishing writes for static hosts (loaded through importmap.js).
    const tampered = [path.join(demo.storeDir, 'files', entry.sha256), path.join(demo.storeDir, 'modules', 'header', '1.0.0', entry.path)];
    const originals = await Promise.all(tampered.map((file) => readFile(file)));
    await Promise.all(tampered.map((file) => writeFile(file, 'window.tampered = true; export function mount() {}\n')));
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(demo.url);
      expect(await booted(page)).toBe('degraded');
      expect(await page.evaluate(() => (window as { tampered?: boolean }).tampered)).toBeUndefined();
      const answer = await fetch(`${demo.url}modules/header/1.0.0/${entry.path}`);
      expect(`${answer.status} ${await answer.text()}`).toMatch(
        new RegExp(
          `^500 tranche store: files/${entry.sha256} \\(header@1\\.0\\.0 ${entry.path}\\): ` +
            `SHA-256 mismatch, expected ${entry.sha256}, got [0-9a-f]{64}$`,
        ),
      );
      await context.close();
    } finally {
      await Promise.all(tampered.map((file, i) => writeFile(file, originals[i]!)));
    }
  });
});

/** Runs `npm run demo`'s script with `args`; resolves with the process once it printed its URL. */
async function startDemoProcess(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const main = fileURLToPath(new URL('../../demo/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = output.split('\n').find((l) => /^http:\/\/127\.0\.0\.1:\d+\/$/.test(l));
      if (line) resolve(line);
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => reject(new Error(`the demo exited (${code}) before printing its URL:\n${output}`)));
  });
  return { child, url, output: () => output };
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

describe('npm run demo', () => {
  it('prints its URL alone on a line, stops cleanly on Ctrl-C, and keeps its store and data across a restart', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'tranche-demo-cli-'));
    const args = [
      '--port',
      '0',
      '--store',
      path.join(root, 'store'),
      '--keys',
      DEMO_KEYS_DIR,
      '--data',
      path.join(root, 'data'),
      '--build-dir',
      DEMO_BUILD_DIR,
      '--no-build',
    ];
    try {
      const first = await startDemoProcess(args);
      expect(first.output()).toContain('(created: 1.0.0 of every module is stable)');
      expect((await fetch(first.url)).status).toBe(200);
      expect(await (await post(first.url, batch('kept', 'c9'))).json()).toEqual({ accepted: 1, duplicates: 0 });
      // The private key is never served, however it is asked for.
      for (const p of ['keys/private.jwk', 'store/../keys/private.jwk', 'private.jwk'])
        expect((await fetch(first.url + p)).status).toBe(404);
      expect(await readFile(path.join(DEMO_KEYS_DIR, 'private.jwk'), 'utf8')).toContain('"d"');
      first.child.kill('SIGINT');
      expect(await exited(first.child)).toBe(0);
      expect(first.output()).toContain('SIGINT: stopping the demo');

      const second = await startDemoProcess(args);
      expect(second.output()).not.toContain('created');
      const state = await (await fetch(`${second.url}api/state`)).json();
      expect(statsOf(state, 'cart', '1.0.0')).toMatchObject({ activeClients: 1 });
      expect(state.status.sequence).toBe(3);
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
