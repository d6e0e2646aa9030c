#!/usr/bin/env node
/**
 * `tranche`: the release CLI, a thin layer over `tranche/node` (docs/cli.md). Exit codes: 0 ok,
 * 1 the operation failed, 2 usage error (bad arguments, including commander's own complaints).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Argument, Command, CommanderError, Option } from 'commander';
import { TrancheError, isTrancheError } from '../core/TrancheError.js';
import { checkModule, checkVersion } from './releaseNames.js';
import { formatBytes, formatDecision, formatHealth, formatHistoryEntry, formatRelease, formatStatus, formatVerify } from './cliFormat.js';
import { fleetHealth } from './health.js';
import { openMetricsSource, type MetricsSource } from './metricsSource.js';
import { parseDuration, parseSteps, parseThresholds, type Decision } from './plans.js';
import { readFile } from 'node:fs/promises';
import type { ProgressListener } from './ingest.js';
import type { S3Options } from './S3Backend.js';
import type { TransferResult } from './transfer.js';
import { progressBar } from './progress.js';
import { openStore, type PublishOptions, type ReleaseStore, type Resolution } from './ReleaseStore.js';
import { keygen } from './keys.js';
import { startCollector } from '../collector/handler.js';
import { RELEASE_INFO_FILE, SHARED_INFO_FILE, releaseIdentity } from './releaseInfo.js';
import type { PublishResult } from './publish.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Bytes of output gathered before one write: 100,000 `resolve` lines in ~100 writes, not 100,000. */
const OUTPUT_CHUNK = 64 * 1024;

function usage(reason: string): never {
  throw new TrancheError('usage', { reason });
}

function invalidArgument(where: string, problem: string): never {
  throw new TrancheError('invalid-argument', { where, problem });
}

interface GlobalOptions {
  store: string;
  key?: string;
  endpoint?: string;
  region?: string;
}

function s3Options(cmd: Command): S3Options {
  const { endpoint, region } = cmd.optsWithGlobals<GlobalOptions>();
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint))
    invalidArgument(`--endpoint ${endpoint}`, 'expected an http(s) URL such as http://127.0.0.1:9000');
  return { ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) };
}

function storeOf(cmd: Command, where?: string): ReleaseStore {
  const { store, key } = cmd.optsWithGlobals<GlobalOptions>();
  return openStore(where ?? store, { key, s3: s3Options(cmd) });
}

/** Prints what a publish or copy did. */
function reportTransfer(result: TransferResult): void {
  console.log(`${result.note}: ${result.uploaded} objects uploaded (${formatBytes(result.bytes)}), ${result.present} already there`);
}

/** Progress of an upload: a bar on a terminal, a line per tenth in CI. */
function uploadBar(label: string): { onProgress?: ProgressListener; done: () => void } {
  return progressBar(label, { unit: 'objects', lines: true });
}

/** Splits `<module>@<version>`, naming the argument when it is not one. */
function target(text: string, what: string): { module: string; version: string } {
  const at = text.indexOf('@');
  if (at < 0) invalidArgument(`${what} ${text}`, 'expected <module>@<version> such as cart@1.2.0');
  return {
    module: checkModule(text.slice(0, at), `${what} ${text}: module`),
    version: checkVersion(text.slice(at + 1), `${what} ${text}: version`),
  };
}

function requirements(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const at = spec.indexOf('@');
    if (at < 1) invalidArgument(`--requires ${spec}`, 'expected <module>@<range> such as header@^2.0.0');
    const name = spec.slice(0, at);
    if (name in out) invalidArgument(`--requires ${spec}`, `${name} is required twice`);
    out[name] = spec.slice(at + 1);
  }
  return out;
}

function percent(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) invalidArgument(`--percent ${text}`, 'expected a number from 0 to 100 in steps of 0.01');
  return value;
}

function publishOptions(options: { expires?: string; allowIncompatible?: boolean }): PublishOptions {
  return {
    ...(options.expires === undefined ? {} : { expires: options.expires }),
    ...(options.allowIncompatible ? { allowIncompatible: true } : {}),
  };
}

function report(result: PublishResult): void {
  console.log(`${result.note} (manifest sequence ${result.sequence})`);
}

