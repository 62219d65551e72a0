// The real-spec corpus at generation time (test/README.md, "Real-spec corpus"): each manifest in
// test/fixtures/corpus/ compiles against its public spec with no error, and the emitted tools.ts
// equals the committed golden file. test/e2e/corpus.test.ts runs the same tools end to end.
//
// Golden files: test/fixtures/corpus/<name>.tools.golden.ts. After a reviewed change to the
// generator or a manifest: UPDATE_GOLDEN=1 npx vitest run --config test/vitest.config.ts
// test/integration/corpusSpecs.test.ts, and commit the diff.
//
// Each <name>-pending.yaml holds tools that need a feature not merged yet. Merged into its
// manifest, it must not compile today (`it.fails`); the day it does, the test turns red and the
// fragment moves into the manifest and the e2e cases.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileTools } from '../../src/codegen/compile.ts';
import { emitAll, TOOLS_FILE } from '../../src/codegen/emit.ts';
import { formatError } from '../../src/codegen/errors.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import type { JsonObject } from '../../src/codegen/schemaView.ts';
import { corpusCases } from '../fixtures/corpus/cases.ts';
import { corpusSpecs, fetchPublicSpec, type CorpusName } from '../helpers/publicSpecs.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/fixtures/corpus');
const scratch = join(root, '.cache/corpus-test');

/** Fragments of tools waiting for a feature, and what they wait for (the README's corpus table says more). */
const pendingFragments: { name: CorpusName; waitsFor: string }[] = [];

const specs = new Map<CorpusName, JsonObject>();

async function spec(name: CorpusName): Promise<JsonObject> {
  const cached = specs.get(name);
  if (cached) return cached;
  const loaded = await loadSpec(await fetchPublicSpec(corpusSpecs[name]));
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  specs.set(name, loaded.document);
  return loaded.document;
}

const readManifest = async (file: string): Promise<Record<string, unknown>> => parse(await readFile(join(fixtures, file), 'utf8')) as Record<string, unknown>;
const labels = (name: CorpusName) => ({
  spec: `${corpusSpecs[name].pkg}@${corpusSpecs[name].version} ${corpusSpecs[name].file.replace(/^package\//, '')}`,
  manifest: `test/fixtures/corpus/${name}-tools.yaml`,
});

const manifests = corpusCases.map((c) => c.name).filter((n): n is CorpusName => n !== 'stripe');
const emitted = new Map<CorpusName, Map<string, string>>();

describe('real-spec corpus: generation', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await mkdir(scratch, { recursive: true });
    for (const name of manifests) await spec(name);
  }, 240_000);
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  describe.each(manifests)('%s', (name) => {
    it('compiles with no errors, every tool with a pick', async () => {
      const result = compileTools({ spec: await spec(name), manifest: await readManifest(`${name}-tools.yaml`) });
      expect(result.errors.map((e) => formatError(e, labels(name).manifest))).toEqual([]);
      expect(result.tools.length).toBeGreaterThanOrEqual(2);
      for (const t of result.tools.filter((x) => !x.operation.successStatuses.every((s) => s === 204 || s === 205))) expect(Object.keys((t.outputSchema as { properties?: object }).properties ?? {}).length, t.name).toBeGreaterThan(0);
      emitted.set(name, await emitAll(await spec(name), result.tools, result.profile, labels(name), result.apiTypes));
    });

    it('emits tools.ts equal to the committed golden file, byte for byte on every run', async () => {
      const files = emitted.get(name);
      expect(files, 'compiled first').toBeDefined();
      const text = files?.get(TOOLS_FILE) as string;
      const golden = join(fixtures, `${name}.tools.golden.ts`);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) {
        if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`${golden} is missing; run with UPDATE_GOLDEN=1 to write it, review it and commit it`);
        await writeFile(golden, text);
      }
      expect(text).toBe(await readFile(golden, 'utf8'));
      const again = compileTools({ spec: await spec(name), manifest: await readManifest(`${name}-tools.yaml`) });
      expect((await emitAll(await spec(name), again.tools, again.profile, labels(name), again.apiTypes)).get(TOOLS_FILE) === text).toBe(true);
    });
  });

  it('tsc accepts every emitted file under the project compiler options', async () => {
    const dir = join(scratch, 'tsc');
    for (const [name, files] of emitted) {
      await mkdir(join(dir, name), { recursive: true });
      for (const [file, text] of files) await writeFile(join(dir, name, file), text);
    }
    expect(emitted.size).toBe(manifests.length);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.json', include: ['**/*.ts'] }));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const out = await run(process.execPath, [tsc, '--noEmit', '-p', join(dir, 'tsconfig.json')], { cwd: root }).then(
      () => '',
      (err: Error & { stdout?: string }) => err.stdout ?? err.message,
    );
    expect(out).toBe('');
  });

  describe.each(pendingFragments)('$name-pending.yaml', ({ name, waitsFor }) => {
    it.fails(`compiles once merged into the manifest [pending: ${waitsFor}]`, async () => {
      const base = existsSync(join(fixtures, `${name}-tools.yaml`)) ? await readManifest(`${name}-tools.yaml`) : { version: 1, tools: [] };
      const { tools, ...top } = await readManifest(`${name}-pending.yaml`);
      const manifest = { ...base, ...top, tools: [...(base.tools as unknown[]), ...(tools as unknown[])] };
      const result = compileTools({ spec: await spec(name), manifest });
      expect(result.errors.map((e) => formatError(e, `test/fixtures/corpus/${name}-pending.yaml`))).toEqual([]);
    });
  });
});
