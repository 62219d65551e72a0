// The real-spec corpus end to end (test/README.md, "Real-spec corpus"): for each public spec,
// Deputy runs over stdio with `--spec/--tools` and a static token file, the real SDK client calls
// every tool of the corpus manifest, and a recording fake backend built from the same spec
// (test/helpers/specBackend.ts) answers. Per spec, one backend and one Deputy process.
//
// A check listed in a case's `pending` map is one that needs a feature not yet merged; it runs
// as `it.fails`, so it stays in the suite, and the day the feature lands it passes, the
// `it.fails` turns red, and the entry must be removed.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { corpusCases, type Check, type CorpusCase, type Credential, type ToolCall } from '../fixtures/corpus/cases.ts';
import { fetchPublicSpec } from '../helpers/publicSpecs.ts';
import { startSpecBackend, unpicked, wrongShape, type RecordedRequest, type SpecBackend } from '../helpers/specBackend.ts';
import { startStdioDeputy, type StdioDeputy } from '../helpers/stdioDeputy.ts';

const ajv = new Ajv2020({ strict: false, allErrors: true });

interface Running {
  backend: SpecBackend;
  deputy: StdioDeputy;
  validators: Map<string, ValidateFunction>;
  /** One backend request per call in `calls`, recorded by the first pass over them. */
  wire: Map<ToolCall, RecordedRequest[]>;
  results: Map<ToolCall, CallToolResult | Error>;
  dir: string;
}

/** Where a credential travelled in one request, or undefined if it did not. */
function placed(req: RecordedRequest, cred: Credential): string | undefined {
  if (cred.in === 'header') return req.headers[cred.name.toLowerCase()] as string | undefined;
  if (cred.in === 'query') {
    const v = req.query[cred.name];
    return Array.isArray(v) ? v.join(',') : v;
  }
  const cookie = req.headers.cookie ?? '';
  return cookie
    .split(/;\s*/)
    .map((pair) => pair.split('='))
    .find(([k]) => k === cred.name)?.[1];
}

/** The request with the credential positions removed: what must then hold no secret. */
function withoutCredentials(req: RecordedRequest, creds: readonly Credential[]): unknown {
  const headers = { ...req.headers };
  const query = { ...req.query };
  for (const c of creds) {
    if (c.in === 'header') delete headers[c.name.toLowerCase()];
    if (c.in === 'query') delete query[c.name];
    if (c.in === 'cookie') delete headers.cookie;
  }
  return { path: req.path, headers, query, rawBody: req.rawBody };
}

const queryWithout = (req: RecordedRequest, creds: readonly Credential[]) => {
  const query = { ...req.query };
  for (const c of creds) if (c.in === 'query') delete query[c.name];
  return query;
};

/** What a call gave back: the result, or the error the SDK client threw (it refuses output that breaks the outputSchema). */
type Outcome = CallToolResult | Error;

async function call(deputy: StdioDeputy, name: string, args: Record<string, unknown>): Promise<Outcome> {
  return deputy.callTool(name, args).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
}

function assertResult(outcome: Outcome | undefined, what: string): CallToolResult {
  if (outcome instanceof Error) throw new Error(`${what}: the client refused the result: ${outcome.message}`);
  expect(outcome, what).toBeDefined();
  return outcome as CallToolResult;
}