const collect = (value: string, previous: string[]) => [...previous, value];
const allowIncompatibleOption = () =>
  new Option(
    '--allow-incompatible',
    "publish even when a live version's --requires range is met by no live version, " +
      'or its shared range by the shell (its clients fall back)',
  );
const expiresOption = () =>
  new Option('--expires <time>', "ISO time after which clients reject the new manifest, or never (default: the current manifest's)");

function write(text: string): Promise<void> {
  return new Promise((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once('drain', resolve)));
}

async function writeResolutions(results: AsyncIterable<Resolution>, json: boolean): Promise<void> {
  let chunk = '';
  for await (const { client, modules } of results) {
    chunk += json
      ? `${JSON.stringify({ client, modules })}\n`
      : `${client}  ${Object.entries(modules)
          .map(([name, version]) => `${name}@${version}`)
          .join(' ')}\n`;
    if (chunk.length >= OUTPUT_CHUNK) {
      await write(chunk);
      chunk = '';
    }
  }
  if (chunk) await write(chunk);
}

async function* stdinIds(): AsyncGenerator<string> {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) if (line) yield line;
}

function addPublishingCommands(program: Command): void {
  program
    .command('promote')
    .description('make <module>@<version> the stable version')
    .argument('<module@version>')
    .addOption(expiresOption())
    .addOption(allowIncompatibleOption())
    .action(async (spec: string, o, cmd: Command) => {
      const { module, version } = target(spec, '<module@version>');
      report(await storeOf(cmd).promote(module, version, publishOptions(o)));
    });
  program
    .command('rollout')
    .description('start or change the rollout of <module>@<version> to --percent of clients, or start a ramp plan (--plan, --step)')
    .argument('<module@version>')
    .option('--percent <p>', '0..100 in steps of 0.01')
    .option('--plan <percents>', 'a ramp plan: ascending percents ending at 100, e.g. 1,5,25,50,100 (tranche advance moves it on)')
    .option('--step <duration>', 'how long each plan step lasts: 2s, 30m, 1h (with --plan)')
    .option('--thresholds <file>', "JSON overriding the plan's analysis defaults (docs/progressive-rollouts.md)")
    .addOption(expiresOption())
    .addOption(allowIncompatibleOption())
    .action(
      async (spec: string, o: { percent?: string; plan?: string; step?: string; thresholds?: string; expires?: string }, cmd: Command) => {
        const { module, version } = target(spec, '<module@version>');
        if ((o.percent === undefined) === (o.plan === undefined))
          usage('rollout: give either --percent <p> or --plan <percents> --step <duration>');
        if (o.percent !== undefined) return report(await storeOf(cmd).rollout(module, version, percent(o.percent), publishOptions(o)));
        if (o.step === undefined) usage('--plan needs --step <duration> such as 30m');
        const thresholds = o.thresholds === undefined ? undefined : parseThresholds(await readFile(o.thresholds, 'utf8'), o.thresholds);
        const plan = {
          steps: parseSteps(o.plan!, '--plan'),
          stepMs: parseDuration(o.step, '--step'),
          ...(thresholds ? { thresholds } : {}),
        };
        report(await storeOf(cmd).rolloutPlan(module, version, { ...plan, ...publishOptions(o) }));
      },
    );
  for (const verb of ['pause', 'resume'] as const) {
    program
      .command(verb)
      .description(verb === 'pause' ? "freeze a module's rollouts" : 'lift pause')
      .argument('<module>')
      .addOption(expiresOption())
      .addOption(allowIncompatibleOption())
      .action(async (name: string, o, cmd: Command) => report(await storeOf(cmd)[verb](checkModule(name, '<module>'), publishOptions(o))));
  }
  program
    .command('rollback')
    .description('end live rollouts, or return to the previous stable; block what was abandoned')
    .argument('<module>')
    .option('--to <version>', 'the stable version to return to')
    .addOption(expiresOption())
    .action(async (name: string, o: { to?: string; expires?: string }, cmd: Command) => {
      if (o.to !== undefined) checkVersion(o.to, '--to');
      report(await storeOf(cmd).rollback(checkModule(name, '<module>'), { ...publishOptions(o), ...(o.to ? { to: o.to } : {}) }));
    });
  program
    .command('unblock')
    .description('lift the block a rollback put on <module>@<version> (it may go live again)')
    .argument('<module@version>')
    .addOption(expiresOption())
    .addOption(allowIncompatibleOption())
    .action(async (spec: string, o, cmd: Command) => {
      const { module, version } = target(spec, '<module@version>');
      report(await storeOf(cmd).unblock(module, version, publishOptions(o)));
    });
  program
    .command('kill-switch')
    .description('on: every service worker unregisters itself; off: normal operation')
    .addArgument(new Argument('<state>').choices(['on', 'off']))
    .addOption(expiresOption())
    .addOption(allowIncompatibleOption())
    .action(async (state: string, o, cmd: Command) => report(await storeOf(cmd).setKillSwitch(state === 'on', publishOptions(o))));
  program
    .command('shared')
    .description(`record the shared dependencies' versions of the app's shell, from its build's ${SHARED_INFO_FILE}`)
    .argument('<app-build-dir>')
    .addOption(expiresOption())
    .addOption(allowIncompatibleOption())
    .action(async (dir: string, o, cmd: Command) => report(await storeOf(cmd).setShared(dir, publishOptions(o))));
}

