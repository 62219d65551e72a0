/**
 * Fuzzing every tool's input with fast-check, through the front door: a real MCP
 * SDK client (with elicitation that accepts, so writes get as far as they can) on a real
 * Deputy in front of the mock backend. Inputs: arbitrary JSON (objects or not), the tool's own
 * keys with valid, boundary, look-alike and unicode values, extra keys, deep and wide objects
 * and huge arrays.
 *
 * Properties, for every generated input:
 *   - never a crash or a 5xx: the answer is a tool result, a JSON-RPC error for malformed
 *     params, or a 4xx for an over-sized request body; Deputy answers /healthz afterwards, and
 *     no result is Deputy's "internal error" text;
 *   - never a backend request with input outside the tool's schema: each request the backend
 *     logged is turned back into tool arguments (path parameters, query string; a note's body
 *     from the store) and validated against the tool's `inputSchema` with Ajv, and a request
 *     happened only when Ajv also accepts the generated input; the mock's own request
 *     validation refused none (a 400 only for an opaque cursor the list did not issue);
 *   - valid input is not refused: when Ajv accepts the input, the backend was called and the
 *     call was not answered "Invalid arguments".
 *
 * Reproduce a failure with the printed seed: FUZZ_SEED=<seed> (FUZZ_RUNS=<n> for more runs).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../../mock-backend/requestLog.ts';
import { tools, type ToolDefinition } from '../../src/generated/tools.ts';
import { jsonRpcMessages, setup, textOf, type Harness } from '../helpers/deputy.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20250630);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const INTERNAL_TEXT = 'Deputy hit an internal error.';

interface JsonSchema {
  type?: string | string[];
  pattern?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  [keyword: string]: unknown;
}

let h: Harness;
let client: Client;
let elicitations = 0;
/** Valid targets that exist in the seed, so valid input also reaches the backend's happy paths. */
let known: { filename: string[]; customerId: string[]; ticketId: string[] };
const stats = new Map<string, { runs: number; results: number; isError: number; protocolErrors: number; http4xx: number; backendCalls: number; validInputs: number }>();

// JSON Schema semantics (lengths in code points, patterns as unicode regexps), as the tools
// publish them in tools/list and as Deputy's zod validation reads them too.
const ajv = new Ajv2020({ strict: false, allErrors: false });
const validators = new Map<string, ValidateFunction>(tools.map((tool) => [tool.name, ajv.compile(tool.inputSchema)]));

beforeAll(async () => {
  h = await setup({
    backend: { rateLimit: { limit: 1_000_000, windowSeconds: 60 } },
  });
  client = await h.connect({
    onElicit: () => {
      elicitations++;
      return { action: 'accept', content: { confirm: true } };
    },
  });
  known = {
    filename: [...h.backend.store.drafts.keys()].slice(0, 8),
    customerId: [...h.backend.store.customers.keys()].slice(0, 8),
    ticketId: [...h.backend.store.tickets.keys()].slice(0, 8),
  };
  console.info(`fuzz: seed ${SEED}, ${RUNS} runs per tool (FUZZ_SEED / FUZZ_RUNS to change)`);
});

afterAll(async () => {
  for (const [tool, s] of stats) console.info(`fuzz: ${tool} ${JSON.stringify(s)}`);
  await h?.teardown();
});

// ---------------------------------------------------------------------------------------------
// Generators

/** Characters that look like ASCII ones, and characters that hide or reorder text. */
const LOOK_ALIKES: Record<string, string[]> = {
  a: ['а', 'ɑ', 'ａ'], e: ['е', 'ｅ'], o: ['о', '0', 'ο'], c: ['с', 'ϲ'], p: ['р'], i: ['і', 'ı', '1'], s: ['ѕ'], d: ['ԁ'],
  '.': ['\u2024', '\uff0e', '。'], '-': ['\u2010', '\u2212', '\u00ad'], _: ['\uff3f'], '0': ['\uff10', 'O'], '1': ['\uff11', 'l'],
};
const INVISIBLE = ['\u200b', '\u200d', '\u202e', '\u2066', '\ufeff', '\u0000', '\u0085', '\u2028', '\ud800', '\udfff'];
const INJECTIONS = ['/', '../', '..%2f', '%2e%2e', '\\', '?x=1', '#frag', '%00', '\n', '\r\n', ' ', '\t', '%', '{}', '*'];