const describeCase = (c: CorpusCase) => {
  let run: Running;
  /** One test per tool call; pending as a whole (`offSpec`) or for one tool (`offSpec:getDeployment`). */
  const perCall = (name: Check, title: string, fn: (call: ToolCall) => Promise<void> | void, only: (call: ToolCall) => boolean = () => true) => {
    for (const toolCall of c.calls.filter(only)) {
      const id = toolCall.label ?? toolCall.tool;
      const pending = c.pending[`${name}:${id}`] ?? c.pending[name];
      const label = `${id}: ${title}`;
      if (pending) it.fails(`${label} [pending: ${pending}]`, () => fn(toolCall));
      else it(label, () => fn(toolCall));
    }
  };
  const tool = (name: string) => run.deputy.tools.find((t) => t.name === name) as Tool;

  beforeAll(async () => {
    const specPath = await fetchPublicSpec(c.source);
    const spec = JSON.parse(await readFile(specPath, 'utf8')) as Record<string, unknown>;
    const backend = await startSpecBackend(spec);
    const dir = await mkdtemp(join(tmpdir(), `deputy-corpus-${c.name}-`));
    await writeFile(join(dir, 'tokens.yaml'), c.tokenFile);
    const deputy = await startStdioDeputy({ spec: specPath, tools: c.manifest ?? `test/fixtures/corpus/${c.name}-tools.yaml`, backendUrl: backend.url, tokenFile: join(dir, 'tokens.yaml') });
    run = { backend, deputy, dir, validators: new Map(), wire: new Map(), results: new Map() };
    for (const t of deputy.tools) if (t.outputSchema) run.validators.set(t.name, ajv.compile(t.outputSchema));
    // The first pass: every call once, answered as the spec says.
    for (const toolCall of c.calls) {
      const before = backend.requests.length;
      if (toolCall.answer) backend.answer(toolCall.operationId, toolCall.answer);
      run.results.set(toolCall, await call(deputy, toolCall.tool, toolCall.args));
      backend.answer(toolCall.operationId, 'spec');
      run.wire.set(toolCall, backend.requests.slice(before));
    }
  }, 60_000);
  afterAll(async () => {
    await run?.deputy.close();
    await run?.backend.close();
    if (run) await rm(run.dir, { recursive: true, force: true });
  });

  it('lists exactly the manifest tools, each with an outputSchema and the right risk', () => {
    expect(run.deputy.tools.map((t) => t.name).sort()).toEqual([...new Set(c.calls.map((x) => x.tool))].sort());
    for (const t of run.deputy.tools) expect(t.outputSchema?.type, t.name).toBe('object');
    for (const x of c.calls) expect(tool(x.tool).annotations?.readOnlyHint, x.tool).toBe(!x.write);
  });

  perCall('wire', 'the request is wire-correct: method, path, query and body encoding', (x) => {
    const sent = (run.wire.get(x) ?? []).filter((r) => r.operationId === x.operationId);
    expect(sent, `one request to ${x.operationId}`).toHaveLength(1);
    const [req] = sent as [RecordedRequest];
    expect({ method: req.method, path: req.path, query: queryWithout(req, c.credentials) }).toEqual({
      method: x.wire.method,
      path: x.wire.path,
      query: x.wire.query ?? {},
    });
    if (x.wire.body === undefined) expect(req.rawBody).toBe('');
    else {
      expect(req.headers['content-type']).toContain(x.wire.contentType ?? 'application/json');
      expect(req.body).toEqual(x.wire.body);
    }
  });

  perCall('credential', 'the credential is where the spec says, and nowhere else', (x) => {
    const reqs = run.wire.get(x) ?? [];
    expect(reqs.length).toBeGreaterThan(0);
    for (const req of reqs) {
      for (const cred of c.credentials) expect(placed(req, cred), `${req.operationId} ${cred.in} ${cred.name}`).toBe(cred.value);
      const rest = JSON.stringify(withoutCredentials(req, c.credentials));
      for (const secret of c.secrets) expect(rest.includes(secret), `${req.operationId}: a secret outside its place`).toBe(false);
    }
  });

  perCall('outputs', "the result is usable and valid against the tool's outputSchema", (x) => {
    const result = assertResult(run.results.get(x), x.tool);
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const data = result.structuredContent ?? {};
    // A 204 No Content operation: success itself is the answer.
    if (!x.noContent) expect(Object.keys(data).length, 'returned nothing').toBeGreaterThan(0);
    const validate = run.validators.get(x.tool) as ValidateFunction;
    expect(validate(data), ajv.errorsText(validate.errors)).toBe(true);
  });

  perCall(
    'approval',
    'the human approved the write before the backend saw it',
    async (x) => {
      // Audit lines reach stderr asynchronously (pino): wait for this one.
      await vi.waitFor(() => expect(run.deputy.audit().find((a) => a.tool === x.tool)?.approval).toBe('accepted'));
      expect(run.deputy.prompts.filter((p) => p.includes(tool(x.tool).title ?? x.tool)).length).toBeGreaterThan(0);
    },
    (x) => x.write === true,
  );

  perCall('badArguments', 'bad arguments are refused and never sent', async (x) => {
    for (const bad of x.bad) {
      const before = run.backend.requests.length;
      const result = assertResult(await call(run.deputy, x.tool, bad), JSON.stringify(bad));
      expect(result.isError, JSON.stringify(bad)).toBe(true);
      expect(run.backend.requests.length, `${JSON.stringify(bad)} reached the backend`).toBe(before);
    }
  });

  perCall(
    'offSpec',
    'off-spec values (a date-time for a date, a value outside an enum) do not break the result',
    async (x) => {
      run.backend.answer(x.operationId, 'offSpec');
      try {
        const result = assertResult(await call(run.deputy, x.tool, x.args), 'off-spec answer');
        expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
        // The off-spec values must reach the output, or this check proves nothing.
        const before = assertResult(run.results.get(x), 'first pass').structuredContent;
        expect(result.structuredContent, 'no picked field carries a format or enum to break').not.toEqual(before);
        const validate = run.validators.get(x.tool) as ValidateFunction;
        expect(validate(result.structuredContent), ajv.errorsText(validate.errors)).toBe(true);
      } finally {
        run.backend.answer(x.operationId, 'spec');
      }
    },
    (x) => x.offSpec === true,
  );

  perCall('contract', 'an answer of the wrong shape, without the picked fields or empty is an error, never ok', async (x) => {
    for (const mode of ['wrongShape', 'unpicked', 'empty'] as const) {
      // A call with its own answer (the spec declares none) gets that answer reshaped.
      const fixed = typeof x.answer === 'object' ? x.answer : null;
      if (fixed && mode !== 'empty') run.backend.answer(x.operationId, { status: fixed.status, body: (mode === 'wrongShape' ? wrongShape : unpicked)(fixed.body) });
      else run.backend.answer(x.operationId, mode);
      try {
        const result = assertResult(await call(run.deputy, x.tool, x.args), mode);
        expect(result.isError, `${mode}: ${JSON.stringify(result.content)}`).toBe(true);
      } finally {
        run.backend.answer(x.operationId, x.answer ?? 'spec');
      }
    }
  }, (x) => !x.noContent);

  it('shows no secret in tool output, approval prompts or logs', () => {
    const seen = JSON.stringify([...run.results.values()]) + run.deputy.prompts.join('\n') + run.deputy.stderr.join('\n');
    for (const secret of c.secrets) expect(seen.includes(secret)).toBe(false);
    expect(run.deputy.stderr.some((l) => l.includes('"outcome"')), 'the audit trail was captured').toBe(true);
  });
};

describe.each(corpusCases)('$name', { timeout: 60_000 }, describeCase);