function addReadingCommands(program: Command): void {
  program
    .command('status')
    .description('the current manifest; with --health, what clients report for each live version')
    .option('--json', 'machine-readable output')
    .option('--health', 'per live version: clients, page loads, healthy boots, errors, fallbacks, staging failures, beside the stable')
    .option('--metrics <source>', 'with --health: a collector URL, a collector SQLite file, or prometheus=<url>')
    .option('--window <duration>', 'with --health: how far back to look', '1h')
    .action(async (o: { json?: boolean; health?: boolean; metrics?: string; window: string }, cmd: Command) => {
      const store = storeOf(cmd);
      const status = await store.status();
      if (o.health) {
        if (!o.metrics) usage('status --health needs --metrics <source>');
        const to = Date.now();
        const window = { from: to - parseDuration(o.window, '--window'), to };
        const health = await withSource(o.metrics, async (source) =>
          fleetHealth(status, await source.figures(window), window, await store.plans()),
        );
        return console.log(o.json ? JSON.stringify(health) : formatHealth(health));
      }
      const { sequence, modules, killSwitch, shared } = status;
      console.log(o.json ? JSON.stringify({ sequence, modules, killSwitch, ...(shared ? { shared } : {}) }) : formatStatus(status));
    });
  program
    .command('history')
    .description("every change touching <module>, oldest first, with its ramp plan's decisions")
    .argument('<module>')
    .option('--json', 'one JSON object per line')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const store = storeOf(cmd);
      const entries = await store.history(checkModule(name, '<module>'));
      // Decisions that published are in their entries; the others (extend, held, stopped) come from the plan.
      const plan = (await store.plans()).find((p) => p.module === name);
      const quiet = (plan?.decisions ?? []).filter((d) => d.action === 'none' || d.action === 'extend');
      const lines = [
        ...entries.map((e) => ({ time: e.time, line: o.json ? JSON.stringify(e) : formatHistoryEntry(e, name) })),
        ...quiet.map((d) => ({ time: d.time, line: o.json ? JSON.stringify({ decision: d }) : formatDecision(d) })),
      ]
        .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
        .map((x) => x.line);
      if (lines.length) await write(`${lines.join('\n')}\n`);
      else if (!o.json) console.log(`no changes to ${name} yet`);
    });
  program
    .command('resolve')
    .description('the version of each module a client gets (ids from --client, else stdin, one per line)')
    .option('--client <id>', 'a client id (repeatable)', collect, [])
    .option('--json', 'one JSON object per line')
    .action(async (o: { client: string[]; json?: boolean }, cmd: Command) => {
      await writeResolutions(storeOf(cmd).resolve(o.client.length ? o.client : stdinIds()), Boolean(o.json));
    });
  program
    .command('verify')
    .description('check signature, schema, records and every stored file')
    .option('--public-key <file>', 'trust this public key (repeatable; default: every key in <store>/keys/)', collect, [])
    .option('--remote <store>', 'verify this store (s3://bucket/prefix or a directory) as a client reads it, trusting the keys of --store')
    .action(async (o: { publicKey: string[]; remote?: string }, cmd: Command) => {
      const local = storeOf(cmd);
      const trustLocal = o.remote !== undefined && !o.publicKey.length && (await local.backend.list('keys/')).length > 0;
      const result = await (o.remote === undefined ? local : storeOf(cmd, o.remote)).verify({
        publicKeys: o.publicKey,
        ...(trustLocal ? { keysFrom: local.backend } : {}),
      });
      console.log(formatVerify(result));
      if (!result.ok) process.exitCode = EXIT_FAILED;
    });
}

