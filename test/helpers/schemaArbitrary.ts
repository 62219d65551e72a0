/**
 * fast-check arbitraries for values valid against an OpenAPI response schema: type, properties,
 * required, items, anyOf/oneOf/allOf, enum/const, nullable (3.0) and type lists (3.1), local
 * `$ref`s. Bounded: short strings, lists of at most three elements (now and then a long one of
 * repeated elements, past any listCap), and past `maxDepth` objects keep
 * only their required properties and lists stay at their minimum, so self-referencing schemas
 * (GitHub's, Stripe's) stay finite.
 *
 * Objects get an unknown extra property wherever the schema allows one, so a projection that
 * lets unpicked fields through shows. `overrides` replaces the schema at a pick-tree path
 * ('fields.summary', 'items[].id') — the manifest's declared types, for fields a spec leaves as a
 * free-form map.
 */
import fc from 'fast-check';

type Schema = Record<string, unknown>;
type Arb = fc.Arbitrary<unknown>;

export interface SchemaArbitraryOptions {
  /** The whole spec, for `#/...` pointers. */
  document: Schema;
  /** Pick-tree path → schema to use there instead of the spec's. */
  overrides?: ReadonlyMap<string, Schema>;
  maxDepth?: number;
  /** Longest list generated (short lists are the rule; this tests listCaps). */
  longLists?: number;
}

const isObject = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);

