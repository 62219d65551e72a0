// Outputs that never lie (src/README.md, D15): what the generator makes of each response shape
// met in real specs, the types a manifest declares where the spec is silent, and the rule that
// the advertised outputSchema carries structure only.

import { describe, expect, it } from 'vitest';
import { compileTools } from '../../src/codegen/compile.ts';
import type { JsonObject } from '../../src/codegen/schemaView.ts';
import { compileOutputCheck } from '../../src/tools/checkOutput.ts';
import { compilePick, projectOutput } from '../../src/tools/projectOutput.ts';

const obj = (properties: JsonObject, extra: JsonObject = {}) => ({ type: 'object', properties, ...extra });
const str = { type: 'string' };

function specWith(response: JsonObject | null, openapi = '3.1.0'): JsonObject {
  const ok = response === null ? { description: 'ok' } : { description: 'ok', content: { 'application/json': { schema: response } } };
  return { openapi, info: { title: 't', version: '1' }, paths: { '/things': { get: { operationId: 'listThings', responses: { '200': ok } } } } };
}

function compile(response: JsonObject | null, output: JsonObject, openapi?: string) {
  return compileTools({
    spec: specWith(response, openapi),
    manifest: { version: 1, tools: [{ name: 'listThings', operation: 'listThings', title: 'List things', risk: 'read', description: 'Lists things.', output }] },
  });
}

const anyOfItems = obj({ things: { type: 'array', items: { anyOf: [obj({ id: str, size: { type: 'integer' } }), obj({ id: str, name: str })] } } });

describe('response shapes → outputSchema', () => {
  it.each<[string, { response: JsonObject | null; output: JsonObject; openapi?: string; want: JsonObject }]>([
    ['items: anyOf without a type, a field of either branch', { response: anyOfItems, output: { pick: ['things[].id', 'things[].name'], listCaps: { things: 5 } }, want: obj({ things: { type: 'array', maxItems: 5, items: obj({ id: str, name: str }) } }) }],
    ['an untyped list of anyOf scalars', { response: obj({ tags: { items: { anyOf: [str, { type: 'integer' }] } } }), output: { pick: ['tags'], listCaps: { tags: 3 } }, want: obj({ tags: { type: 'array', maxItems: 3, items: { anyOf: [str, { type: 'integer' }] } } }) }],
    ['a nullable object through oneOf [X, null]', { response: obj({ owner: { oneOf: [obj({ login: str }), { type: 'null' }] } }), output: { pick: ['owner.login'] }, want: obj({ owner: { type: ['object', 'null'], properties: { login: str } } }) }],
    ['a 3.0 nullable scalar', { response: obj({ due: { type: 'string', nullable: true } }), output: { pick: ['due'] }, openapi: '3.0.3', want: obj({ due: { type: ['string', 'null'] } }) }],
    ['a nullable reference (OpenAPI 3.0: nullable beside allOf, no type of its own)', { response: obj({ owner: { nullable: true, allOf: [obj({ name: str })] } }), output: { pick: ['owner.name'] }, openapi: '3.0.3', want: obj({ owner: { type: ['object', 'null'], properties: { name: str } } }) }],
    ['fields of list items that may also be plain strings (oneOf [string, object])', { response: obj({ labels: { type: 'array', items: { oneOf: [str, obj({ name: str })] } } }), output: { pick: ['labels[].name'], listCaps: { labels: 5 } }, want: obj({ labels: { type: 'array', maxItems: 5, items: { anyOf: [obj({ name: str }), str] } } }) }],
    ['allOf members merged', { response: { allOf: [obj({ a: str }), { properties: { b: { type: 'integer' } } }] }, output: { pick: ['a', 'b'] }, want: obj({ a: str, b: { type: 'integer' } }) }],
    ['lists of lists, each level capped', { response: obj({ rows: { type: 'array', items: { type: 'array', items: { type: 'number' } } } }), output: { pick: ['rows[][]'], listCaps: { rows: 10, 'rows[]': 4 } }, want: obj({ rows: { type: 'array', maxItems: 10, items: { type: 'array', maxItems: 4, items: { type: 'number' } } } }) }],
    ['a key of a map whose values the spec types', { response: obj({ labels: { type: 'object', additionalProperties: str } }), output: { pick: ['labels.team'] }, want: obj({ labels: obj({ team: str }) }) }],
    ['a key of a free-form map, with a declared type', { response: obj({ records: { type: 'array', items: obj({ id: str, fields: { type: 'object', additionalProperties: {} } }) } }), output: { pick: ['records[].id', 'records[].fields.summary', 'records[].fields.points'], types: { 'records[].fields.summary': 'string', 'records[].fields.points': 'number | null' }, listCaps: { records: 20 } }, want: obj({ records: { type: 'array', maxItems: 20, items: obj({ id: str, fields: obj({ summary: str, points: { type: ['number', 'null'] } }) }) } }) }],
    ['a free-form value, with a declared list type', { response: obj({ extra: {} }), output: { pick: ['extra'], types: { extra: 'string[]' }, listCaps: { extra: 5 } }, want: obj({ extra: { type: 'array', items: str, maxItems: 5 } }) }],
    ['a free-form value that may be any of a few scalar kinds (a flag value)', { response: obj({ value: {} }), output: { pick: ['value'], types: { value: 'boolean | string | number | null' } }, want: obj({ value: { type: ['boolean', 'string', 'number', 'null'] } }) }],
    ['no response body in the spec, every pick declared', { response: null, output: { pick: ['id', 'owner.name'], types: { id: 'integer', 'owner.name': 'string' } }, want: obj({ id: { type: 'integer' }, owner: { type: ['object', 'null'], properties: { name: str } } }) }],
    ['a wrong spec schema replaced by declared list items', { response: obj({ nothing: str }), output: { responseShape: 'declared-list', pick: ['items[].id'], types: { 'items[].id': 'string' }, listCaps: { items: 10 } }, want: obj({ items: { type: 'array', maxItems: 10, items: { type: ['object', 'null'], properties: { id: str } } } }) }],
    ['format, enum, pattern, bounds and required are never advertised', { response: obj({ day: { type: 'string', format: 'date', pattern: '^\\d' }, state: { type: 'string', enum: ['a', 'b'] }, n: { type: 'integer', minimum: 1, maximum: 9 }, kind: { enum: ['x', 1.5] } }, { required: ['day'] }), output: { pick: ['day', 'state', 'n', 'kind'] }, want: obj({ day: str, state: str, n: { type: 'integer' }, kind: { type: ['number', 'string'] } }) }],
  ])('%s', (_name, { response, output, openapi, want }) => {
    const result = compile(response, output, openapi);
    expect(result.errors).toEqual([]);
    expect(result.tools[0]?.outputSchema).toEqual(want);
  });
});

