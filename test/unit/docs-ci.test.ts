/**
 * docs/ci.md's commands, run as written by bash against a real S3-compatible server (s3rver on
 * 127.0.0.1, bucket `shop-store`). `npx tranche` is the built CLI. Two lines stand for the
 * team's own tools and are shell functions here: `npm run build` (the bundler) writes a module
 * build, and `npm run test:e2e` (the end-to-end suite) reads the staging manifest over HTTP, as
 * the staging app's worker would, and checks that it makes the new version stable.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCliAsync } from '../support/cli.js';
import { startS3Server, type S3TestServer } from '../support/s3Server.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const DOC = new URL('../../docs/ci.md', import.meta.url);

/** The ```sh blocks of docs/ci.md, in order. */
async function shellBlocks(): Promise<string[]> {
  const text = await readFile(DOC, 'utf8');
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** The team's tools the guide names, as shell functions; `npx tranche` runs the built CLI. */
const TOOLS = String.raw`set -euo pipefail
npx() { [ "$1" = tranche ] || { echo "npx $1: not in this test" >&2; return 1; }; shift; node "$CLI" "$@"; }
npm() {
  case "$*" in
    'run build -- --outDir dist/cart') mkdir -p dist/cart && printf 'export const version = %s;\n' "'$VERSION'" > dist/cart/index.js ;;
    'run test:e2e -- --base-url https://staging.shop.example')
      node -e 'fetch(process.argv[1]).then((r) => r.json()).then((m) => {
          if (JSON.parse(m.payload).modules.cart.stable !== process.argv[2]) process.exit(1);
        })' "$TRANCHE_S3_ENDPOINT/shop-store/staging/manifest.json" "$VERSION" ;;
    *) echo "npm $*: not in this test" >&2; return 1 ;;
  esac
}
`;

let s3: S3TestServer;
let t: TestStore;
let env: Record<string, string>;

beforeAll(async () => {
  s3 = await startS3Server('shop-store');
});
afterAll(() => s3?.close());
beforeEach(async () => {
  t = await createTestStore();
  env = { ...s3.env, CLI, TRANCHE_KEY: join(t.root, 'keys', 'private.jwk') };
});
afterEach(() => t?.remove());

/** Runs `script` with bash in the test's directory; resolves with its exit code and output. */
function bash(script: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: t.root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

const tranche = (...args: string[]) => runCliAsync(args, { cwd: t.root, env });

describe('docs/ci.md', () => {
  it('the pipeline: build, release to staging, test, copy to production, roll out in steps', async () => {
    const [pipeline] = await shellBlocks();
    // Where the guide starts: cart@1.0.0 went through the same pipeline before and is stable in both stores.
    await t.release('cart', '1.0.0');
    for (const store of ['s3://shop-store/staging', 's3://shop-store/prod']) {
      expect((await tranche('copy', 'cart@1.0.0', '--from', t.dir, '--to', store)).status).toBe(0);
      expect((await tranche('--store', store, 'promote', 'cart@1.0.0')).status).toBe(0);
    }
    const run = await bash(TOOLS + pipeline!);
    expect([run.status, run.output]).toEqual([0, expect.stringContaining('cart@2.0.0')]);

    // Production serves cart@2.0.0 to everyone now.
    const manifest = (await (await fetch(s3.url('prod/manifest.json'))).json()) as { payload: string };
    expect(JSON.parse(manifest.payload).modules.cart).toMatchObject({ stable: '2.0.0', rollouts: [] });
    for (const store of ['s3://shop-store/staging', 's3://shop-store/prod']) {
      const verify = await tranche('verify', '--remote', store);
      expect([store, verify.status, verify.stdout]).toEqual([store, 0, expect.stringMatching(/^OK: .*2 records/)]);
    }
    // The same bytes in both: the tested release is the shipped one.
    const record = async (prefix: string) => Buffer.from(await (await fetch(s3.url(`${prefix}/records/cart/2.0.0.json`))).arrayBuffer());
    expect(Buffer.compare(await record('staging'), await record('prod'))).toBe(0);
  }, 240_000);

  it('a store kept as a directory: roll out there, publish to the bucket, verify it', async () => {
    const [, directory] = await shellBlocks();
    const store = join(t.root, 'tranche-store');
    await t.release('cart', '1.0.0');
    const build = join(t.root, 'builds', 'cart', '2.0.0');
    expect(
      (await tranche('--store', store, 'release', join(t.root, 'builds', 'cart', '1.0.0'), '--module', 'cart', '--version', '1.0.0'))
        .status,
    ).toBe(0);
    expect((await tranche('--store', store, 'promote', 'cart@1.0.0')).status).toBe(0);
    await t.release('cart', '2.0.0');
    expect((await tranche('--store', store, 'release', build, '--module', 'cart', '--version', '2.0.0')).status).toBe(0);

    const run = await bash(`${TOOLS}PRODUCTION=s3://shop-store/prod-from-directory\nVERSION=2.0.0\n${directory!}`);
    expect([run.status, run.output]).toEqual([
      0,
      expect.stringMatching(/published manifest sequence \d+ to s3:\/\/shop-store\/prod-from-directory/),
    ]);
    expect(run.output).toMatch(/OK: manifest sequence \d+ signature valid/);
  }, 240_000);
});
