// Output projection: checks each `pick` path against the response schema and builds the schema of
// the projected shape (the tool's outputSchema).
//
// Path grammar: src/tools/pickPath.ts (shared with the runtime projection). A path must end at a leaf — a scalar, or a list of
// scalars — so a field the backend adds later to a picked object can never leak out unreviewed.
// Through allOf a property is found in any member; through oneOf/anyOf a path is valid if any
// branch has it. The projected schema lists no `required`: projection never invents a field, and
// a backend that omits one must not make an MCP client reject the whole result.

import {
  admitsArray,
  admitsObject,
  isFreeForm,
  isObject,
  isNullOnly,
  JSON_SCHEMA_FORMATS,
  toJsonSchema,
  type JsonObject,
  type RawSchema,
  type SchemaView,
  type SpecDocument,
} from './schemaView.ts';
import { buildPickTree, type PickNode, type PickTree } from '../tools/pickPath.ts';
import { DECLARED_TYPE_HINT, declaredTypeSchema } from './declaredTypes.ts';
import { isHumanFreeText } from './freeText.ts';

const WALK = { strict: false };

export interface ProjectionProblem {
  kind: 'PICK_NOT_IN_RESPONSE' | 'PICK_NOT_LEAF' | 'OUTPUT_INVALID';
  pick: string;
  message: string;
  specPath: string | null;
  fix: string;
}

export interface Projection {
  schema: JsonObject;
  problems: ProjectionProblem[];
  /** Picked string leaves with no enum/const/format/pattern and a name not of a machine value (freeText.ts): human-written text from the backend. */
  freeText: string[];
  /** Every array path in the projection (listCaps keys). */
  arrayPaths: string[];
  /** Picked properties the spec marks required in their object, as pick-tree paths ('items[].key'). */
  required: string[];
}

export interface ProjectOptions {
  /** Pick path → declared type (manifest `output.types`), for values the spec leaves open. */
  declared?: Readonly<Record<string, string>>;
  /** Why there is no root schema, for messages: the spec has none, or the manifest ignores it. */
  noRootReason?: string;
}

export function projectResponse(doc: SpecDocument, root: RawSchema | null, picks: string[], listCaps: Record<string, number>, options: ProjectOptions = {}): Projection {
  const problems: ProjectionProblem[] = [];
  const freeText: string[] = [];
  const arrayPaths: string[] = [];
  const required: string[] = [];
  const built = buildPickTree(picks);
  const tree = built.tree;
  for (const p of built.problems) {
    problems.push({ kind: p.kind === 'overlapping' ? 'PICK_NOT_LEAF' : 'OUTPUT_INVALID', pick: p.pick, message: p.message, specPath: null, fix: p.fix });
  }

  const declared = options.declared ?? {};
  const ctx: Ctx = { doc, listCaps, problems, freeText, arrayPaths, required, declared, used: new Set() };
  let schema: JsonObject;
  if (root === null) {
    const why = options.noRootReason ?? "the operation's success response declares no JSON body";
    schema = declaredObject(ctx, tree, '', why);
  } else {
    schema = projectObject(ctx, doc.view(root, WALK), tree, '');
  }
  // The root is always an object: MCP structuredContent must be one.
  schema.type = 'object';
  for (const [path] of Object.entries(declared)) {
    if (!ctx.used.has(path) && picks.includes(path)) {
      problems.push({ kind: 'OUTPUT_INVALID', pick: path, message: `output.types declares '${path}', which the spec already types`, specPath: null, fix: `remove '${path}' from output.types (or set \`responseShape: declared\` if the spec's response schema is wrong)` });
    } else if (!picks.includes(path)) {
      problems.push({ kind: 'OUTPUT_INVALID', pick: path, message: `output.types declares '${path}', which is not in pick`, specPath: null, fix: `add '${path}' to pick, or remove it from output.types` });
    }
  }
  return { schema, problems, freeText, arrayPaths, required: [...new Set(required)].sort() };
}

interface Ctx {
  doc: SpecDocument;
  listCaps: Record<string, number>;
  problems: ProjectionProblem[];
  freeText: string[];
  arrayPaths: string[];
  required: string[];
  declared: Readonly<Record<string, string>>;
  /** Declarations that were needed. */
  used: Set<string>;
}

/** An object the spec leaves open (free-form, or no schema at all): every pick below it is declared. */
function declaredObject(ctx: Ctx, children: PickTree, prefix: string, why: string): JsonObject {
  const properties: JsonObject = {};
  for (const [name, node] of children) {
    const schema = declaredValue(ctx, node, prefix === '' ? name : `${prefix}.${name}`, why);
    if (schema !== null) properties[name] = schema;
  }
  // Below the root, an object on a declared path may be null (an unassigned `assignee` in a
  // free-form `fields` map): the spec says nothing about it, so Deputy must not assume more.
  return { type: prefix === '' ? 'object' : ['object', 'null'], properties };
}

