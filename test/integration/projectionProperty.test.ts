// The pick-path grammar (src/tools/pickPath.ts) as a property, over every tool Deputy knows how
// to build: the committed Acme tools, the GitHub and Stripe manifests (test/fixtures/realworld/)
// and the real-spec corpus (test/fixtures/corpus/). For any answer valid against the operation's
// response schema, the runtime's projection (projectOutput with the tool's pick tree and
// listCaps) is valid against the outputSchema the generator advertised (checkOutput and Ajv),
// and every picked field the answer holds is in the projection, unchanged (lists cut to their
// cap). Answers come from the response schema (test/helpers/schemaArbitrary.ts); fields a
// manifest declares (`output.types`, `responseShape: declared…`) get values of the declared type.
//
// Fixed seed, bounded runs: PROJECTION_SEED / PROJECTION_RUNS vary them.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileTools } from '../../src/codegen/compile.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import type { ToolDefinition } from '../../src/codegen/toolDefinition.ts';
import { tools as acmeTools } from '../../src/generated/tools.ts';
import { compileOutputCheck } from '../../src/tools/checkOutput.ts';
import { parsePickPath } from '../../src/tools/pickPath.ts';
import { compilePick, ContractViolation, projectOutput } from '../../src/tools/projectOutput.ts';
import { arbitraryFromSchema } from '../helpers/schemaArbitrary.ts';
import { corpusSpecs, fetchPublicSpec, githubRestSpec, stripeSpec, type PublicSpec } from '../helpers/publicSpecs.ts';

type Schema = Record<string, unknown>;
const root = fileURLToPath(new URL('../..', import.meta.url));
const SEED = Number(process.env.PROJECTION_SEED ?? 20261201);
const RUNS = Number(process.env.PROJECTION_RUNS ?? 60);

interface Source {
  name: string;
  spec: PublicSpec | 'acme';
  /** Manifest path under the repository root; none for Acme (its tools are committed). */
  manifest?: string;
}

const sources: Source[] = [
  { name: 'acme', spec: 'acme' },
  { name: 'github', spec: githubRestSpec, manifest: 'test/fixtures/realworld/github-tools.yaml' },
  { name: 'stripe', spec: stripeSpec, manifest: 'test/fixtures/realworld/stripe-tools.yaml' },
  ...Object.entries(corpusSpecs).map(([name, spec]) => ({ name, spec, manifest: `test/fixtures/corpus/${name}-tools.yaml` })),
];

interface Case {
  source: string;
  tool: ToolDefinition;
  document: Schema;
  /** The schema an answer is generated from, in the pick-tree's terms (a list answer wrapped as { items }). */
  answer: Schema;
  overrides: Map<string, Schema>;
  declaredShape: boolean;
}

const cases: Case[] = [];

/**
 * BUGS THIS TEST FOUND, not fixed yet (generator/runtime code): tool → what its first failure
 * must say. Each listed tool must still fail that way; the day it passes, the test turns red and
 * the entry goes.
 */
const knownBugs: Record<string, { bug: string; failure: RegExp }> = {};

beforeAll(async () => {
  for (const source of sources) {
    const path = source.spec === 'acme' ? join(root, 'openapi/admin-api.yaml') : await fetchPublicSpec(source.spec);
    const loaded = await loadSpec(path);
    if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
    const document = loaded.document;
    let tools: readonly ToolDefinition[];
    let manifestTools: Record<string, Schema> = {};
    if (source.manifest === undefined) {
      tools = acmeTools;
      manifestTools = byName(parse(await readFile(join(root, 'openapi/tools.yaml'), 'utf8')));
    } else {
      const manifest = parse(await readFile(join(root, source.manifest), 'utf8'));
      const result = compileTools({ spec: document, manifest });
      if (result.errors.length > 0) throw new Error(`${source.manifest}: ${result.errors.map((e) => e.message).join('; ')}`);
      tools = result.tools;
      manifestTools = byName(manifest);
    }
    for (const tool of tools) {
      if (tool.output.pick.length === 0) continue; // 204 No Content: nothing to project
      const output = (manifestTools[tool.name]?.output ?? {}) as { types?: Record<string, unknown>; responseShape?: string };
      const overrides = new Map<string, Schema>();
      for (const p of Object.keys(output.types ?? {})) overrides.set(p, schemaAtPick(tool.outputSchema, p));
      const response = output.responseShape !== undefined && output.responseShape !== 'spec' ? null : responseSchema(document, tool);
      // No response schema (declared shape, or a spec that declares no body): every pick has a declared type.
      const declaredShape = response === null;
      if (declaredShape && overrides.size === 0) throw new Error(`${source.name}/${tool.name}: no JSON success response and no declared types`);
      const answer = declaredShape ? (tool.outputSchema as Schema) : tool.output.rootArray ? { type: 'object', required: ['items'], properties: { items: response } } : (response as Schema);
      cases.push({ source: source.name, tool, document, answer, overrides, declaredShape });
    }
  }
}, 240_000);