/** A valid value mutated the ways an attacker (or a confused model) would. */
function nearMiss(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(valid, fc.nat(), fc.nat()).map(([value, at, which]) => {
      const chars = [...value];
      if (chars.length === 0) return value;
      const index = at % chars.length;
      const options = LOOK_ALIKES[chars[index]!.toLowerCase()];
      if (options) chars[index] = options[which % options.length]!;
      return chars.join('');
    }),
    fc.tuple(valid, fc.constantFrom(...INVISIBLE, ...INJECTIONS), fc.nat()).map(([value, insert, at]) => {
      const index = value.length === 0 ? 0 : at % (value.length + 1);
      return value.slice(0, index) + insert + value.slice(index);
    }),
    valid.map((value) => value.toUpperCase()),
    valid.map((value) => value.normalize('NFD') + '\u0301'),
    fc.tuple(valid, fc.integer({ min: 1, max: 20_000 })).map(([value, times]) => value.repeat(Math.max(1, Math.floor(times / Math.max(1, value.length))))),
  );
}

/**
 * Strings at and around a length bound, counted in code units or in code points (they differ
 * for astral characters such as emoji; JSON Schema counts code points), in one- and two-unit
 * characters and combining sequences.
 */
function aroundLength(bound: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: Math.max(0, bound - 1), max: bound + 1 }), fc.constantFrom('a', 'é', '😀', '\u0000', 'e\u0301', '👩‍👩‍👧'), fc.boolean())
    .map(([length, unit, inUnits]) => unit.repeat(inUnits ? Math.ceil(length / unit.length) : length));
}

/** Mostly valid values (so whole inputs are valid often enough to reach the backend), then every kind of wrong one. */
function valueFor(name: string, schema: JsonSchema): fc.Arbitrary<unknown> {
  const valid: fc.Arbitrary<unknown>[] = [];
  const invalid: fc.Arbitrary<unknown>[] = [];
  if (schema.enum) {
    valid.push(fc.constantFrom(...schema.enum));
    invalid.push(nearMiss(fc.constantFrom(...schema.enum.map(String))));
  } else if (schema.type === 'integer' || schema.type === 'number') {
    const min = schema.minimum ?? -1000;
    const max = schema.maximum ?? 1000;
    valid.push(fc.integer({ min, max }), fc.constantFrom(min, max));
    invalid.push(
      fc.constantFrom(min - 1, max + 1, 0, -0, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308),
      fc.constantFrom(String(min), `${max}`, ' 1', '0x10', '1e1', 'NaN', 'Infinity'),
    );
  } else {
    const bounded = { minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 200, 300) };
    const matching = schema.pattern
      ? fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= bounded.minLength && s.length <= (schema.maxLength ?? Infinity))
      : fc.string({ unit: 'grapheme', ...bounded });
    const real = name in known ? fc.constantFrom(...known[name as keyof typeof known]) : undefined;
    valid.push(...(real ? [real] : []), matching);
    invalid.push(
      nearMiss(real ?? matching),
      fc.string({ unit: 'binary', maxLength: 64 }),
      fc.string({ unit: 'grapheme-composite', maxLength: 64 }),
      aroundLength(schema.maxLength ?? 200),
      aroundLength(schema.minLength ?? 0),
    );
  }
  invalid.push(fc.jsonValue({ maxDepth: 2 })); // wrong types for the same key
  return fc.oneof(...valid.map((arbitrary) => ({ weight: 12 / valid.length, arbitrary })), ...invalid.map((arbitrary) => ({ weight: 1, arbitrary })));
}