function declaredValue(ctx: Ctx, node: PickNode, path: string, why: string): JsonObject | null {
  let inner: JsonObject | null;
  let curPath = path;
  const caps: number[] = [];
  for (let i = 0; i < node.arrays; i++) {
    const cap = capFor(ctx, curPath, node.example, null);
    if (cap === null) return null;
    caps.push(cap);
    curPath = `${curPath}[]`;
  }
  if (node.children.size > 0) {
    inner = declaredObject(ctx, node.children, curPath, why);
  } else {
    const pick = node.pick ?? node.example;
    const text = ctx.declared[pick];
    const schema = text === undefined ? null : declaredTypeSchema(text);
    if (schema === null) {
      ctx.problems.push({
        kind: 'PICK_NOT_IN_RESPONSE',
        pick,
        message: text === undefined ? `pick path '${pick}' cannot be checked: ${why}` : `output.types '${pick}: ${text}' is not a type Deputy knows`,
        specPath: null,
        fix: `declare its type in the manifest: \`output: { types: { '${pick}': string } }\` (${DECLARED_TYPE_HINT})`,
      });
      return null;
    }
    ctx.used.add(pick);
    if (schema.items !== undefined) {
      const cap = capFor(ctx, curPath, pick, null);
      if (cap === null) return null;
      schema.maxItems = cap;
    }
    if (text !== undefined && /\bstring\b/.test(text) && isHumanFreeText(pick)) ctx.freeText.push(pick);
    inner = schema;
  }
  for (let i = caps.length - 1; i >= 0; i--) inner = { type: 'array', items: inner, maxItems: caps[i] };
  return inner;
}

/** An object whose properties the spec does not list: a free-form map (`additionalProperties: {}` or unsaid). */
function isOpenObject(v: SchemaView): boolean {
  if (isFreeForm(v)) return true;
  return admitsObject(v) && v.props.size === 0 && v.altGroups.length === 0 && (v.additionalProperties === undefined || v.additionalProperties === true || (typeof v.additionalProperties === 'object' && isFreeFormRaw(v.additionalProperties)));
}

function isFreeFormRaw(raw: RawSchema): boolean {
  const s = raw.schema;
  return s === true || (isObject(s) && Object.keys(s).every((k) => k === 'description' || k === 'title'));
}

function nullable(v: SchemaView): boolean {
  return (v.types?.has('null') ?? false) || v.altGroups.some((g) => g.some(isNullOnly));
}

/** Alternatives for one property of an object view; empty when no branch has it. */
function findProperty(doc: SpecDocument, v: SchemaView, name: string): SchemaView[] {
  const own = v.props.get(name);
  if (own !== undefined) {
    const view = doc.viewAll(own, WALK);
    // writeOnly: sent to the backend, never returned by it (a password, a secret answer).
    return view.kw.writeOnly === true ? [] : [view];
  }
  for (const group of v.altGroups) {
    const alts: SchemaView[] = [];
    for (const branch of group) if (!isNullOnly(branch)) alts.push(...findProperty(doc, branch, name));
    if (alts.length > 0) return alts;
  }
  return [];
}

function propertyNames(v: SchemaView): string[] {
  const names = new Set([...v.props].filter(([, raws]) => !raws.some((r) => (r.schema as { writeOnly?: unknown } | null)?.writeOnly === true)).map(([n]) => n));
  for (const g of v.altGroups) for (const b of g) for (const n of propertyNames(b)) names.add(n);
  return [...names];
}

function projectObject(ctx: Ctx, v: SchemaView, children: PickTree, prefix: string): JsonObject {
  if (isOpenObject(v)) {
    const out = declaredObject(ctx, children, prefix, `${prefix === '' ? 'the response' : `'${prefix}'`} is a free-form map in the spec (${v.loc})`);
    // The map itself is the spec's: nullable only if the spec says so.
    out.type = nullable(v) ? ['object', 'null'] : 'object';
    return out;
  }
  const properties: JsonObject = {};
  for (const [name, node] of children) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    const found = findProperty(ctx.doc, v, name);
    // A map whose values the spec types (`additionalProperties: {type: string}`): any key is one of them.
    if (found.length === 0 && typeof v.additionalProperties === 'object' && !isFreeFormRaw(v.additionalProperties)) found.push(ctx.doc.view(v.additionalProperties, WALK));
    if (found.length === 0) {
      const available = propertyNames(v);
      ctx.problems.push({
        kind: 'PICK_NOT_IN_RESPONSE',
        pick: node.example,
        message: `pick path '${node.example}' is not in the response schema: '${name}' is not a property${prefix === '' ? '' : ` of '${prefix}'`}`,
        specPath: v.loc,
        fix: available.length > 0 ? `use one of: ${available.slice(0, 20).join(', ')}` : 'remove the path; this schema declares no properties',
      });
      continue;
    }
    const schema = projectAlternatives(ctx, found, node, path);
    if (schema !== null) properties[name] = schema;
    if (schema !== null && v.required.has(name)) ctx.required.push(path);
  }
  const out: JsonObject = { type: nullable(v) ? ['object', 'null'] : 'object' };
  out.properties = properties;
  return out;
}