export function arbitraryFromSchema(schema: unknown, options: SchemaArbitraryOptions): Arb {
  const overrides = options.overrides ?? new Map<string, Schema>();
  const maxDepth = options.maxDepth ?? 4;
  const longLists = options.longLists ?? 120;
  // Memoized per schema node and depth (and path, when overrides make the path matter), so
  // shared components are built once.
  const memo = new WeakMap<object, Map<string, Arb>>();

  function deref(node: unknown): Schema {
    let cur = node;
    for (let hops = 0; isObject(cur) && typeof cur.$ref === 'string'; hops++) {
      if (hops > 32 || !cur.$ref.startsWith('#/')) throw new Error(`cannot follow $ref ${cur.$ref}`);
      let target: unknown = options.document;
      for (const raw of cur.$ref.slice(2).split('/')) {
        const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
        target = isObject(target) ? target[key] : undefined;
      }
      if (target === undefined) throw new Error(`dangling $ref ${cur.$ref}`);
      cur = target;
    }
    return isObject(cur) ? cur : {};
  }

  /** allOf branches folded into one schema: properties united (a shared one becomes an allOf), required united. */
  function fold(schema: Schema): Schema {
    if (!Array.isArray(schema.allOf)) return schema;
    const { allOf, ...rest } = schema;
    let out: Schema = { ...rest };
    const branches = (allOf as unknown[]).map((b) => fold(deref(b)));
    for (const b of branches) {
      const properties: Record<string, unknown> = { ...(isObject(out.properties) ? out.properties : {}) };
      for (const [k, v] of Object.entries(isObject(b.properties) ? b.properties : {})) properties[k] = k in properties ? { allOf: [properties[k], v] } : v;
      const required = [...new Set([...(Array.isArray(out.required) ? out.required : []), ...(Array.isArray(b.required) ? b.required : [])])];
      out = { ...b, ...out, properties, required };
      if (out.additionalProperties === undefined && b.additionalProperties !== undefined) out.additionalProperties = b.additionalProperties;
    }
    // `nullable: true` beside an allOf (OpenAPI 3.0's way to make a $ref nullable), or on every branch.
    out.nullable = rest.nullable === true || (branches.length > 0 && branches.every((b) => b.nullable === true));
    return out;
  }

  function build(node: unknown, path: string, depth: number): Arb {
    if (depth > maxDepth + 12) throw new Error(`the schema at ${path} requires nesting deeper than ${maxDepth + 12} levels`);
    const override = overrides.get(path);
    if (override !== undefined) return build(override, `${path}\u0000declared`, depth);
    const schema = fold(deref(node));
    const key = `${depth}|${overrides.size > 0 ? path : ''}`;
    let byKey = memo.get(schema);
    if (byKey === undefined) memo.set(schema, (byKey = new Map()));
    const cached = byKey.get(key);
    if (cached !== undefined) return cached;
    // A placeholder breaks cycles within one depth (a schema reaching itself without nesting).
    byKey.set(key, fc.constant(null));
    const arb = nullable(schema, shape(schema, path, depth));
    byKey.set(key, arb);
    return arb;
  }

  function nullable(schema: Schema, arb: Arb): Arb {
    return schema.nullable === true ? fc.option(arb, { nil: null, freq: 4 }) : arb;
  }

  function shape(schema: Schema, path: string, depth: number): Arb {
    if ('const' in schema) return fc.constant(schema.const);
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...(schema.enum as unknown[]));
    const alternatives = (Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : null) as unknown[] | null;
    if (alternatives !== null && alternatives.length > 0) {
      const { oneOf: _o, anyOf: _a, ...rest } = schema;
      // Past the depth bound, a scalar branch ends a chain of required references (Stripe's
      // expandable fields: an id or the object, which requires more expandable fields).
      const scalars = alternatives.filter((alt) => ['string', 'integer', 'number', 'boolean'].includes(fold(deref(alt)).type as string));
      const chosen = depth >= maxDepth && scalars.length > 0 ? scalars : alternatives;
      // Keywords beside the alternatives (properties, required) apply to each branch.
      return fc.oneof(...chosen.map((alt) => build({ allOf: [rest, alt] }, path, depth)));
    }
    const types = typeof schema.type === 'string' ? [schema.type] : Array.isArray(schema.type) ? (schema.type as string[]) : inferTypes(schema, depth);
    return fc.oneof(...types.map((t) => ofType(t, schema, path, depth)));
  }

  function inferTypes(schema: Schema, depth: number): string[] {
    if (isObject(schema.properties) || schema.additionalProperties !== undefined) return ['object'];
    if (schema.items !== undefined) return ['array'];
    // Any JSON value; past the depth bound only scalars.
    return depth >= maxDepth ? ['string', 'integer', 'boolean'] : ['string', 'integer', 'boolean', 'object'];
  }

  function ofType(type: string, schema: Schema, path: string, depth: number): Arb {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: num(schema.minimum, -1000), max: num(schema.maximum, 1_000_000) });
      case 'number':
        return fc.double({ min: num(schema.minimum, -1000), max: num(schema.maximum, 1_000_000), noNaN: true, noDefaultInfinity: true });
      case 'string':
        return stringOf(schema);
      case 'array': {
        const min = Math.min(num(schema.minItems, 0), 3);
        const max = depth >= maxDepth ? min : Math.max(min, Math.min(num(schema.maxItems, 3), 3));
        if (max === 0) return fc.constant([]);
        const items = build(schema.items ?? {}, `${path}[]`, depth + 1);
        const short = fc.array(items, { minLength: min, maxLength: max });
        const longest = Math.min(num(schema.maxItems, longLists), longLists);
        if (depth >= maxDepth || longest <= max) return short;
        // Now and then a list longer than any listCap: a few generated elements, repeated.
        const long = fc.tuple(fc.array(items, { minLength: 1, maxLength: max }), fc.integer({ min: max, max: longest })).map(([some, n]) => Array.from({ length: n }, (_, i) => some[i % some.length]));
        return fc.oneof({ arbitrary: short, weight: 4 }, { arbitrary: long, weight: 1 });
      }
      case 'object':
        return objectOf(schema, path, depth);
      default:
        throw new Error(`unknown type '${type}' at ${path || '(the answer)'}`);
    }
  }

  function objectOf(schema: Schema, path: string, depth: number): Arb {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const child = (k: string) => (path === '' ? k : `${path}.${k}`);
    const model: Record<string, Arb> = {};
    for (const [k, s] of Object.entries(properties)) {
      if (deref(s).writeOnly === true && !required.has(k)) continue;
      if (!required.has(k) && depth >= maxDepth) continue;
      model[k] = build(s, child(k), depth + 1);
    }
    // Declared fields inside a free-form map the spec does not spell out.
    for (const p of overrides.keys()) {
      const k = directChild(path, p);
      if (k !== null && !(k in model)) model[k] = build(overrides.get(child(k)) ?? objectAlong(child(k)), child(k), depth + 1);
    }
    const extra = schema.additionalProperties === false ? null : fc.record({ zz_unpicked_extra: fc.string({ maxLength: 4 }) }, { requiredKeys: [] });
    const requiredKeys = Object.keys(model).filter((k) => required.has(k));
    const record = fc.record(model, { requiredKeys });
    return extra === null ? record : fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...r }));
  }

  /** The next key after `path` on the way to a declared path, if `declared` lies below `path`. */
  function directChild(path: string, declared: string): string | null {
    const prefix = path === '' ? '' : `${path}.`;
    if (!declared.startsWith(prefix)) return null;
    const key = /^[^.[\]]+/.exec(declared.slice(prefix.length))?.[0];
    return key ?? null;
  }

  /** An intermediate object on the way to declared fields. */
  function objectAlong(path: string): Schema {
    return { type: 'object', properties: {}, required: [], description: `on the way to declared fields: ${path}` };
  }

  return build(schema, '', 0);
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function stringOf(schema: Schema): Arb {
  const maxLength = Math.min(num(schema.maxLength, 12), 12);
  const minLength = Math.min(num(schema.minLength, 0), maxLength);
  switch (schema.format) {
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'date':
      return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.emailAddress();
    case 'uri':
    case 'url':
      return fc.webUrl();
    default:
      return fc.string({ minLength, maxLength });
  }
}
