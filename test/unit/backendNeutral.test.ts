// The runtime names no backend of its own (src/README.md): the demo backend's name, instructions
// and key formats live in openapi/tools.yaml and reach the code only through src/generated/.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('a backend-neutral runtime', () => {
  it('no file in src/ outside src/generated/ mentions Acme', () => {
    const files = readdirSync(join(root, 'src'), { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)))
      .filter((path) => !path.startsWith(join('src', 'generated')));
    expect(files.length).toBeGreaterThan(30);
    const hits = files.flatMap((path) =>
      readFileSync(join(root, path), 'utf8')
        .split('\n')
        .flatMap((line, i) => (/acme/i.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits, 'move backend-specific text into the manifest (`server:` in openapi/tools.yaml)').toEqual([]);
  });
});
