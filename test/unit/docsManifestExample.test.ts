/** The complete manifest example in openapi/README.md compiles against the admin spec, error-free. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileTools } from '../../src/codegen/compile.ts';
import { formatError } from '../../src/codegen/errors.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';

const root = new URL('../../', import.meta.url);

function exampleManifest(): unknown {
  const readme = readFileSync(new URL('openapi/README.md', root), 'utf8');
  const section = readme.split('\n## A complete example\n')[1];
  const block = section === undefined ? undefined : /```yaml\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (block === undefined) throw new Error('openapi/README.md has no yaml block under "A complete example"');
  return parseYaml(block);
}

describe('the complete manifest example', () => {
  it('compiles against openapi/admin-api.yaml with no error', async () => {
    const loaded = await loadSpec(new URL('openapi/admin-api.yaml', root).pathname);
    if (!loaded.ok) throw new Error('the admin spec did not load');
    const result = compileTools({ spec: loaded.document, manifest: exampleManifest() });
    expect(result.errors.map((e) => formatError(e, 'openapi/README.md'))).toEqual([]);
    expect(result.tools.map((t) => [t.name, t.risk])).toEqual([
      ['deleteDraft', 'destructive'],
      ['publishDraft', 'write'],
      ['searchCustomers', 'read'],
    ]);
    // Per-tool quotas as written; a tool without one takes the configured default for its risk.
    expect(result.tools.map((t) => [t.name, t.quota])).toEqual([
      ['deleteDraft', undefined],
      ['publishDraft', { calls: 3, windowSeconds: 60 }],
      ['searchCustomers', { calls: 10, windowSeconds: null }],
    ]);
  });
});