describe('pick projection: a schema-valid answer, projected, matches the outputSchema and keeps every picked field', { timeout: 120_000 }, () => {
  it('covers every tool of every source', () => {
    for (const s of sources) expect(cases.filter((c) => c.source === s.name).length, s.name).toBeGreaterThanOrEqual(2);
  });

  it('holds for every tool', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
    const failures: string[] = [];
    const stillFailing = new Set<string>();
    for (const c of cases) {
      const label = `${c.source}/${c.tool.name}`;
      const tree = compilePick(c.tool.output.pick, c.tool.output.required);
      const check = compileOutputCheck(c.tool.outputSchema);
      const validate = ajv.compile(c.tool.outputSchema);
      const answers = arbitraryFromSchema(c.answer, { document: c.declaredShape ? {} : c.document, overrides: c.declaredShape ? new Map() : c.overrides });
      const outcome = fc.check(
        fc.property(answers, (answer) => {
          let projected: Record<string, unknown>;
          try {
            projected = projectOutput(answer, tree, c.tool.output.listCaps).value;
          } catch (error) {
            // An answer holding none of the picked fields is refused by design (src/README.md, D15).
            if (error instanceof ContractViolation && error.got === 'none of them' && !holdsAnyPick(answer, c.tool.output.pick)) return;
            throw error;
          }
          const violation = check(projected);
          if (violation !== null) throw new Error(`checkOutput: ${violation.message}`);
          if (!validate(projected)) throw new Error(`Ajv: ${ajv.errorsText(validate.errors)}`);
          for (const pick of c.tool.output.pick) keptAt(answer, projected, pick, c.tool.output.listCaps);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      const message = outcome.failed ? (outcome.errorInstance as Error).message : null;
      const known = knownBugs[label];
      if (known !== undefined && message !== null && known.failure.test(message)) stillFailing.add(label);
      else if (message !== null) failures.push(`${label}: ${message} — answer ${JSON.stringify(outcome.counterexample?.[0])} (seed ${SEED}, path ${outcome.counterexamplePath})`);
    }
    expect(failures).toEqual([]);
    // A known bug that no longer shows: fixed (remove its entry) or no longer exercised.
    expect([...stillFailing].sort()).toEqual(Object.keys(knownBugs).sort());
  });
});

function byName(manifest: unknown): Record<string, Schema> {
  const tools = ((manifest as { tools?: Schema[] }).tools ?? []);
  return Object.fromEntries(tools.map((t) => [t.name as string, t]));
}

const isObject = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The operation's JSON success response schema, as the generator chooses it (first 2xx with JSON content). */
function responseSchema(document: Schema, tool: ToolDefinition): unknown {
  const op = ((document.paths as Schema)[tool.operation.path] as Schema | undefined)?.[tool.operation.method.toLowerCase()];
  if (!isObject(op) || !isObject(op.responses)) return null;
  const responses = op.responses;
  for (const code of Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort()) {
    const response = deref(document, responses[code]);
    if (!isObject(response.content)) continue;
    const types = Object.keys(response.content);
    const json = types.find((t) => /^application\/json\b/i.test(t)) ?? types.find((t) => /^application\/[\w.-]+\+json\b/i.test(t));
    const media = json === undefined ? undefined : response.content[json];
    if (isObject(media) && media.schema !== undefined) return media.schema;
  }
  return null;
}

function deref(document: Schema, node: unknown): Schema {
  let cur = node;
  while (isObject(cur) && typeof cur.$ref === 'string') {
    let target: unknown = document;
    for (const key of cur.$ref.slice(2).split('/')) target = isObject(target) ? target[key.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined;
    cur = target;
  }
  return isObject(cur) ? cur : {};
}

/** The outputSchema's schema at a pick path ('fields.summary', 'items[].due'). */
function schemaAtPick(outputSchema: unknown, pick: string): Schema {
  let cur = outputSchema;
  for (const seg of parsePickPath(pick) ?? []) {
    cur = (nonNull(cur).properties as Schema | undefined)?.[seg.key];
    for (let i = 0; i < seg.arrays; i++) cur = nonNull(cur).items;
  }
  if (!isObject(cur)) throw new Error(`outputSchema has nothing at '${pick}'`);
  return cur;
}

/** The object or list branch of `anyOf: [X, {type: null}]`. */
function nonNull(schema: unknown): Schema {
  const s = isObject(schema) ? schema : {};
  if (Array.isArray(s.anyOf)) return nonNull((s.anyOf as Schema[]).find((b) => b.type !== 'null'));
  return s;
}

/** Every value a pick path reaches in an answer. */
function* reach(value: unknown, pick: string): Generator<unknown> {
  const segments = parsePickPath(pick) ?? [];
  function* walk(v: unknown, i: number): Generator<unknown> {
    if (i === segments.length) return yield v;
    const seg = segments[i] as { key: string; arrays: number };
    if (!isObject(v) || !Object.hasOwn(v, seg.key)) return;
    let level: unknown[] = [v[seg.key]];
    for (let a = 0; a < seg.arrays; a++) level = level.flatMap((x) => (Array.isArray(x) ? x : []));
    for (const x of level) yield* walk(x, i + 1);
  }
  yield* walk(value, 0);
}

function holdsAnyPick(answer: unknown, picks: readonly string[]): boolean {
  return picks.some((p) => !reach(answer, p).next().done);
}

/**
 * Every value the pick path reaches in the answer is in the projection, at the same place,
 * unchanged — lists cut to their listCaps.
 */
function keptAt(answer: unknown, projected: unknown, pick: string, listCaps: Readonly<Record<string, number>>): void {
  const segments = parsePickPath(pick) ?? [];
  function walk(a: unknown, p: unknown, i: number, at: string): void {
    if (i === segments.length) {
      const capped = Array.isArray(a) && listCaps[at] !== undefined ? a.slice(0, listCaps[at]) : a;
      if (JSON.stringify(capped) !== JSON.stringify(p)) throw new Error(`'${pick}' changed at ${at}: ${JSON.stringify(capped)} became ${JSON.stringify(p)}`);
      return;
    }
    if (a === null) {
      if (p !== null) throw new Error(`'${pick}': null at ${at} became ${JSON.stringify(p)}`);
      return;
    }
    const seg = segments[i] as { key: string; arrays: number };
    if (!isObject(a) || !Object.hasOwn(a, seg.key)) return;
    if (!isObject(p) || !Object.hasOwn(p, seg.key)) throw new Error(`'${pick}' lost: the answer has '${seg.key}' under ${at || '(the answer)'}, the projection does not`);
    const here = at === '' ? seg.key : `${at}.${seg.key}`;
    descend(a[seg.key], p[seg.key], seg.arrays, here, 0, i);
  }
  function descend(a: unknown, p: unknown, arrays: number, path: string, level: number, i: number): void {
    if (level === arrays || a === null) return walk(a, p, i + 1, `${path}${'[]'.repeat(level)}`);
    if (!Array.isArray(a)) return;
    const here = `${path}${'[]'.repeat(level)}`;
    const expected = listCaps[here] === undefined ? a.length : Math.min(a.length, listCaps[here]);
    if (!Array.isArray(p) || p.length !== expected) throw new Error(`'${pick}': the list at ${here} has ${a.length} elements, the projection ${Array.isArray(p) ? p.length : 'none'} (cap ${listCaps[here] ?? 'none'})`);
    p.forEach((pe, j) => descend(a[j], pe, arrays, path, level + 1, i));
  }
  walk(answer, projected, 0, '');
}
