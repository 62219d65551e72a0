// The generator on public specs it was not written for: GitHub's REST description (13 MB,
// OpenAPI 3.0.3) and Stripe's (2.5 MB, OpenAPI 3.0.0, form-encoded bodies, anyOf, nullable), each
// with a small narrow manifest in test/fixtures/realworld/. The specs ship in npm packages far too
// big to depend on, so test/helpers/publicSpecs.ts fetches the one file on demand into .cache/.
//
// Golden files: test/fixtures/realworld/<name>.tools.golden.ts is the emitted tools.ts. After a
// reviewed change to the generator or a manifest: UPDATE_GOLDEN=1 npx vitest run --config
// test/vitest.config.ts test/integration/realWorldSpecs.test.ts, and commit the diff.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { runGenerate, type Io } from '../../src/codegen/cli.ts';
import { compileTools, type CompileResult } from '../../src/codegen/compile.ts';
import { API_TYPES_FILE, emitAll, TOOLS_FILE } from '../../src/codegen/emit.ts';
import { formatWarning } from '../../src/codegen/errors.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import type { JsonObject } from '../../src/codegen/schemaView.ts';
import type { ToolDefinition } from '../../src/codegen/toolDefinition.ts';
import { fetchPublicSpec, githubRestSpec, stripeSpec, swagger2Spec, type PublicSpec } from '../helpers/publicSpecs.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/fixtures/realworld');
// Under the repo (git-ignored) so tsc resolves @types/node and the project's tsconfig.
const scratch = join(root, '.cache/realworld-test');

interface Case {
  name: 'github' | 'stripe';
  source: PublicSpec;
  tools: string[];
  /** Warnings the manifest knowingly accepts. */
  warnings: string[];
}

const cases: Case[] = [
  { name: 'github', source: githubRestSpec, tools: ['commentOnIssue', 'getIssue', 'getRepoSummary', 'listRepoIssues'], warnings: [] },
  {
    name: 'stripe',
    source: stripeSpec,
    tools: ['getBalance', 'getCustomerSummary', 'listCharges', 'setCustomerNote'],
    // Stripe accepts Basic or Bearer auth; the manifest chooses Bearer (`security: bearerAuth`).
    warnings: [],
  },
];

interface Loaded {
  specPath: string;
  spec: JsonObject;
  manifest: unknown;
  result: CompileResult;
  files: Map<string, string>;
}

const loaded = new Map<string, Loaded>();
const byName = (c: Case) => loaded.get(c.name) as Loaded;
const tool = (c: Case, name: string) => byName(c).result.tools.find((t) => t.name === name) as ToolDefinition;
const labels = (c: Case) => ({ spec: `${c.source.pkg}@${c.source.version} ${c.source.file.replace(/^package\//, '')}`, manifest: `test/fixtures/realworld/${c.name}-tools.yaml` });

async function generate(c: Case, specPath: string): Promise<Loaded> {
  const spec = await loadSpec(specPath);
  if (!spec.ok) throw new Error(spec.errors.map((e) => e.message).join('\n'));
  const manifest = parse(await readFile(join(fixtures, `${c.name}-tools.yaml`), 'utf8'));
  const result = compileTools({ spec: spec.document, manifest });
  const files = await emitAll(spec.document, result.tools, result.profile, labels(c), result.apiTypes);
  return { specPath, spec: spec.document, manifest, result, files };
}

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

/** The file without its 3-line "generated from <paths>" header. */
const body = (text: string) => text.split('\n').slice(3).join('\n');

