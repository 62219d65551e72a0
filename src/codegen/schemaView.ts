// Reading schemas out of a bundled OpenAPI 3.0/3.1 document.
//
// The bundle (from @redocly/openapi-core) keeps `$ref`s as local pointers, so cycles stay finite
// and we only ever touch the schemas a tool names — which is what keeps `generate` fast on 13 MB
// specs. A SchemaView is one schema "flattened one level": `$ref` followed, `allOf` merged,
// OpenAPI 3.0 `nullable` turned into a 'null' type, `oneOf`/`anyOf` kept as alternatives.
// Properties and items stay raw until someone descends into them.

import { INPUT_VALUE_KEYWORDS, tighterBound, VALUE_KEYWORDS, type ValueKeyword } from './jsonSchemaKeywords.ts';

export type Json = unknown;
export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A raw schema plus where it lives, in dotted form ('components.schemas.Draft.properties.title'). */
export interface RawSchema {
  schema: Json;
  loc: string;
  /** `$ref`s on the way down from the root to this schema (through properties and items). */
  ancestry?: ReadonlySet<string>;
}

export interface ViewOptions {
  /**
   * Refuse a `$ref` that is already an ancestor (a recursive type). Materializing a schema
   * needs this; walking one pick path does not (the path itself is finite).
   */
  strict: boolean;
}

const NO_REFS: ReadonlySet<string> = new Set();

export interface SchemaView {
  /** Where the schema (after following `$ref`) is defined. */
  loc: string;
  /** Allowed JSON types, 'null' included when nullable; null means unconstrained. */
  types: Set<string> | null;
  /** Properties, each possibly defined by several allOf members. */
  props: Map<string, RawSchema[]>;
  required: Set<string>;
  /** undefined = not said (allowed), a boolean, or a RawSchema. */
  additionalProperties: boolean | RawSchema | undefined;
  hasPatternProperties: boolean;
  items: RawSchema[];
  /** Each group is one oneOf/anyOf: the value matches at least one branch of every group. */
  altGroups: SchemaView[][];
  kw: Partial<Record<ValueKeyword, Json>>;
}

export class SchemaCycleError extends Error {
  constructor(readonly ref: string) {
    super(`schema cycle through ${ref}`);
  }
}