/** A value nested `depth` levels deep (objects and arrays alternating). */
const deep = fc.integer({ min: 100, max: 2_000 }).map((depth) => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { nested: value } : [value];
  return value;
});
const wide = fc.integer({ min: 100, max: 5_000 }).map((keys) => Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])));
/** Up to 60,000 items: some requests stay under Deputy's 256 KiB body cap, some go over (413). */
const huge = fc.tuple(fc.integer({ min: 1_000, max: 60_000 }), fc.constantFrom<unknown>(0, 'x', null, {}, 'cus_Northwind001')).map(([length, item]) => Array.from({ length }, () => item));

function argumentsFor(tool: ToolDefinition): fc.Arbitrary<unknown> {
  const properties = (tool.inputSchema.properties ?? {}) as Record<string, JsonSchema>;
  const shaped = fc.record(Object.fromEntries(Object.entries(properties).map(([name, schema]) => [name, valueFor(name, schema)])), { requiredKeys: [] });
  const oddKeys = fc.constantFrom('confirm', 'approved', '__proto__', 'constructor', 'visibility', 'notifySubscribers', '', ' filename', 'FILENAME', 'filename\u0000', '$ne');
  const misplaced = fc.oneof(deep, wide, huge, fc.jsonValue({ maxDepth: 3 }));
  return fc.oneof(
    { weight: 8, arbitrary: shaped },
    { weight: 2, arbitrary: fc.tuple(shaped, oddKeys, fc.jsonValue({ maxDepth: 2 })).map(([args, key, value]) => Object.assign(Object.create(null) as object, args, { [key]: value })) },
    { weight: 2, arbitrary: fc.tuple(shaped, fc.constantFrom(...Object.keys(properties), 'extra'), misplaced).map(([args, key, value]) => ({ ...args, [key]: value })) },
    { weight: 1, arbitrary: fc.jsonValue() },
    { weight: 1, arbitrary: fc.object({ maxDepth: 4 }) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: wide },
    { weight: 1, arbitrary: huge },
  );
}

// ---------------------------------------------------------------------------------------------
// Checks

