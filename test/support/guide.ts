/**
 * A guide of docs/ as a test follows it: its fenced blocks, in order, each under its section.
 * A block tagged `file=<path>` is a file to write as is; `diff file=<path>` is a change to make
 * to that file (lines starting with `-` are replaced by those starting with `+`, the others are
 * context); a `sh` block is commands to run. Any other block is refused, so nothing the guide
 * asks of a reader goes untested.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { npmInstall, serveStatic, sh, startCommand, type RunningServer } from './freshApp.js';

/** One fenced block of a guide. */
export interface GuideBlock {
  /** The heading of the `##` or `###` section the block is in, e.g. `6. Release 1.0.0 and deploy`. */
  section: string;
  kind: 'sh' | 'file' | 'diff';
  /** The file a `file` or `diff` block writes, relative to the app. */
  file?: string;
  body: string;
}

/** The fenced blocks of `markdown`, in order; throws naming a block the reader could not follow as written. */
export function guideBlocks(markdown: string): GuideBlock[] {
  const blocks: GuideBlock[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^#{2,3} (.*)$/.exec(line);
    if (heading) section = heading[1]!.trim();
    const fence = /^```(.*)$/.exec(line);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`line ${i + 1}: a fenced block that never closes`);
    const body = lines.slice(i + 1, end).join('\n');
    const info = fence[1]!.trim();
    const file = /(?:^|\s)file=(\S+)/.exec(info)?.[1];
    if (info === 'sh') blocks.push({ section, kind: 'sh', body });
    else if (file) blocks.push({ section, kind: /^diff\b/.test(info) ? 'diff' : 'file', file, body });
    else throw new Error(`line ${i + 1}: a \`\`\`${info} block is neither sh nor tagged file=…: a test cannot follow it`);
    i = end;
  }
  return blocks;
}

/** The commands of a `sh` block: its lines, without blank ones and comments. */
export function commandsOf(block: GuideBlock): string[] {
  return block.body.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

/** Writes a `file` block, or makes a `diff` block's change, in the app at `dir`; throws when a diff's lines are not in the file. */
export function applyBlock(dir: string, block: GuideBlock): void {
  const file = path.join(dir, block.file!);
  if (block.kind === 'file') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${block.body}\n`);
    return;
  }
  const before: string[] = [];
  const after: string[] = [];
  for (const line of block.body.split('\n')) {
    const text = line.slice(1);
    if (line[0] !== '+') before.push(text);
    if (line[0] !== '-') after.push(text);
  }
  const current = readFileSync(file, 'utf8');
  const old = before.join('\n');
  if (!current.includes(old)) throw new Error(`${block.file} (section "${block.section}"): the diff's lines are not in the file:\n${old}`);
  writeFileSync(file, current.replace(old, after.join('\n')));
}

/** The lines a `file` or `diff` block has the reader write (a diff's `+` lines). */
export function linesWritten(block: GuideBlock): number {
  const lines = block.body.split('\n');
  return block.kind === 'diff' ? lines.filter((l) => l.startsWith('+')).length : lines.length;
}

/**
 * A guide followed in the fresh app at `app` (test/support/freshApp.ts). Every command runs as
 * written, but three, each the same thing on this machine: `npm install tranche` installs
 * `tarball` (`npm pack`'s), `npm run dev` and `python3 -m http.server` listen on free ports of
 * 127.0.0.1 (the static server is freshApp's, which, like python's, knows nothing of tranche).
 */
export class GuideRun {
  /** What the guide's `export NAME=value` lines set, for the commands after them. */
  readonly env: Record<string, string> = {};
  /** What the last command run as written printed. */
  lastOutput = '';
  /** The servers the guide's commands started, stopped or not. */
  private readonly _servers: RunningServer[] = [];

  constructor(
    private readonly blocks: readonly GuideBlock[],
    private readonly app: string,
    private readonly tarball: string,
  ) {}

  /** Runs one command of the guide; returns a server it started. */
  async run(command: string): Promise<RunningServer | undefined> {
    const exported = /^export (\w+)=(\S+)$/.exec(command);
    if (exported) return void (this.env[exported[1]!] = exported[2]!);
    if (command === 'npm install tranche') return void npmInstall(this.app, [this.tarball]);
    if (command === 'npm run dev')
      return this._started(startCommand('npm run dev -- --host 127.0.0.1', this.app, /Local:\s+(http:\/\/\S+?)\/?\s/));
    const staticServer = /^python3 -m http\.server \d+ --directory (\S+)$/.exec(command);
    if (staticServer) return this._started(serveStatic(path.join(this.app, staticServer[1]!)));
    this.lastOutput = sh(command, this.app, this.env);
    return undefined;
  }

  /** Does what the section numbered `number` (`6.`) says, in order; returns the server it started, if any. */
  async follow(number: string): Promise<RunningServer | undefined> {
    const section = this.blocks.filter((b) => b.section.startsWith(`${number} `));
    if (section.length === 0) throw new Error(`the guide has no section ${number}`);
    let server: RunningServer | undefined;
    for (const block of section) {
      if (block.kind !== 'sh') applyBlock(this.app, block);
      else for (const command of commandsOf(block)) server = (await this.run(command)) ?? server;
    }
    return server;
  }

  private async _started(starting: Promise<RunningServer>): Promise<RunningServer> {
    const server = await starting;
    this._servers.push(server);
    return server;
  }

  /** Stops every server the guide started that still runs (a `close()` of one stopped is a no-op). */
  async close(): Promise<void> {
    await Promise.all(this._servers.map((s) => s.close()));
  }

  /** The lines the sections numbered `numbers` have the reader write, beyond the files `except`; and those files. */
  glue(numbers: readonly string[], except: readonly string[]): { lines: number; files: string[] } {
    const glue = this.blocks.filter(
      (b) => numbers.some((n) => b.section.startsWith(`${n} `)) && b.kind !== 'sh' && !except.includes(b.file!),
    );
    return { lines: glue.reduce((sum, b) => sum + linesWritten(b), 0), files: [...new Set(glue.map((b) => b.file!))] };
  }
}