/** A path is valid if any alternative has it; distinct projected shapes become anyOf. */
function projectAlternatives(ctx: Ctx, alts: SchemaView[], node: PickNode, path: string): JsonObject | null {
  const results: JsonObject[] = [];
  let firstProblems: ProjectionProblem[] | null = null;
  for (const alt of alts) {
    const local: Ctx = { ...ctx, problems: [], freeText: [], arrayPaths: [], required: [] };
    const schema = projectValue(local, alt, node, path);
    if (local.problems.length === 0 && schema !== null) {
      results.push(schema);
      for (const f of local.freeText) if (!ctx.freeText.includes(f)) ctx.freeText.push(f);
      for (const a of local.arrayPaths) if (!ctx.arrayPaths.includes(a)) ctx.arrayPaths.push(a);
    } else firstProblems ??= local.problems;
  }
  if (results.length === 0) {
    ctx.problems.push(...(firstProblems ?? []));
    return null;
  }
  const distinct = [...new Map(results.map((r) => [JSON.stringify(r), r])).values()];
  return distinct.length === 1 ? (distinct[0] as JsonObject) : { anyOf: distinct };
}

function projectValue(ctx: Ctx, v: SchemaView, node: PickNode, path: string): JsonObject | null {
  const wrappers: { cap: number; nullable: boolean }[] = [];
  let cur = v;
  let curPath = path;
  for (let i = 0; i < node.arrays; i++) {
    if (!admitsArray(cur) || cur.items.length === 0) {
      ctx.problems.push({ kind: 'PICK_NOT_IN_RESPONSE', pick: node.example, message: `pick path '${node.example}': '${curPath}' is not a list`, specPath: cur.loc, fix: `drop the '[]' after '${curPath}'` });
      return null;
    }
    const cap = capFor(ctx, curPath, node.example, cur.loc);
    if (cap === null) return null;
    wrappers.push({ cap, nullable: nullable(cur) });
    cur = ctx.doc.viewAll(cur.items, WALK);
    curPath = `${curPath}[]`;
  }
  let inner: JsonObject | null;
  if (node.children.size === 0 && (isFreeForm(cur) || (admitsArray(cur) && (cur.items.length === 0 || isFreeForm(ctx.doc.viewAll(cur.items, WALK)))))) {
    // Any JSON in the spec: usable only with a type the manifest declares.
    inner = declaredValue(ctx, { ...node, arrays: 0 }, curPath, `'${curPath}' is a free-form value in the spec (${cur.loc})`);
  } else if (node.children.size > 0) {
    if (!admitsObject(cur) && cur.altGroups.length === 0 && !isFreeForm(cur)) {
      ctx.problems.push({ kind: 'PICK_NOT_IN_RESPONSE', pick: node.example, message: `pick path '${node.example}': '${curPath}' is not an object`, specPath: cur.loc, fix: `end the path at '${curPath}'` });
      return null;
    }
    inner = withScalarAlternatives(ctx, cur, projectObject(ctx, cur, node.children, curPath));
  } else {
    inner = projectLeaf(ctx, cur, node.pick ?? node.example, curPath);
  }
  if (inner === null) return null;
  for (let i = wrappers.length - 1; i >= 0; i--) {
    const w = wrappers[i] as (typeof wrappers)[number];
    const arr: JsonObject = { type: w.nullable ? ['array', 'null'] : 'array' };
    arr.items = inner;
    arr.maxItems = w.cap;
    inner = arr;
  }
  return inner;
}

function capFor(ctx: Ctx, arrayPath: string, pick: string, loc: string | null): number | null {
  if (!ctx.arrayPaths.includes(arrayPath)) ctx.arrayPaths.push(arrayPath);
  const cap = ctx.listCaps[arrayPath];
  if (cap === undefined) {
    ctx.problems.push({ kind: 'OUTPUT_INVALID', pick, message: `list '${arrayPath}' (picked by '${pick}') has no listCaps entry`, specPath: loc, fix: `add \`listCaps: { '${arrayPath}': <max items> }\`` });
    return null;
  }
  return cap;
}

