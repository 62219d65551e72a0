/**
 * Imports go one way (src/README.md, "Layers"): main → http → server → tools → backend | state → generated.
 * codegen is used only by the composition root; mock-backend/ and src/ never import each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Relative imports of a file, resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(root, resolve(root, dirname(file), s)));
}

/** Rank in the one-way chain; a file may import only from a lower rank (or its own layer). */
function layer(path: string): { name: string; rank: number } {
  const rules: [RegExp, string, number][] = [
    [/^src\/generated\//, 'generated', 0],
    [/^src\/backend\//, 'backend', 1],
    // Shared state (counters, consumed approvals) sits beside backend: neither imports the other.
    [/^src\/state\//, 'state', 1],
    [/^src\/tools\//, 'tools', 2],
    [/^src\/server\//, 'server', 3],
    [/^src\/http\//, 'http', 4],
    [/^src\/codegen\//, 'codegen', 4],
    [/^src\/config\.ts$/, 'config', 5],
    [/^src\/[^/]+\.ts$/, 'main', 6],
  ];
  for (const [pattern, name, rank] of rules) if (pattern.test(path)) return { name, rank };
  return { name: 'outside', rank: Number.POSITIVE_INFINITY };
}

describe('import direction', () => {
  const src = sourceFiles('src');

  it('finds the source files', () => {
    expect(src.length).toBeGreaterThan(30);
  });

  it.each(src)('%s imports only downward', (file) => {
    const from = layer(file);
    for (const target of importsOf(file)) {
      const to = layer(target);
      expect(target.startsWith('mock-backend/'), `${file} imports ${target}`).toBe(false);
      if (to.name === from.name) continue;
      // codegen is a tool for the composition root: the runtime layers never import it, it imports only generated types' twin.
      if (to.name === 'codegen') expect(from.name, `${file} imports ${target}`).toBe('main');
      else expect(to.rank, `${file} (${from.name}) imports ${target} (${to.name})`).toBeLessThan(from.rank);
    }
  });

  it('src/generated imports nothing', () => {
    for (const file of sourceFiles('src/generated')) expect(importsOf(file)).toEqual([]);
  });

  it('mock-backend never imports src/', () => {
    for (const file of sourceFiles('mock-backend')) {
      for (const target of importsOf(file)) expect(target.startsWith('src/'), `${file} imports ${target}`).toBe(false);
    }
  });
});
