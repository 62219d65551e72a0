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
  isNullOnly,
  JSON_SCHEMA_FORMATS,
  toJsonSchema,
  type JsonObject,
  type RawSchema,
  type SchemaView,
  type SpecDocument,
} from './schemaView.ts';
import { buildPickTree, type PickNode, type PickTree } from '../tools/pickPath.ts';

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
  /** Picked string leaves with no enum/const/format/pattern: free text from the backend. */
  freeText: string[];
  /** Every array path in the projection (listCaps keys). */
  arrayPaths: string[];
}

export function projectResponse(doc: SpecDocument, root: RawSchema | null, picks: string[], listCaps: Record<string, number>): Projection {
  const problems: ProjectionProblem[] = [];
  const freeText: string[] = [];
  const arrayPaths: string[] = [];
  const built = buildPickTree(picks);
  const tree = built.tree;
  for (const p of built.problems) {
    problems.push({ kind: p.kind === 'overlapping' ? 'PICK_NOT_LEAF' : 'OUTPUT_INVALID', pick: p.pick, message: p.message, specPath: null, fix: p.fix });
  }

  if (root === null) {
    for (const pick of picks) {
      problems.push({ kind: 'PICK_NOT_IN_RESPONSE', pick, message: `pick path '${pick}' is not in the response: the operation's success response has no JSON body`, specPath: null, fix: 'remove the pick list, or pick from an operation that returns JSON' });
    }
    return { schema: { type: 'object', properties: {} }, problems, freeText, arrayPaths };
  }

  const ctx: Ctx = { doc, listCaps, problems, freeText, arrayPaths };
  const view = doc.view(root, WALK);
  const schema = projectObject(ctx, view, tree, '');
  // The root is always an object: MCP structuredContent must be one.
  schema.type = 'object';
  return { schema, problems, freeText, arrayPaths };
}

interface Ctx {
  doc: SpecDocument;
  listCaps: Record<string, number>;
  problems: ProjectionProblem[];
  freeText: string[];
  arrayPaths: string[];
}

function nullable(v: SchemaView): boolean {
  return (v.types?.has('null') ?? false) || v.altGroups.some((g) => g.some(isNullOnly));
}

/** Alternatives for one property of an object view; empty when no branch has it. */
function findProperty(doc: SpecDocument, v: SchemaView, name: string): SchemaView[] {
  const own = v.props.get(name);
  if (own !== undefined) return [doc.viewAll(own, WALK)];
  for (const group of v.altGroups) {
    const alts: SchemaView[] = [];
    for (const branch of group) if (!isNullOnly(branch)) alts.push(...findProperty(doc, branch, name));
    if (alts.length > 0) return alts;
  }
  return [];
}

function propertyNames(v: SchemaView): string[] {
  const names = new Set(v.props.keys());
  for (const g of v.altGroups) for (const b of g) for (const n of propertyNames(b)) names.add(n);
  return [...names];
}

function projectObject(ctx: Ctx, v: SchemaView, children: PickTree, prefix: string): JsonObject {
  const properties: JsonObject = {};
  for (const [name, node] of children) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    const found = findProperty(ctx.doc, v, name);
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
    const local: Ctx = { ...ctx, problems: [], freeText: [], arrayPaths: [] };
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
  if (node.children.size > 0) {
    if (!admitsObject(cur) && cur.altGroups.length === 0) {
      ctx.problems.push({ kind: 'PICK_NOT_IN_RESPONSE', pick: node.example, message: `pick path '${node.example}': '${curPath}' is not an object`, specPath: cur.loc, fix: `end the path at '${curPath}'` });
      return null;
    }
    inner = projectObject(ctx, cur, node.children, curPath);
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

function capFor(ctx: Ctx, arrayPath: string, pick: string, loc: string): number | null {
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
    const fields = propertyNames(v);
    ctx.problems.push({
      kind: 'PICK_NOT_LEAF',
      pick,
      message: `pick path '${pick}' reaches ${why}; only scalars and lists of scalars can be picked`,
      specPath: v.loc,
      fix: fields.length > 0 ? `pick its fields instead, e.g. '${pick}.${fields[0]}'` : 'pick a scalar field, or leave it out',
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
  if (admitsString && !constrained(target)) ctx.freeText.push(pick);
  return schema;
}