/** '#/components/schemas/Draft' → 'components.schemas.Draft'. */
export function pointerToLoc(ref: string): string {
  return ref
    .replace(/^#\/?/, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

export class SpecDocument {
  constructor(readonly root: JsonObject) {}

  /** Follows one local JSON pointer. Throws on anything else (the bundle has only local refs). */
  resolvePointer(ref: string): Json {
    if (!ref.startsWith('#')) throw new Error(`unresolved external $ref '${ref}'`);
    let node: Json = this.root;
    const parts = ref.replace(/^#\/?/, '');
    if (parts === '') return node;
    for (const raw of parts.split('/')) {
      const key = decodeURIComponent(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
      if (Array.isArray(node)) node = node[Number(key)];
      else if (isObject(node)) node = node[key];
      else node = undefined;
      if (node === undefined) throw new Error(`$ref '${ref}' points nowhere`);
    }
    return node;
  }

  /** Follows `$ref` chains for non-schema objects (parameters, bodies, responses); siblings win. */
  deref(node: Json, loc: string): { node: Json; loc: string } {
    const seen = new Set<string>();
    while (isObject(node) && typeof node.$ref === 'string') {
      const ref = node.$ref;
      if (seen.has(ref)) throw new SchemaCycleError(ref);
      seen.add(ref);
      const { $ref: _ignored, ...siblings } = node;
      const target = this.resolvePointer(ref);
      loc = pointerToLoc(ref);
      node = isObject(target) ? { ...target, ...siblings } : target;
    }
    return { node, loc };
  }

  /**
   * Flattens one schema level. `structural` holds refs expanded without descending into a
   * property (allOf/oneOf/$ref chains): a repeat there can never terminate, so it always throws.
   */
  view(raw: RawSchema, opts: ViewOptions, structural: ReadonlySet<string> = NO_REFS): SchemaView {
    const { schema, loc } = raw;
    const ancestry = raw.ancestry ?? NO_REFS;
    const v = emptyView(loc);
    if (schema === false) {
      v.types = new Set();
      return v;
    }
    if (!isObject(schema)) return v;

    if (typeof schema.$ref === 'string') {
      const ref = schema.$ref;
      if (structural.has(ref) || (opts.strict && ancestry.has(ref))) throw new SchemaCycleError(ref);
      const inner = new Set(structural).add(ref);
      const below = new Set(ancestry).add(ref);
      const { $ref: _ignored, ...siblings } = schema;
      const target = this.view({ schema: this.resolvePointer(ref), loc: pointerToLoc(ref), ancestry: below }, opts, inner);
      if (Object.keys(siblings).length === 0) return target;
      // OpenAPI 3.1: $ref with siblings behaves like allOf; sibling annotations take precedence.
      const own = this.view({ schema: siblings, loc, ancestry }, opts, inner);
      return nullableRef(siblings, mergeViews(own, target));
    }

    if (typeof schema.type === 'string') v.types = new Set([schema.type]);
    else if (Array.isArray(schema.type)) v.types = new Set(schema.type.filter((t) => typeof t === 'string'));
    // OpenAPI 3.0 `nullable: true` (ignored without `type`, as 3.0 specifies).
    if (schema.nullable === true && v.types !== null) v.types.add('null');

    for (const k of VALUE_KEYWORDS) if (schema[k] !== undefined) v.kw[k] = schema[k];
    // OpenAPI 3.0 boolean exclusive bounds → 2020-12 numeric ones.
    if (typeof schema.exclusiveMinimum === 'boolean') {
      delete v.kw.exclusiveMinimum;
      if (schema.exclusiveMinimum && typeof schema.minimum === 'number') {
        v.kw.exclusiveMinimum = schema.minimum;
        delete v.kw.minimum;
      }
    }
    if (typeof schema.exclusiveMaximum === 'boolean') {
      delete v.kw.exclusiveMaximum;
      if (schema.exclusiveMaximum && typeof schema.maximum === 'number') {
        v.kw.exclusiveMaximum = schema.maximum;
        delete v.kw.maximum;
      }
    }
    if (v.kw.enum !== undefined && !Array.isArray(v.kw.enum)) delete v.kw.enum;

    if (isObject(schema.properties)) {
      for (const [name, sub] of Object.entries(schema.properties)) {
        v.props.set(name, [{ schema: sub, loc: `${loc}.properties.${name}`, ancestry }]);
      }
    }
    if (Array.isArray(schema.required)) for (const r of schema.required) if (typeof r === 'string') v.required.add(r);
    const ap = schema.additionalProperties;
    if (typeof ap === 'boolean') v.additionalProperties = ap;
    else if (isObject(ap)) v.additionalProperties = { schema: ap, loc: `${loc}.additionalProperties`, ancestry };
    if (isObject(schema.patternProperties) && Object.keys(schema.patternProperties).length > 0) v.hasPatternProperties = true;
    if (schema.items !== undefined && !Array.isArray(schema.items)) v.items.push({ schema: schema.items, loc: `${loc}.items`, ancestry });

    let out = v;
    if (Array.isArray(schema.allOf)) {
      schema.allOf.forEach((member, i) => {
        out = mergeViews(out, this.view({ schema: member, loc: `${loc}.allOf[${i}]`, ancestry }, opts, structural));
      });
    }
    for (const key of ['oneOf', 'anyOf'] as const) {
      const branches = schema[key];
      if (!Array.isArray(branches)) continue;
      const group = branches.map((b, i) => this.view({ schema: b, loc: `${loc}.${key}[${i}]`, ancestry }, opts, structural));
      out = foldNullBranch(out, group);
    }
    return nullableRef(schema, out);
  }

  /** The merged view of a property defined by one or more raw schemas. */
  viewAll(raws: RawSchema[], opts: ViewOptions): SchemaView {
    const [first, ...rest] = raws;
    if (first === undefined) return emptyView('');
    let v = this.view(first, opts);
    for (const r of rest) v = mergeViews(v, this.view(r, opts));
    return v;
  }
}

/**
 * `nullable: true` beside `allOf: [$ref]` (or a `$ref` with siblings) and no `type` of its own is
 * how OpenAPI 3.0 specs make a reference nullable (Asana's `owner`, Box's `parent`): the type
 * comes from the reference, and null is allowed too.
 */
function nullableRef(schema: JsonObject, v: SchemaView): SchemaView {
  if (schema.nullable !== true || schema.type !== undefined || v.types === null || v.types.has('null')) return v;
  return { ...v, types: new Set([...v.types, 'null']) };
}

export function emptyView(loc: string): SchemaView {
  return {
    loc,
    types: null,
    props: new Map(),
    required: new Set(),
    additionalProperties: undefined,
    hasPatternProperties: false,
    items: [],
    altGroups: [],
    kw: {},
  };
}

/** A branch that only admits null: `{ type: 'null' }`. */
export function isNullOnly(v: SchemaView): boolean {
  return v.types !== null && v.types.size === 1 && v.types.has('null') && v.altGroups.length === 0;
}

/**
 * `oneOf: [X, {type: 'null'}]` is how 3.1 specs spell "nullable X"; folding it keeps emitted
 * schemas simple for MCP clients. Any other group stays an alternative group.
 */
function foldNullBranch(v: SchemaView, group: SchemaView[]): SchemaView {
  const nonNull = group.filter((b) => !isNullOnly(b));
  if (nonNull.length === 1 && group.length === 2 && v.types === null) {
    const merged = mergeViews(v, nonNull[0] as SchemaView);
    if (merged.types !== null) merged.types.add('null');
    return merged;
  }
  return { ...v, altGroups: [...v.altGroups, group] };
}

function intersectTypes(a: Set<string> | null, b: Set<string> | null): Set<string> | null {
  if (a === null) return b === null ? null : new Set(b);
  if (b === null) return new Set(a);
  const out = new Set<string>();
  for (const t of a) {
    if (b.has(t)) out.add(t);
    else if (t === 'integer' && b.has('number')) out.add('integer');
    else if (t === 'number' && b.has('integer')) out.add('integer');
  }
  return out;
}

/** allOf semantics: both must hold. `a`'s annotations (description, default) win. */
export function mergeViews(a: SchemaView, b: SchemaView): SchemaView {
  const props = new Map<string, RawSchema[]>();
  for (const [k, v] of a.props) props.set(k, [...v]);
  for (const [k, v] of b.props) props.set(k, [...(props.get(k) ?? []), ...v]);
  const kw: SchemaView['kw'] = { ...b.kw };
  for (const [k, val] of Object.entries(a.kw) as [ValueKeyword, Json][]) {
    const other = kw[k];
    if (typeof val === 'number' && typeof other === 'number') {
      kw[k] = tighterBound(k, val, other) ?? val;
    } else if (k === 'enum' && Array.isArray(val) && Array.isArray(other)) {
      const keep = new Set(other.map((x) => JSON.stringify(x)));
      kw.enum = val.filter((x) => keep.has(JSON.stringify(x)));
    } else if (val !== undefined) {
      kw[k] = val;
    }
  }
  let additionalProperties: SchemaView['additionalProperties'] =
    a.additionalProperties !== undefined ? a.additionalProperties : b.additionalProperties;
  if (a.additionalProperties === false || b.additionalProperties === false) additionalProperties = false;
  return {
    loc: a.loc,
    types: intersectTypes(a.types, b.types),
    props,
    required: new Set([...a.required, ...b.required]),
    additionalProperties,
    hasPatternProperties: a.hasPatternProperties || b.hasPatternProperties,
    items: [...a.items, ...b.items],
    altGroups: [...a.altGroups, ...b.altGroups],
    kw,
  };
}

/** Does this view admit objects (declared, or implied by properties)? */
export function admitsObject(v: SchemaView): boolean {
  if (v.types !== null) return v.types.has('object');
  return v.props.size > 0 || v.additionalProperties !== undefined;
}

export function admitsArray(v: SchemaView): boolean {
  if (v.types !== null) return v.types.has('array');
  return v.items.length > 0;
}

/** Unconstrained: any JSON value at all (`{}`, `true`, or only annotations). */
export function isFreeForm(v: SchemaView): boolean {
  return (
    v.types === null &&
    v.altGroups.length === 0 &&
    v.kw.enum === undefined &&
    v.kw.const === undefined &&
    v.props.size === 0 &&
    v.items.length === 0
  );
}

export type SchemaMode = 'input' | 'output';

/**
 * The formats JSON Schema 2020-12 defines. Others (OpenAPI's int64/int32/double/byte/binary/
 * password, Stripe's unix-time and decimal, GitHub's repo.nwo, ...) are dropped from emitted
 * schemas: no validator checks them, so they bound nothing (a `format: decimal` string is still
 * any string), and strict validators (Ajv with `strict: true`) refuse a schema that names one.
 */
export const JSON_SCHEMA_FORMATS: ReadonlySet<string> = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
]);

/**
 * Keywords each mode emits. Output schemas describe structure only (src/README.md, D15): no
 * `format`, `enum`, `const`, `pattern` or bounds, which an off-spec backend value could break
 * (a date-time in a `date` field would make a strict MCP client reject the whole result, while
 * the value is still useful), and no descriptions (spec prose would reach the model unreviewed,
 * and the seven-tool tools/list must stay under 8 KB; the tool description says what comes back).
 */
const MODE_KEYWORDS: Record<SchemaMode, readonly ValueKeyword[]> = {
  input: INPUT_VALUE_KEYWORDS,
  output: [],
};

/**
 * Materializes a view as self-contained JSON Schema (no `$ref`). Descends strictly: a recursive
 * type throws SchemaCycleError — recursive inputs are refused, not truncated.
 */
export function toJsonSchema(doc: SpecDocument, v: SchemaView, mode: SchemaMode): JsonObject {
  const strict = { strict: true };
  const out: JsonObject = {};
  const types = v.types !== null ? [...v.types] : mode === 'output' ? typesOfValues(v) : null;
  if (types !== null) out.type = types.length === 1 ? types[0] : types;
  for (const k of MODE_KEYWORDS[mode]) {
    const val = v.kw[k];
    if (val === undefined) continue;
    if (k === 'description') {
      if (typeof val === 'string' && val.trim() !== '') out[k] = val.trim();
      continue;
    }
    if (k === 'format' && !(typeof val === 'string' && JSON_SCHEMA_FORMATS.has(val))) continue;
    out[k] = val;
  }
  if (v.props.size > 0 || (v.types?.has('object') ?? false)) {
    // readOnly properties are set by the server, writeOnly ones never come back (OpenAPI 3.x
    // Schema Object): neither is something an input may carry or an output may show.
    const hidden = mode === 'input' ? 'readOnly' : 'writeOnly';
    const props: JsonObject = {};
    for (const [name, raws] of v.props) {
      const sub = doc.viewAll(raws, strict);
      if (sub.kw[hidden] !== true) props[name] = toJsonSchema(doc, sub, mode);
    }
    if (Object.keys(props).length > 0) out.properties = props;
    const required = [...v.required].filter((r) => Object.hasOwn(props, r));
    if (required.length > 0) out.required = required;
    const ap = v.additionalProperties;
    if (typeof ap === 'boolean') out.additionalProperties = ap;
    else if (ap !== undefined) out.additionalProperties = toJsonSchema(doc, doc.view(ap, strict), mode);
  }
  if (v.items.length > 0) out.items = toJsonSchema(doc, doc.viewAll(v.items, strict), mode);
  const groups = v.altGroups.map((g) => g.map((b) => toJsonSchema(doc, b, mode)));
  if (groups.length === 1) out.anyOf = groups[0];
  else if (groups.length > 1) out.allOf = groups.map((g) => ({ anyOf: g }));
  return out;
}

/**
 * The JSON types of an untyped schema, for output schemas: from its items or properties, or
 * from the values of its `enum`/`const` (an output schema keeps the type, not the values).
 * null when there is nothing to read them from.
 */
function typesOfValues(v: SchemaView): string[] | null {
  // The structure says it even where `type` does not: items make a list, properties an object.
  if (v.altGroups.length === 0 && v.items.length > 0 && v.props.size === 0) return ['array'];
  if (v.altGroups.length === 0 && v.props.size > 0 && v.items.length === 0) return ['object'];
  const values = v.kw.const !== undefined ? [v.kw.const] : Array.isArray(v.kw.enum) ? v.kw.enum : null;
  if (values === null || values.length === 0) return null;
  const types = new Set(values.map((x) => (x === null ? 'null' : Array.isArray(x) ? 'array' : Number.isInteger(x) ? 'integer' : typeof x)));
  if (types.has('integer') && types.has('number')) types.delete('integer');
  return [...types].sort();
}
