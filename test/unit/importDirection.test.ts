/**
 * Imports go one way (src/README.md, "Layers"): main → http → server → tools → backend | state → generated.
 * codegen is used only by the composition root; src/ never imports mock-backend/, and mock-backend/
 * imports only the generated API types from src/, type-only.
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

/** Relative imports of a file, resolved to repository paths, and whether each is `import type` (erased before run time). */
function importStatementsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*((?:import|export)[^'"]*?)from\s+'([^']+)'|import\('([^']+)'\)/g)]
    .map((m) => ({ specifier: m[2] ?? m[3]!, typeOnly: m[1] !== undefined && /^(?:import|export)\s+type\s/.test(m[1]) }))
    .filter(({ specifier }) => specifier.startsWith('.'))
    .map(({ specifier, typeOnly }) => ({ target: relative(root, resolve(root, dirname(file), specifier)), typeOnly }));
}

function importsOf(file: string): string[] {
  return importStatementsOf(file).map((i) => i.target);
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

  // The mock serves the same spec the API types are generated from; a type-only import is erased,
  // so no Deputy code runs in the mock (src/README.md D33).
  it('mock-backend imports from src/ only the generated API types, type-only', () => {
    const fromSrc = sourceFiles('mock-backend').flatMap((file) => importStatementsOf(file).filter((i) => i.target.startsWith('src/')).map((i) => ({ file, ...i })));
    for (const { file, target, typeOnly } of fromSrc) {
      expect(target, `${file} imports ${target}`).toBe('src/generated/api-types.ts');
      expect(typeOnly, `${file} imports ${target} without \`import type\``).toBe(true);
    }
    expect(fromSrc.map((i) => i.file)).toEqual(['mock-backend/apiTypes.ts']);
  });
});