/** The tool arguments a backend request carried, read back from its path and query string. */
function argumentsFromRequest(tool: ToolDefinition, entry: RequestLogEntry): { args: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const lookup = tool.approval?.lookup?.operation;
  const binding = entry.operationId === tool.operation.operationId ? tool.operation : lookup && entry.operationId === lookup.operationId ? lookup : undefined;
  if (!binding) return { args: {}, problems: [`a request to ${entry.operationId ?? entry.path} is not this tool's operation`] };
  const properties = (tool.inputSchema.properties ?? {}) as Record<string, JsonSchema>;
  const args: Record<string, unknown> = {};

  const names: string[] = [];
  const template = binding.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]*)';
  });
  const match = new RegExp(`^${template}$`).exec(entry.path);
  if (!match) problems.push(`path ${JSON.stringify(entry.path)} does not fit ${binding.path}`);
  else {
    names.forEach((name, i) => {
      const arg = binding.args.find((a) => a.in === 'path' && a.name === name);
      if (!arg) return problems.push(`path parameter ${name} has no argument`);
      try {
        args[arg.arg] = decodeURIComponent(match[i + 1]!);
      } catch {
        problems.push(`path parameter ${name} is not valid percent-encoding: ${match[i + 1]}`);
      }
    });
  }
  for (const [name, value] of new URLSearchParams(entry.query)) {
    const arg = binding.args.find((a) => a.in === 'query' && a.name === name);
    if (!arg) {
      problems.push(`query parameter ${JSON.stringify(name)} is not one of the tool's`);
      continue;
    }
    if (arg.arg in args) problems.push(`query parameter ${name} sent twice`);
    const type = properties[arg.arg]?.type;
    args[arg.arg] = (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return { args, problems };
}

type Answer =
  | { kind: 'result'; result: CallToolResult }
  | { kind: 'protocol'; code: number; message: string }
  | { kind: 'http'; status: number; message: string };

async function call(name: string, args: unknown): Promise<Answer> {
  try {
    const result = (await client.callTool({ name, arguments: args as Record<string, unknown> }, undefined, { timeout: 15_000 })) as CallToolResult;
    return { kind: 'result', result };
  } catch (error) {
    if (error instanceof McpError) return { kind: 'protocol', code: error.code, message: error.message };
    const status = (error as { code?: unknown }).code;
    return { kind: 'http', status: typeof status === 'number' ? status : -1, message: String((error as Error).message) };
  }
}

function describeInput(args: unknown): string {
  const text = JSON.stringify(args) ?? String(args);
  return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
}

async function checkOne(tool: ToolDefinition, args: unknown): Promise<void> {
  const s = stats.get(tool.name)!;
  s.runs++;
  h.backend.requestLog.clear();
  const notesBefore = new Set([...h.backend.store.notes.values()].flat().map((n) => n.id));
  const inputValid = validators.get(tool.name)!(args) === true;
  if (inputValid) s.validInputs++;
  const answer = await call(tool.name, args);
  const where = `${tool.name}(${describeInput(args)})`;

  // Never a crash or a 5xx.
  if (answer.kind === 'http') {
    s.http4xx++;
    expect(answer.status, `${where}: ${answer.message}`).toBeGreaterThanOrEqual(400);
    expect(answer.status, `${where}: ${answer.message}`).toBeLessThan(500);
  } else if (answer.kind === 'protocol') {
    s.protocolErrors++;
    // Malformed params are the only protocol errors a known tool may answer with.
    expect([ErrorCode.InvalidParams, ErrorCode.InvalidRequest], `${where}: ${answer.code} ${answer.message}`).toContain(answer.code);
    expect(inputValid, `${where}: valid input answered with a protocol error`).toBe(false);
  } else {
    s.results++;
    const { result } = answer;
    expect(Array.isArray(result.content) && result.content.length > 0, where).toBe(true);
    const text = textOf(result);
    expect(text.startsWith(INTERNAL_TEXT), `${where}: ${text}`).toBe(false);
    if (result.isError) s.isError++;
    else expect(inputValid, `${where}: invalid input succeeded: ${text.slice(0, 200)}`).toBe(true);
    if (inputValid) expect(text.startsWith('Invalid arguments'), `${where}: valid input refused: ${text}`).toBe(false);
  }

  // Never a backend request with input outside the schema.
  const entries = h.backend.requestLog.entries().filter((e) => e.path !== '/oauth/token');
  s.backendCalls += entries.length;
  if (entries.length > 0) expect(inputValid, `${where}: reached the backend with input outside the schema`).toBe(true);
  const bodyArgs = tool.operation.args.filter((a) => a.in === 'body').map((a) => a.arg);
  const newNotes = [...h.backend.store.notes.values()].flat().filter((n) => !notesBefore.has(n.id));
  for (const entry of entries) {
    // The backend refuses as invalid only what no schema can know: an opaque cursor it did not issue.
    if (entry.status === 400) expect(new URLSearchParams(entry.query).has('cursor'), `${where}: the backend refused the request as invalid`).toBe(true);
    const { args: sent, problems } = argumentsFromRequest(tool, entry);
    expect(problems, where).toEqual([]);
    if (entry.operationId === tool.operation.operationId) {
      // The body is not in the request log: take it from the input and prove below that the store got exactly that.
      for (const name of bodyArgs) sent[name] = (args as Record<string, unknown>)[name];
      const validate = validators.get(tool.name)!;
      expect(validate(sent), `${where}: sent ${JSON.stringify(sent)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    } else {
      // The approval lookup carries a subset of the arguments; each must be valid on its own.
      const properties = tool.inputSchema.properties as Record<string, object>;
      for (const [name, value] of Object.entries(sent)) {
        const validate = ajv.compile({ type: 'object', properties: { [name]: properties[name] } });
        expect(validate({ [name]: value }), `${where}: lookup sent ${name}=${JSON.stringify(value)}`).toBe(true);
      }
    }
  }
  if (tool.name === 'addTicketNote') {
    const input = args as { ticketId?: unknown; body?: unknown };
    for (const note of newNotes) expect({ ticketId: note.ticketId, body: note.body, visibility: note.visibility }, where).toEqual({ ticketId: input.ticketId, body: input.body, visibility: 'internal' });
    expect(newNotes.length, where).toBeLessThanOrEqual(1);
  }
  // Valid input reaches the backend (reads directly; writes after the approval, which accepts).
  if (inputValid && answer.kind === 'result') expect(entries.length, `${where}: valid input never reached the backend: ${textOf(answer.result)}`).toBeGreaterThan(0);
}

describe('fuzzing every tool’s input', () => {
  it.each(tools.map((tool) => [tool.name, tool] as const))('%s: never a crash or 5xx, never a backend request outside the schema', async (_name, tool) => {
    stats.set(tool.name, { runs: 0, results: 0, isError: 0, protocolErrors: 0, http4xx: 0, backendCalls: 0, validInputs: 0 });
    h.backend.reset();
    await fc.assert(
      fc.asyncProperty(argumentsFor(tool), (args) => checkOne(tool, args)),
      { seed: SEED, numRuns: RUNS },
    );
    const s = stats.get(tool.name)!;
    // The generators reach both sides: valid input that calls the backend, and invalid input refused.
    expect(s.backendCalls, JSON.stringify(s)).toBeGreaterThan(0);
    expect(s.runs - s.validInputs, JSON.stringify(s)).toBeGreaterThan(0);
    const health = await fetch(`${new URL(h.deputy.url).origin}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);

  it('malformed tools/call params are JSON-RPC -32602 (not -32603), and the session goes on', async () => {
    const token = await h.agentToken();
    const sessionId = await h.openSession(token);
    const malformed: unknown[] = [
      { name: 'listDrafts', arguments: [] },
      { name: 'listDrafts', arguments: 'limit=1' },
      { name: 'listDrafts', arguments: null },
      { name: 'listDrafts', arguments: 5 },
      { name: 5, arguments: {} },
      { arguments: {} },
      null,
      [],
    ];
    for (const [i, params] of malformed.entries()) {
      const response = await h.post({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params }, { token, sessionId });
      expect(response.status, JSON.stringify(params)).toBe(200);
      const [message] = await jsonRpcMessages(response);
      expect(message, JSON.stringify(params)).toMatchObject({ id: i + 1, error: { code: ErrorCode.InvalidParams } });
    }
    // An own "__proto__" key: the SDK would make it the arguments' prototype; refused instead.
    h.backend.requestLog.clear();
    const proto = await h.post(
      { jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'getDraft', arguments: {} } },
      { token, sessionId, rawBody: '{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"getDraft","arguments":{"__proto__":{"filename":"q3-pricing-update.md"}}}}' },
    );
    expect((await jsonRpcMessages(proto))[0]).toMatchObject({ id: 99, error: { code: ErrorCode.InvalidParams } });
    expect(h.backend.requestLog.entries().filter((e) => e.path !== '/oauth/token')).toEqual([]);
    const fine = await h.post({ jsonrpc: '2.0', id: 100, method: 'tools/call', params: { name: 'listDrafts', arguments: { limit: 1 } } }, { token, sessionId });
    expect((await jsonRpcMessages(fine))[0]).toMatchObject({ id: 100, result: { content: [{ type: 'text' }] } });
  });

  it('arbitrary tool names are protocol errors (unknown tool), never a crash', async () => {
    const names = new Set(tools.map((t) => t.name));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), nearMiss(fc.constantFrom(...names))), async (name) => {
        fc.pre(!names.has(name));
        h.backend.requestLog.clear();
        const answer = await call(name, {});
        if (answer.kind === 'http') expect(answer.status).toBeLessThan(500);
        else expect(answer.kind === 'protocol' ? answer.code : answer.result.isError ? 'isError' : 'ok', `${JSON.stringify(name)}`).toBe(ErrorCode.InvalidParams);
        expect(h.backend.requestLog.entries().filter((e) => e.path !== '/oauth/token')).toEqual([]);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('the session and Deputy survived all of it', async () => {
    const result = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(elicitations).toBeGreaterThan(0);
    expect(h.logLines.filter((line) => line.includes('tool call failed unexpectedly'))).toEqual([]);
  });
});