describe('outputs that cannot be generated, each with a fix that compiles', () => {
  it.each<[string, { response: JsonObject | null; output: JsonObject; message: RegExp; fix: RegExp }]>([
    ['nothing picked', { response: obj({ id: str }), output: { pick: [] }, message: /output\.pick is empty/, fix: /list the response fields/ }],
    ['nothing picked, no body either', { response: null, output: {}, message: /output\.pick is empty/, fix: /types: \{ id: string \}/ }],
    ['a free-form key without a declared type', { response: obj({ fields: { type: 'object', additionalProperties: {} } }), output: { pick: ['fields.summary'] }, message: /'fields\.summary' cannot be checked: 'fields' is a free-form map/, fix: /output: \{ types: \{ 'fields\.summary': string \} \}/ }],
    ['a pick from an operation with no response body', { response: null, output: { pick: ['id'] }, message: /'id' cannot be checked: the operation's success response declares no JSON body/, fix: /types: \{ 'id': string \}/ }],
    ['a declared type Deputy does not know', { response: null, output: { pick: ['id'], types: { id: 'uuid' } }, message: /'id: uuid' is not a type Deputy knows/, fix: /'string', 'integer'/ }],
    ['a declared union that repeats a type', { response: null, output: { pick: ['id'], types: { id: 'string | string' } }, message: /'id: string \| string' is not a type Deputy knows/, fix: /'boolean \| string \| number'/ }],
    ['a declared list of a union', { response: null, output: { pick: ['id'], types: { id: 'string[] | number' } }, message: /is not a type Deputy knows/, fix: /output: \{ types:/ }],
    ['a declaration the spec makes unnecessary', { response: obj({ id: str }), output: { pick: ['id'], types: { id: 'string' } }, message: /declares 'id', which the spec already types/, fix: /remove 'id' from output.types/ }],
    ['a declaration for a path not picked', { response: null, output: { pick: ['id'], types: { id: 'string', other: 'string' } }, message: /declares 'other', which is not in pick/, fix: /add 'other' to pick/ }],
    ['a whole list of objects', { response: anyOfItems, output: { pick: ['things'], listCaps: { things: 5 } }, message: /reaches a list of objects/, fix: /'things\[\]\.id'/ }],
    ['a writeOnly field (the backend never returns it)', { response: obj({ id: str, pin: { type: 'string', writeOnly: true } }), output: { pick: ['pin'] }, message: /'pin' is not a property/, fix: /use one of: id$/ }],
    ['a field that is in no anyOf branch', { response: anyOfItems, output: { pick: ['things[].colour'], listCaps: { things: 5 } }, message: /'colour' is not a property/, fix: /use one of: id, size, name|use one of/ }],
  ])('%s', (_name, { response, output, message, fix }) => {
    const result = compile(response, output);
    expect(result.tools).toEqual([]);
    expect(result.errors.map((e) => e.message).join('\n')).toMatch(message);
    expect(result.errors.map((e) => e.fix).join('\n')).toMatch(fix);
  });

  it('the suggested path for a whole list of objects compiles', () => {
    const first = compile(anyOfItems, { pick: ['things'], listCaps: { things: 5 } });
    const suggested = /'(things\[\]\.\w+)'/.exec(first.errors[0]?.fix ?? '')?.[1];
    expect(suggested).toBeDefined();
    expect(compile(anyOfItems, { pick: [suggested], listCaps: { things: 5 } }).errors).toEqual([]);
  });
});

describe('declared types at run time', () => {
  const result = compile(obj({ records: { type: 'array', items: obj({ fields: { type: 'object', additionalProperties: true } }) } }), {
    pick: ['records[].fields.summary'],
    types: { 'records[].fields.summary': 'string' },
    listCaps: { records: 5 },
  });
  const tool = result.tools[0]!;
  const check = compileOutputCheck(tool.outputSchema);
  const project = (body: unknown) => projectOutput(body, compilePick(tool.output.pick), tool.output.listCaps).value;

  it('projects the declared key out of the free-form map and nothing else', () => {
    const value = project({ records: [{ fields: { summary: 'Renew in May', ssn: '078-05-1120' } }] });
    expect(value).toEqual({ records: [{ fields: { summary: 'Renew in May' } }] });
    expect(check(value)).toBeNull();
  });

  it('refuses a value that breaks the declared type', () => {
    const value = project({ records: [{ fields: { summary: { nested: 'object' } } }] });
    expect(check(value)).toMatchObject({ at: 'records[].fields.summary', expected: 'a string', got: 'an object' });
  });
});

describe('"not marked untrusted" only for human-written free text', () => {
  it.each([
    ['title', true],
    ['items[].body', true],
    ['lastMessage', true],
    ['records[].fields.summary', true],
    ['description', true],
    ['id', false],
    ['items[].customerId', false],
    ['node_id', false],
    ['nextCursor', false],
    ['createdAt', false],
    ['updated_at', false],
    ['html_url', false],
    ['status', false],
    ['plan.type', false],
    ['email', false],
    ['sha', false],
  ])('%s → %s', (pick, warned) => {
    const leaf = pick.replace(/\[\]/g, '').split('.');
    // Build a response that has the path, every leaf an unconstrained string.
    let schema: JsonObject = str;
    for (let i = leaf.length - 1; i >= 0; i--) {
      const inList = pick.split('.')[i]?.endsWith('[]') === true;
      const child = obj({ [leaf[i] as string]: schema });
      schema = i === 0 ? child : inList ? { type: 'array', items: child } : child;
      if (i > 0 && pick.split('.')[i - 1]?.endsWith('[]')) schema = { type: 'array', items: child };
    }
    const listCaps = Object.fromEntries(pick.split('.').flatMap((seg, i, all) => (seg.endsWith('[]') ? [[all.slice(0, i + 1).join('.').replace(/\[\]$/, ''), 5]] : [])));
    const result = compile(schema, { pick: [pick], listCaps });
    expect(result.errors).toEqual([]);
    expect(result.warnings.some((w) => w.message.includes(`free-text field '${pick}'`))).toBe(warned);
  });
});
