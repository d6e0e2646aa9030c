/**
 * The rooms' walls (docs/architecture.md): src/core imports from no other room, and no file
 * imports itself back through others, not even for types (a circle means a type lives in the
 * wrong file).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const IMPORT = /(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

/** File -> the files it imports (relative to the repository). */
function graph(): Map<string, string[]> {
  const files = [...sources('src'), ...sources('sw')];
  return new Map(
    files.map((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const deps = [...text.matchAll(IMPORT)].map((m) => relative(ROOT, resolve(ROOT, dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
      return [file, deps.filter((d) => files.includes(d))];
    }),
  );
}

/** Every circle of imports, each as the files on it. */
function circles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    const at = path.indexOf(file);
    if (at >= 0) return void found.push(path.slice(at));
    if (done.has(file)) return;
    for (const dep of edges.get(file) ?? []) visit(dep, [...path, file]);
    done.add(file);
  };
  for (const file of edges.keys()) visit(file, []);
  return found;
}

describe('import graph', () => {
  const edges = graph();

  it('has no circles', () => {
    expect(circles(edges)).toEqual([]);
  });

  it('points into src/core, never out of it', () => {
    const outward = [...edges].flatMap(([file, deps]) =>
      file.startsWith('src/core/') ? deps.filter((d) => !d.startsWith('src/core/')) : [],
    );
    expect(outward).toEqual([]);
  });
});
