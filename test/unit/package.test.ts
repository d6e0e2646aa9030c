/**
 * What a user installs: the files `npm pack` puts in the tarball. Every relative link a user can
 * follow from the packaged README and docs lands on a packaged file, every source map of dist/
 * points at packaged sources, the license is there, installing runs no script of ours, and the
 * bin says its version.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };

/** The paths `npm pack` would put in the tarball (dist/ as built by pretest). */
function packedFiles(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
  const [{ files }] = JSON.parse(out) as [{ files: { path: string }[] }];
  return new Set(files.map((f) => f.path));
}

const packed = packedFiles();

/** `target` (relative to `from`, a packaged file) resolves to a packaged file or directory. */
function resolves(from: string, target: string): boolean {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(from), target.replace(/\/$/, '')));
  return packed.has(resolved) || [...packed].some((f) => f.startsWith(`${resolved}/`));
}

describe('the npm package', () => {
  it('holds the license, and installing it runs no script of ours', () => {
    expect(packed.has('LICENSE')).toBe(true);
    expect(readFileSync(path.join(REPO, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[hook], hook).toBeUndefined();
  });

  it('every relative link of its Markdown resolves inside the package', () => {
    const broken: string[] = [];
    for (const file of [...packed].filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(path.join(REPO, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = target!.split('#')[0]!;
        if (link === '' || /^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
        if (!resolves(file, link)) broken.push(`${file} -> ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every source map of dist/ points at sources the package ships', () => {
    const maps = [...packed].filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(path.join(REPO, map), 'utf8')) as { sources: string[] };
      for (const source of sources) if (!resolves(map, source)) missing.push(`${map} -> ${source}`);
    }
    expect(missing).toEqual([]);
  });

  it('`tranche --version` prints the package version, and `release --version` is still the release version', () => {
    const run = runCli(['--version']);
    expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({ status: 0, stdout: pkg.version });
    const release = runCli(['release', '/nonexistent-build', '--module', 'm', '--version', 'x']);
    expect(release.stderr).toContain('--version "x": expected a semver version');
  });
});