describe('real-world specs', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await mkdir(scratch, { recursive: true });
    for (const c of cases) loaded.set(c.name, await generate(c, await fetchPublicSpec(c.source)));
  }, 180_000);
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  describe.each(cases)('$name', (c) => {
    it('compiles the manifest with no errors and only the expected warnings', () => {
      const { result } = byName(c);
      expect(result.errors).toEqual([]);
      expect(result.warnings.map((w) => formatWarning(w, labels(c).manifest))).toEqual(c.warnings);
      expect(result.tools.map((t) => t.name)).toEqual(c.tools);
    });

    it('emits self-contained schemas: inputs accepted by z.fromJSONSchema and strict, outputs without $ref', () => {
      for (const t of byName(c).result.tools) {
        expect(JSON.stringify(t.inputSchema), t.name).not.toContain('$ref');
        expect(JSON.stringify(t.outputSchema), t.name).not.toContain('$ref');
        const schema = z.fromJSONSchema(t.inputSchema);
        expect(schema.safeParse({ notAnArgument: 1 }).success, t.name).toBe(false);
        expect(t.outputSchema.type, t.name).toBe('object');
      }
    });

    it('emits tools.ts equal to the committed golden file', async () => {
      const golden = join(fixtures, `${c.name}.tools.golden.ts`);
      const text = byName(c).files.get(TOOLS_FILE) as string;
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) {
        if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`${golden} is missing; run with UPDATE_GOLDEN=1 to write it, review it and commit it`);
        await writeFile(golden, text);
      }
      expect(text).toBe(await readFile(golden, 'utf8'));
    });

    it('is deterministic: loading, compiling and emitting again gives byte-identical files', async () => {
      const again = await generate(c, byName(c).specPath);
      expect([...again.files.keys()]).toEqual([...byName(c).files.keys()]);
      for (const [name, text] of again.files) expect(text === byName(c).files.get(name), name).toBe(true);
    });
  });

  it('`generate` (types from the worker thread) writes the same files as the in-process emitter', async () => {
    const c = cases[0] as Case;
    const out = join(scratch, 'cli-github');
    const io = capture();
    const code = await runGenerate(['--spec', byName(c).specPath, '--tools', join(fixtures, 'github-tools.yaml'), '--out', out], io);
    expect(code, io.stderr.join('\n')).toBe(0);
    for (const name of [TOOLS_FILE, API_TYPES_FILE]) {
      expect(body(await readFile(join(out, name), 'utf8')) === body(byName(c).files.get(name) as string), name).toBe(true);
    }
  });

  it('tsc accepts every emitted file under the project compiler options', async () => {
    const dir = join(scratch, 'tsc');
    for (const c of cases) {
      await mkdir(join(dir, c.name), { recursive: true });
      for (const [name, text] of byName(c).files) await writeFile(join(dir, c.name, name), text);
    }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.json', include: ['**/*.ts'] }));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '--noEmit', '-p', join(dir, 'tsconfig.json')], { cwd: root }).then(
      () => ({ ok: true, out: '' }),
      (err: Error & { stdout?: string }) => ({ ok: false, out: err.stdout ?? String(err) }),
    );
    expect(result.out).toBe('');
    expect(result.ok).toBe(true);
  });

  describe('what the real shapes become', () => {
    const github = cases[0] as Case;
    const stripe = cases[1] as Case;

    it('GitHub: unbounded spec strings narrowed by the manifest, oneOf label items, 3.0 nullable, non-JSON-Schema formats dropped', () => {
      const list = tool(github, 'listRepoIssues');
      expect(list.inputSchema.properties).toMatchObject({
        owner: { type: 'string', pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$' },
        per_page: { type: 'integer', minimum: 1, maximum: 50, default: 20 },
      });
      expect(list.output.rootArray).toBe(true);
      // labels: items are oneOf [string, object]; the pick goes through the object branch.
      // A plain-string label passes through as the string it is (it carries no other field).
      expect((list.outputSchema as any).properties.items.items.properties.labels).toEqual({ type: 'array', items: { anyOf: [{ type: 'object', properties: { name: { type: 'string' } } }, { type: 'string' }] }, maxItems: 10 });
      const issue = tool(github, 'getIssue');
      expect((issue.outputSchema as any).properties.body).toEqual({ type: ['string', 'null'] });
      // Structure only: a closed_at the backend sends in another date format must not break the result.
      expect((issue.outputSchema as any).properties.closed_at).toEqual({ type: ['string', 'null'] });
      // `format: int64` is OpenAPI's, not JSON Schema's: strict validators would refuse it.
      expect((tool(github, 'commentOnIssue').outputSchema as any).properties.id).toEqual({ type: 'integer' });
      expect(tool(github, 'commentOnIssue').approval?.lookup?.operation).toMatchObject({ operationId: 'issues/get', method: 'GET', path: '/repos/{owner}/{repo}/issues/{issue_number}' });
    });

    it('Stripe: anyOf response branches, a form-encoded body, unix-time dropped', () => {
      const summary = tool(stripe, 'getCustomerSummary');
      // The response is anyOf [customer, deleted_customer]: picks come from either branch.
      expect((summary.outputSchema as any).properties.deleted).toEqual({ type: 'boolean' }); // the spec's enum [true] is not advertised
      expect((summary.outputSchema as any).properties).toMatchObject({ email: { type: ['string', 'null'] }, deleted: { type: 'boolean' }, created: { type: 'integer' } });
      const note = tool(stripe, 'setCustomerNote');
      expect(note.operation).toMatchObject({ method: 'POST', path: '/v1/customers/{customer}', body: { contentType: 'application/x-www-form-urlencoded', required: false } });
      expect(note.operation.args).toEqual([
        { arg: 'customer', in: 'path', name: 'customer' },
        { arg: 'note', in: 'body', name: 'description' },
      ]);
      expect(note.inputSchema.required).toEqual(['customer', 'note']);
      // GET operations with an empty form body schema send no body.
      expect(tool(stripe, 'getBalance').operation.body).toBeNull();
    });

    // What a backend team meets when it points the generator at these specs without narrowing.
    it.each([
      ['github', 'issues/create', 'write', { title: {}, body: {}, owner: { maxLength: 39 }, repo: { maxLength: 100 } }, 'INPUT_UNBOUNDED_STRING', "string input 'body' has none of maxLength, pattern, enum or format"],
      ['github', 'repos/delete', 'write', { owner: { maxLength: 39 }, repo: { maxLength: 100 } }, 'RISK_MISMATCH', "the operation is destructive (its method is DELETE) but risk is 'write'"],
      ['github', 'issues/list-for-repo', 'read', { owner: { maxLength: 39 }, repo: { maxLength: 100 }, per_page: { maximum: 50 }, state: { enum: ['open', 'merged'] } }, 'NARROWING_WIDENS', `enum values "merged" for 'state' are not in the spec's enum`],
      ['stripe', 'PostCustomersCustomer', 'write', { customer: {}, metadata: {} }, 'PARAM_UNSUPPORTED', "body parameter 'metadata' is a nested object in a form-encoded body"],
      // Stripe's `metadata` and `address` are `anyOf: [object, enum: ['']]`: objects, as far as form encoding goes.
      ['stripe', 'PostCustomersCustomer', 'write', { customer: {}, address: {} }, 'PARAM_UNSUPPORTED', "body parameter 'address' is a nested object in a form-encoded body"],
      ['stripe', 'PostCustomersCustomer', 'write', { customer: {}, preferred_locales: {} }, 'INPUT_UNBOUNDED_ARRAY', "array input 'preferred_locales' has no maxItems"],
      ['stripe', 'GetCharges', 'read', { created: {} }, 'PARAM_UNSUPPORTED', "query parameter 'created' uses style 'deepObject' explode true"],
      ['stripe', 'GetCustomersCustomer', 'read', { customer: { maxLength: 6000 } }, 'NARROWING_WIDENS', "maxLength 6000 for 'customer' is above the spec's maxLength 5000"],
      // `format: decimal` is no bound: nothing validates it.
      ['stripe', 'PostPrices', 'write', { currency: { pattern: '^[a-z]{3}$' }, unit_amount_decimal: {} }, 'INPUT_UNBOUNDED_STRING', "string input 'unit_amount_decimal' has none of maxLength, pattern, enum or format"],
    ] as const)('%s %s (%s) is refused: %s', (name, operation, risk, input, code, message) => {
      const c = name === 'github' ? github : stripe;
      const result = compileTools({
        spec: byName(c).spec,
        manifest: {
          version: 1,
          tools: [
            {
              name: 'probe',
              operation,
              title: 'Probe',
              risk,
              description: risk === 'read' ? 'Probes the spec.' : 'Probes the spec. WARNING: it changes data. Confirm with the user before calling.',
              input,
              ...(risk === 'read' ? {} : { approval: { message: 'Go?' } }),
              callerScopes: ['x'],
            },
          ],
        },
      });
      const found = result.errors.filter((e) => e.code === code && e.message.includes(message));
      expect(found, JSON.stringify(result.errors.map((e) => [e.code, e.message]))).toHaveLength(1);
    });
  });

  it('refuses a Swagger 2.0 document with the conversion command', async () => {
    const path = await fetchPublicSpec(swagger2Spec);
    const io = capture();
    expect(await runGenerate(['--spec', path, '--tools', join(fixtures, 'github-tools.yaml'), '--out', join(scratch, 'never')], io)).toBe(1);
    expect(io.stderr.join('\n')).toContain('the spec is Swagger 2.0 (OpenAPI 2.0), which Deputy does not read');
    expect(io.stderr.join('\n')).toContain('npx swagger2openapi');
    expect(existsSync(join(scratch, 'never'))).toBe(false);
  });
});
