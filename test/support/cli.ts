/**
 * Running the real `tranche` bin (dist/release/cli.js, built by `npm test`'s pretest) the way a
 * user does: a separate node process with its own arguments, environment and stdin.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/release/cli.js', import.meta.url));

/** What one run of the CLI did. */
export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to a clean environment (no TRANCHE_* from the caller's shell). */
  env?: Record<string, string>;
  input?: string;
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('TRANCHE_')) delete env[name];
  return { ...env, ...extra };
}

function checkBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it first)`);
}

/** Runs `tranche <args>` to completion. */
export function runCli(args: string[], { cwd, env, input }: CliOptions = {}): CliRun {
  checkBuilt();
  const run = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: environment(env),
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

/** Runs `tranche <args>` without blocking, so several can run at once. */
export function runCliAsync(args: string[], { cwd, env }: CliOptions = {}): Promise<CliRun> {
  checkBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** A `tranche` command that keeps running (collect, advance --watch): its printed URL, and how to stop it. */
export interface CliService {
  /** The first line of its output that is a URL (what `tranche collect` prints alone on a line). */
  url: string;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  /** Sends `signal` and resolves with how it ended. */
  stop(signal?: NodeJS.Signals): Promise<CliRun>;
}

/** Starts `tranche <args>` and waits for it to print a URL alone on a line. */
export function startCliService(args: string[], { cwd, env }: CliOptions = {}): Promise<CliService> {
  checkBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const ended = new Promise<CliRun>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const url = stdout.split('\n').find((line) => /^https?:\/\/\S+$/.test(line));
      if (url)
        resolve({
          url,
          output: () => ({ stdout, stderr }),
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return ended;
          },
        });
    });
    child.on('error', reject);
    void ended.then((run) => reject(new Error(`tranche ${args.join(' ')} ended before printing a URL: ${run.stderr || run.stdout}`)));
  });
}