function portNumber(text: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) invalidArgument(`--port ${text}`, 'expected a port number 0..65535 (0 picks a free one)');
  return n;
}

/** Resolves at SIGINT or SIGTERM. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function withSource<T>(spec: string, fn: (source: MetricsSource) => Promise<T>): Promise<T> {
  const source = openMetricsSource(spec);
  try {
    return await fn(source);
  } finally {
    source.close();
  }
}

function addAdvanceCommand(program: Command): void {
  program
    .command('advance')
    .description('evaluate every running ramp plan once and publish what it decides (idempotent; safe from cron)')
    .requiredOption('--metrics <source>', 'a collector URL, a collector SQLite file, or prometheus=<url>')
    .option('--watch', 'keep evaluating until SIGINT or SIGTERM')
    .option('--interval <duration>', 'with --watch: time between evaluations', '1m')
    .option('--json', 'one JSON line per decision')
    .action(async (o: { metrics: string; watch?: boolean; interval: string; json?: boolean }, cmd: Command) => {
      const store = storeOf(cmd);
      const interval = parseDuration(o.interval, '--interval');
      const print = (decisions: Decision[]) => {
        for (const d of decisions) console.log(o.json ? JSON.stringify(d) : formatDecision(d));
      };
      await withSource(o.metrics, async (source) => {
        if (!o.watch) return print(await store.advance(source));
        let stopped = false;
        void stopSignal().then(() => (stopped = true));
        while (!stopped) {
          print(await store.advance(source));
          const until = Date.now() + interval;
          while (!stopped && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(200, until - Date.now())));
        }
      });
    });
}

function addCollectCommand(program: Command): void {
  program
    .command('collect')
    .description('run a telemetry collector: POST /api/telemetry (worker batches), GET /metrics (Prometheus), GET /api/figures')
    .requiredOption('--db <file>', 'the SQLite file it keeps counts in (created when missing)')
    .option('--port <n>', 'port to listen on; 0 picks a free one', '0')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--allowed-origin <origin>', 'an app origin whose workers may post here (repeatable; CORS)', collect, [])
    .option('--allowed-host <host>', 'a Host name it answers to besides loopback names (repeatable; behind a load balancer)', collect, [])
    .action(async (o: { db: string; port: string; host: string; allowedOrigin: string[]; allowedHost: string[] }) => {
      const running = await startCollector({
        db: o.db,
        port: portNumber(o.port),
        host: o.host,
        allowedOrigins: o.allowedOrigin,
        ...(o.allowedHost.length ? { allowedHosts: [...o.allowedHost, '127.0.0.1', 'localhost', '[::1]'] } : {}),
      });
      const stopped = stopSignal();
      // The URL alone on its line: scripts read it from here.
      console.log(running.url);
      console.error(`${await stopped}: stopping the collector`);
      await running.close();
    });
}

/** This package's version, from its package.json (two levels up from src/release and dist/release alike). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function addTransferCommands(program: Command): void {
  program
    .command('publish')
    .description('upload the store to --to (s3://bucket/prefix or a directory): what it lacks, then the manifest last')
    .requiredOption('--to <store>', 'the store clients read, e.g. s3://my-bucket/store')
    .action(async (o: { to: string }, cmd: Command) => {
      const bar = uploadBar(`publish to ${o.to}`);
      const result = await storeOf(cmd)
        .publishTo(o.to, bar.onProgress ? { onProgress: bar.onProgress } : {})
        .finally(bar.done);
      reportTransfer(result);
    });
  program
    .command('copy')
    .description('copy the release <module>@<version> between stores, same bytes and hashes (not live until promoted)')
    .argument('<module@version>')
    .option('--from <store>', 'the store to copy from (default: --store)')
    .requiredOption('--to <store>', 'the store to copy to (s3://bucket/prefix or a directory)')
    .action(async (spec: string, o: { from?: string; to: string }, cmd: Command) => {
      const { module, version } = target(spec, '<module@version>');
      const bar = uploadBar(`copy ${spec} to ${o.to}`);
      const result = await storeOf(cmd, o.from)
        .copyTo(o.to, module, version, bar.onProgress ? { onProgress: bar.onProgress } : {})
        .finally(bar.done);
      reportTransfer(result);
    });
}

function buildProgram(): Command {
  const program = new Command('tranche')
    .description('release, roll out and verify independently versioned front-end modules')
    // Not commander's version(): a program-wide --version would swallow `release --version <semver>`.
    .addHelpText('after', '\n`tranche --version` (or -V) prints the version.')
    .addOption(
      new Option('--store <dir>', 'the release store: a directory or s3://bucket/prefix').env('TRANCHE_STORE').default('./tranche-store'),
    )
    .addOption(new Option('--key <file>', 'private JWK that signs manifests').env('TRANCHE_KEY'))
    .addOption(new Option('--endpoint <url>', 'S3-compatible endpoint for s3:// stores (default: AWS S3)').env('TRANCHE_S3_ENDPOINT'))
    .addOption(new Option('--region <name>', 'region for s3:// stores (default: AWS_REGION, else us-east-1)'))
    .exitOverride()
    .configureOutput({ outputError: (text, out) => out(`tranche: ${text.replace(/^error: /, '')}`) })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(tranche <command> --help shows usage)');
  program
    .command('keygen')
    .description('write a new Ed25519 key pair (private.jwk, public.jwk)')
    .requiredOption('--out <dir>', 'directory for the key files')
    .action(async (o: { out: string }) => {
      const { keyId, privateKeyPath, publicKeyPath } = await keygen(o.out);
      console.log(`key id ${keyId}\nprivate key: ${privateKeyPath} (keep it secret)\npublic key: ${publicKeyPath}`);
    });
  program
    .command('keys')
    .description('the keys a store trusts to sign its manifests (key rotation)')
    .command('add')
    .description('trust another signing key from now on: published with --key, a key the store trusts, and recorded in history')
    .argument('<public.jwk>')
    .addOption(expiresOption())
    .action(async (file: string, o: { expires?: string }, cmd: Command) => report(await storeOf(cmd).trustKey(file, publishOptions(o))));
  program
    .command('release')
    .description('ingest a build directory as <module>@<version> (not live until promote or rollout)')
    .argument('<build-dir>')
    .option('--module <name>', `the module (default: from the build's ${RELEASE_INFO_FILE})`)
    .option('--version <semver>', `the version (default: from the build's ${RELEASE_INFO_FILE})`)
    .option('--entry <file>', `entry file (default: from ${RELEASE_INFO_FILE}, else index.js or the only top-level .js file)`)
    .option('--requires <module@range>', 'a module and semver range this version works with (repeatable)', collect, [])
    .action(async (dir: string, o: { module?: string; version?: string; entry?: string; requires: string[] }, cmd: Command) => {
      const identity = await releaseIdentity(dir, o);
      const bar = progressBar(`release ${identity.module}@${identity.version}`);
      const options = { ...identity, requires: requirements(o.requires) };
      const result = await storeOf(cmd)
        .release(dir, { ...options, ...(bar.onProgress ? { onProgress: bar.onProgress } : {}) })
        .finally(bar.done);
      console.log(formatRelease(result));
    });
  addPublishingCommands(program);
  addReadingCommands(program);
  addCollectCommand(program);
  addAdvanceCommand(program);
  addTransferCommands(program);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    console.log(packageVersion());
    return 0;
  }
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    console.error(`tranche: ${(err as Error).message}`);
    return isTrancheError(err, 'usage') || isTrancheError(err, 'invalid-argument') ? EXIT_USAGE : EXIT_FAILED;
  }
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // `tranche resolve | head` closes the pipe early: that is not a failure.
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
