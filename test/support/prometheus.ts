/**
 * A real Prometheus (Debian's `prometheus` package) for tests: scraping given targets every
 * second, with a temporary config and data directory, on a free loopback port; `stop` ends it
 * and removes the directory. When the binary is missing, as root on Debian the package is
 * installed (as test/support/ensure-chromium.ts does for Chromium); elsewhere it stops with one
 * line saying how to get it.
 */
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_PATH = '/usr/bin/prometheus';
const MISSING = `Prometheus is missing at ${PROMETHEUS_PATH}: install Debian's package (sudo apt-get install prometheus)`;

/** Makes sure Debian's Prometheus is installed. */
export function ensurePrometheus(): void {
  if (existsSync(PROMETHEUS_PATH)) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) throw new Error(MISSING);
  console.log("Prometheus is missing: installing Debian's prometheus package (apt-get)...");
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus', {
    stdio: 'inherit',
  });
  if (!existsSync(PROMETHEUS_PATH)) throw new Error(MISSING);
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** The value of a PromQL scalar/vector query summed, now (0 when empty). */
  value(promql: string): Promise<number>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts Prometheus scraping `targets` (`host:port`, path /metrics) every second; resolves once it is ready. */
export async function startPrometheus(targets: string[]): Promise<RunningPrometheus> {
  ensurePrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'tranche-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: tranche',
      `    static_configs: [{ targets: ${JSON.stringify(targets)} }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    PROMETHEUS_PATH,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${log}`);
    }
    const ready = await fetch(`${url}-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 60 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    async value(promql) {
      const res = await fetch(`${url}api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
      return body.data.result.reduce((sum, r) => sum + Number(r.value[1]), 0);
    },
    stop,
  };
}
