/**
 * `npm run demo`: builds the demo (demo/build.ts), makes its key pair and release store with
 * the real release code (demoStore.ts) and serves everything from one loopback server
 * (server.ts). Prints the shop's URL alone on a line. Ctrl-C stops it cleanly.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { buildDemo, existingDemoBuild } from './build.js';
import { openCollector } from '../src/collector/index.js';
import { demoKeys, prepareDemoStore } from './demoStore.js';
import { startDemoServer, type DemoServer } from './server.js';

const DEMO = path.dirname(fileURLToPath(import.meta.url));

/** The options of `npm run demo -- …`. */
export interface DemoOptions {
  port: number;
  store: string;
  keys: string;
  data: string;
  buildDir: string;
  build: boolean;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number 0..65535 (0 picks a free one)');
  return n;
}

function parseOptions(argv: string[]): DemoOptions {
  return new Command('npm run demo --')
    .description('Build the tranche demo shop, create its release store and serve it on 127.0.0.1.')
    .option('--port <n>', 'port to listen on; 0 picks a free one', port, 4173)
    .option(
      '--store <dir>',
      'release store to serve; created (1.0.0 of every module stable) unless it holds one',
      path.join(DEMO, '.store'),
    )
    .option('--keys <dir>', "the demo's private.jwk and public.jwk, generated when missing (never served)", path.join(DEMO, '.keys'))
    .option('--data <dir>', "the telemetry collector's database", path.join(DEMO, '.data'))
    .option('--build-dir <dir>', 'where the demo is built', path.join(DEMO, '.build'))
    .option('--no-build', 'serve the existing build as it is')
    .parse(argv)
    .opts<DemoOptions>();
}

/** Prepares and starts the demo; resolves with the running server and how to stop everything. */
export async function runDemo(
  options: DemoOptions,
  log: (line: string) => void,
): Promise<{ server: DemoServer; stop: () => Promise<void> }> {
  const keys = await demoKeys(path.resolve(options.keys));
  const buildDir = path.resolve(options.buildDir);
  const build = options.build ? await buildDemo(buildDir, keys.publicKey) : await existingDemoBuild(buildDir, keys.publicKey);
  const storeDir = path.resolve(options.store);
  const prepared = await prepareDemoStore(storeDir, keys, build.modules);
  if (prepared.keyWarning) log(`warning: ${prepared.keyWarning}`);
  await mkdir(path.resolve(options.data), { recursive: true });
  const collector = openCollector({ db: path.join(path.resolve(options.data), 'telemetry.sqlite') });
  const server = await startDemoServer({ build, store: prepared.store, collector, port: options.port }).catch((err: unknown) => {
    collector.close();
    throw err;
  });
  log(`store: ${storeDir}${prepared.created ? ' (created: 1.0.0 of every module is stable)' : ''}`);
  log(`try:   npx tranche rollout cart@2.0.0 --percent 50 --store ${storeDir} --key ${keys.privateKeyPath}`);
  log(`dashboard: ${server.url}dashboard`);
  return {
    server,
    stop: async () => {
      await server.close();
      collector.close();
    },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const { server, stop } = await runDemo(options, (line) => console.log(line));
  // The URL alone on its line, last: scripts read it from here.
  console.log(server.url);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the demo`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`tranche demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