/** Why a value is not a leaf (null when it is one): leaves are scalars or lists of scalars. */
function notLeaf(ctx: Ctx, v: SchemaView, depth = 0): string | null {
  if (isFreeForm(v)) return 'a free-form value (any JSON)';
  if (admitsObject(v)) return 'an object';
  if (admitsArray(v)) {
    if (depth > 0) return 'a list of lists';
    if (v.items.length === 0) return 'a list of free-form values';
    const itemsProblem = notLeaf(ctx, ctx.doc.viewAll(v.items, WALK), depth + 1);
    if (itemsProblem !== null) return `a list of ${itemsProblem.replace(/^an? /, '')}s`;
  }
  for (const g of v.altGroups) for (const b of g) {
    const p = notLeaf(ctx, b, depth);
    if (p !== null) return p;
  }
  return null;
}

function projectLeaf(ctx: Ctx, v: SchemaView, pick: string, path: string): JsonObject | null {
  const why = notLeaf(ctx, v);
  if (why !== null) {
    ctx.problems.push({
      kind: 'PICK_NOT_LEAF',
      pick,
      message: `pick path '${pick}' reaches ${why}; only scalars and lists of scalars can be picked`,
      specPath: v.loc,
      fix: leafFix(ctx, v, pick),
    });
    return null;
  }
  let schema: JsonObject;
  try {
    schema = toJsonSchema(ctx.doc, v, 'output');
  } catch (err) {
    ctx.problems.push({ kind: 'PICK_NOT_LEAF', pick, message: `pick path '${pick}' reaches a recursive schema (${(err as Error).message})`, specPath: v.loc, fix: 'pick scalar fields inside it' });
    return null;
  }
  if (admitsArray(v)) {
    const cap = capFor(ctx, path, pick, v.loc);
    if (cap === null) return null;
    schema.maxItems = cap;
  }
  const admitsString = v.types === null || v.types.has('string') || (admitsArray(v) && ctx.doc.viewAll(v.items, WALK).types?.has('string') === true);
  const constrained = (x: SchemaView) => x.kw.enum !== undefined || x.kw.const !== undefined || (typeof x.kw.format === 'string' && JSON_SCHEMA_FORMATS.has(x.kw.format)) || x.kw.pattern !== undefined;
  const target = admitsArray(v) ? ctx.doc.viewAll(v.items, WALK) : v;
  if (admitsString && !constrained(target) && isHumanFreeText(pick)) ctx.freeText.push(pick);
  return schema;
}

/**
 * Where to go instead of a non-leaf: into its fields, into its list's items, or — for any
 * JSON — a declared type. Each suggestion is a path that can compile, so hints never loop.
 */
function leafFix(ctx: Ctx, v: SchemaView, pick: string): string {
  const fields = propertyNames(v);
  if (fields.length > 0) return `pick its fields instead, e.g. '${pick}.${fields[0]}'`;
  if (admitsArray(v) && v.items.length > 0) {
    const items = ctx.doc.viewAll(v.items, WALK);
    const itemFields = propertyNames(items);
    if (itemFields.length > 0) return `pick fields of its items instead, e.g. '${pick}[].${itemFields[0]}' (with a listCaps entry for '${pick}')`;
    if (isFreeForm(items)) return `declare the items' type: \`output: { types: { '${pick}': string[] } }\` (${DECLARED_TYPE_HINT})`;
  }
  if (isFreeForm(v) || isOpenObject(v)) return `pick keys inside it with declared types, e.g. pick '${pick}.someKey' and \`output: { types: { '${pick}.someKey': string } }\``;
  return 'leave it out';
}

/**
 * Fields picked from a value the spec allows to be a scalar as well (`oneOf: [string, object]`):
 * the scalar branches are advertised next to the projected object, since the runtime passes a
 * scalar through (it carries no unreviewed fields).
 */
function withScalarAlternatives(ctx: Ctx, v: SchemaView, object: JsonObject): JsonObject {
  const scalars = new Set<string>();
  for (const group of v.altGroups) {
    for (const branch of group) {
      if (isNullOnly(branch) || admitsObject(branch) || admitsArray(branch) || branch.types === null) continue;
      for (const t of branch.types) if (t !== 'null') scalars.add(t);
    }
  }
  if (scalars.size === 0) return object;
  return { anyOf: [object, ...[...scalars].sort().map((t) => ({ type: t }))] };
}
