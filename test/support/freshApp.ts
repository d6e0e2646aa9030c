/**
 * A fresh app as a user makes one: create-vite's template scaffolded into a temporary
 * directory, its dependencies installed from the npm registry, tranche installed from the
 * tarball `npm pack` makes of this repository, and servers a user would run on it (`vite dev`,
 * a plain static file server that knows nothing of tranche). Used by the tests that follow a
 * guide of docs/ in such an app (getting-started.test.ts, and the worked examples of
 * docs/frameworks.md through frameworkExample.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CREATE_VITE = path.join(REPO, 'node_modules/.bin/create-vite');

/** What `npm pack` needs to build and pack the package (package.json's `files` plus the build's configs). */
const PACKAGE_SOURCES = [
  'package.json',
  'README.md',
  'LICENSE',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'sw',
  'docs',
  'test/vectors',
];

/** Flags that keep npm quiet and quick in a test: no audit, no funding notes, the local cache first. */
const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** A directory under the system's temporary directory; the caller removes it (`removeDir`). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The environment of a user's shell: this process's, without the `NODE_ENV=test` vitest sets.
 * With it, `vite build` is not a production build: @vitejs/plugin-react compiles JSX for
 * `react/jsx-dev-runtime`, which no app shares, so a module bundles React's development JSX
 * runtime: not the build a user gets.
 */
function userEnv(): NodeJS.ProcessEnv {
  const { NODE_ENV: _vitest, ...env } = process.env;
  return env;
}

/**
 * Runs `command` (a shell command line, as a user types it) in `cwd` to completion and returns
 * its stdout; throws with the command, its exit status and its output when it fails.
 */
export function sh(command: string, cwd: string, env: Record<string, string> = {}): string {
  try {
    return execFileSync('sh', ['-c', command], {
      cwd,
      env: { ...userEnv(), ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const failed = err as { status: number | null; stdout?: string; stderr?: string };
    throw new Error(`\`${command}\` in ${cwd} exited with ${failed.status}:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, { cause: err });
  }
}

/**
 * `npm pack` of this repository as it is now; returns the tarball's path. The package is built
 * (prepack) in a staging copy of its sources, so the repository's own dist/, which other test
 * files read meanwhile, is never emptied. The tarball is kept in node_modules/.cache/, named by
 * a hash of those sources: the test files that install it (getting-started and the
 * react-, vue- and svelte-vite examples) pack once per change of the sources, not once each.
 */
export function packTranche(): string {
  const cache = path.join(REPO, 'node_modules/.cache/tranche-pack');
  const tarball = path.join(cache, `${sourcesHash()}.tgz`);
  if (existsSync(tarball)) return tarball;
  const staging = tempDir('tranche-pack');
  try {
    for (const source of PACKAGE_SOURCES) cpSync(path.join(REPO, source), path.join(staging, source), { recursive: true });
    symlinkSync(path.join(REPO, 'node_modules'), path.join(staging, 'node_modules'), 'dir');
    const out = sh(`npm pack --json --pack-destination ${JSON.stringify(staging)}`, staging);
    const [{ filename }] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string }];
    for (const old of existsSync(cache) ? readdirSync(cache) : []) rmSync(path.join(cache, old), { force: true });
    mkdirSync(cache, { recursive: true });
    // A rename, so a test file packing at the same time never installs half a tarball.
    renameSync(path.join(staging, filename), tarball);
    return tarball;
  } finally {
    removeDir(staging);
  }
}

/** SHA-256 of every file `npm pack` packs from (PACKAGE_SOURCES), with its path. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  const add = (relative: string): void => {
    const file = path.join(REPO, relative);
    if (statSync(file).isDirectory()) for (const entry of readdirSync(file).sort()) add(path.join(relative, entry));
    else hash.update(`${relative}\0`).update(readFileSync(file));
  };
  for (const source of PACKAGE_SOURCES) add(source);
  return hash.digest('hex');
}

/**
 * Scaffolds create-vite's `template` (e.g. vanilla-ts, react-ts) as `<parent>/<name>`, nothing
 * installed yet (its first `npm install` does that); returns the app's directory.
 */
export function scaffoldViteApp(template: string, parent: string, name = 'my-app'): string {
  sh(`${JSON.stringify(CREATE_VITE)} ${name} --template ${template} --no-interactive --no-immediate`, parent);
  return path.join(parent, name);
}

/** `npm install <specs>` in `app` (its package.json's dependencies when `specs` is empty). */
export function npmInstall(app: string, specs: readonly string[] = []): void {
  sh(['npm', 'install', ...NPM_QUIET, ...specs.map((s) => JSON.stringify(s))].join(' '), app);
}

/** A server a test started; `close()` stops it. */
export interface RunningServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Starts the long-running `command` (e.g. `npm run dev`) in `cwd` and resolves once its output
 * matches `ready`, whose first group is the origin it serves (e.g. Vite's `Local: http://…`);
 * rejects with its output if it exits first. `close()` stops its whole process group.
 */
export function startCommand(command: string, cwd: string, ready: RegExp): Promise<RunningServer> {
  const child: ChildProcess = spawn('sh', ['-c', command], { cwd, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(-child.pid!, 'SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      // Colours off: with CI set, picocolors colours even a pipe, and Vite's URL line with them.
      // eslint-disable-next-line no-control-regex
      output += chunk.toString().replace(/\x1b\[[0-9;]*m/g, '');
      const origin = ready.exec(output)?.[1];
      if (origin) resolve({ origin, close });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`\`${command}\` exited with ${code} before it was ready:\n${output}`)));
  });
}

/** Content types a static host gives the files of a built app. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * A plain static file server for `root` on 127.0.0.1 (a free port), like any static host: a
 * file by its path, `index.html` for a directory, 404 otherwise, `Cache-Control: no-cache`. No
 * tranche code: no import map injection, no store handler.
 */
export async function serveStatic(dir: string): Promise<RunningServer> {
  const root = path.resolve(dir);
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = path.join(root, path.normalize(pathname));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    try {
      if (statSync(file).isDirectory()) file = path.join(file, 'index.html');
      const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
      const size = statSync(file).size;
      res.writeHead(200, { 'content-type': type, 'content-length': size, 'cache-control': 'no-cache' });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
