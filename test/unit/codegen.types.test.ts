// API types emission: openapiTypes() (openapi-typescript's transform without its redundant lint +
// re-bundle) must give exactly what openapiTS() gives; what that lint would have refused and would
// break the types is refused by typeBlockers; the worker gives the same text as in-process.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runGenerate } from '../../src/codegen/cli.ts';
import { emitApiTypes, typeBlockers } from '../../src/codegen/emit.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import { openapiTypes } from '../../src/codegen/openapiTypes.mjs';
import type { JsonObject } from '../../src/codegen/schemaView.ts';
import { startTypesWorker } from '../../src/codegen/typesWorker.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const specs = {
  admin: join(root, 'openapi/admin-api.yaml'),
  items: join(root, 'test/fixtures/codegen/items-api.yaml'),
  legacy: join(root, 'test/fixtures/codegen/legacy-30-api.yaml'),
};

async function load(path: string): Promise<JsonObject> {
  const loaded = await loadSpec(path);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  return loaded.document;
}

const labels = { spec: 's.yaml', manifest: 't.yaml' };

describe('openapiTypes', () => {
  it.each(Object.entries(specs))('gives byte-identical output to openapiTS() for the %s spec', async (_name, path) => {
    const spec = await load(path);
    const official = astToString(await openapiTS(structuredClone(spec) as never, { silent: true }));
    expect(openapiTypes(structuredClone(spec))).toBe(official);
  });

  it('gives the same text from the worker thread as in-process', async () => {
    const spec = await load(specs.admin);
    const worker = startTypesWorker();
    try {
      const [a, b] = await Promise.all([worker.emit(spec), worker.emit(await load(specs.items))]);
      expect(a).toBe(openapiTypes(spec));
      expect(b).toBe(openapiTypes(await load(specs.items)));
    } finally {
      await worker.close();
      await worker.close();
    }
  });
});

describe('typeBlockers', () => {
  it('finds a $ref that points nowhere and a duplicated operationId, anywhere in the spec', async () => {
    const spec = structuredClone(await load(specs.items)) as any;
    expect(typeBlockers(spec)).toEqual([]);
    spec.components.schemas.Orphan = { type: 'object', properties: { x: { $ref: '#/components/schemas/Missing' } } };
    const [path, item] = Object.entries(spec.paths)[0] as [string, any];
    spec.paths[`${path}/copy`] = { get: { ...item.get } };
    expect(typeBlockers(spec)).toEqual([`$ref '#/components/schemas/Missing' points nowhere`, `operationId '${item.get.operationId}' is used by 2 operations`]);
    await expect(emitApiTypes(spec, labels)).rejects.toThrow(/^cannot emit API types: \$ref '#\/components\/schemas\/Missing' points nowhere; operationId/);
  });
});

describe('generate with a spec whose unexposed parts break the types', () => {
  let temp: string;
  beforeAll(async () => {
    temp = await mkdtemp(join(tmpdir(), 'deputy-types-'));
  });
  afterAll(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  it('exits 1 with one line naming the problem (apiTypes: all), and succeeds with apiTypes: exposed', async () => {
    const spec = structuredClone(await load(specs.admin)) as any;
    spec.components.schemas.Unused = { $ref: '#/components/schemas/DoesNotExist' };
    await writeFile(join(temp, 'spec.json'), JSON.stringify(spec));
    const manifestText = await readFile(join(root, 'openapi/tools.yaml'), 'utf8');
    await writeFile(join(temp, 'all.yaml'), manifestText);
    await writeFile(join(temp, 'exposed.yaml'), stringify({ ...parse(manifestText), apiTypes: 'exposed' }));
    const io = { stdout: [] as string[], stderr: [] as string[], out: (l: string) => io.stdout.push(l), err: (l: string) => io.stderr.push(l) };
    expect(await runGenerate(['--spec', join(temp, 'spec.json'), '--tools', join(temp, 'all.yaml'), '--out', join(temp, 'out-all')], io)).toBe(1);
    expect(io.stderr).toEqual(["error: cannot emit API types: $ref '#/components/schemas/DoesNotExist' points nowhere — fix the spec", 'nothing generated']);
    io.stderr.length = 0;
    expect(await runGenerate(['--spec', join(temp, 'spec.json'), '--tools', join(temp, 'exposed.yaml'), '--out', join(temp, 'out-exposed')], io)).toBe(0);
    expect(io.stderr).toEqual([]);
  });
});
