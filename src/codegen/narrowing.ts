// The manifest's narrowing of one input schema, at any depth (openapi/README.md, "Narrowing
// inputs"): scalar bounds, `enum`, `type` for a free-form value, array `items`, object
// `properties` (`false` hides one) and `additionalProperties: false`. Each keyword may only
// tighten the materialized spec schema; anything else is an error naming where in the spec.

import { NARROWING_KEYS, type Narrowing } from './manifest.ts';
import { validateValue } from './jsonSchemaChecks.ts';
import { KEYWORD_TYPES, keywordApplies, typesOf, UPPER_BOUNDS } from './jsonSchemaKeywords.ts';
import { isObject, type JsonObject, type RawSchema, type SchemaView } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex } from './specIndex.ts';

/** Where a narrowing applies: the spec schema it tightens and how errors name it. */
export interface NarrowingSite {
  ix: SpecIndex;
  sink: Sink;
  /** The spec schema the materialized one came from (for error locations); null when none. */
  raw: RawSchema | null;
  /** Display name, e.g. 'item.id' or 'tags[]'. */
  name: string;
  /** Manifest path suffix of this narrowing, e.g. '.input.item.properties.id'. */
  manifestPath: string;
}

type Step = { prop: string } | 'items';

/** The manifest's narrowing keywords that constrain one JSON type (bounds and `pattern`). */
type BoundKey = Extract<(typeof NARROWING_KEYS)[number], keyof typeof KEYWORD_TYPES>;
const BOUND_KEYS = NARROWING_KEYS.filter((k): k is BoundKey => k in KEYWORD_TYPES);

/** Types at the top level, or in anyOf branches (`oneOf: [string, integer]` takes maxLength). */
function typesIn(schema: JsonObject): string[] {
  const own = (x: unknown): string[] => (isObject(x) ? (typesOf(x) ?? []) : []);
  return [...own(schema), ...(Array.isArray(schema.anyOf) ? schema.anyOf.flatMap(own) : [])];
}

/** Tightens `schema` in place; false (with errors on the sink) when a keyword would widen it. */
export function narrowSchema(schema: JsonObject, n: Narrowing, site: NarrowingSite): boolean {
  return new Narrower(site).narrow(schema, n, [], site.name, site.manifestPath);
}

class Narrower {
  ok = true;
  constructor(readonly site: NarrowingSite) {}

  /** The spec view at `steps` below the site's schema (for locations and readOnly), or null. */
  viewAt(steps: readonly Step[]): SchemaView | null {
    if (this.site.raw === null) return null;
    const doc = this.site.ix.doc;
    try {
      let v = doc.view(this.site.raw, { strict: false });
      for (const step of steps) {
        const next = step === 'items' ? v.items : (v.props.get(step.prop) ?? (isObject(v.additionalProperties) ? [v.additionalProperties as RawSchema] : []));
        if (next.length === 0) return null;
        v = doc.viewAll(next, { strict: false });
      }
      return v;
    } catch {
      return null;
    }
  }

  loc(steps: readonly Step[]): string | null {
    for (let i = steps.length; i >= 0; i--) {
      const v = this.viewAt(steps.slice(0, i));
      if (v !== null) return v.loc;
    }
    return this.site.raw?.loc ?? null;
  }

  fail(code: 'NARROWING_WIDENS' | 'NARROWING_INVALID', steps: readonly Step[], message: string, fix: string, manifestPath: string): void {
    this.site.sink.error(code, message, this.loc(steps), fix, manifestPath);
    this.ok = false;
  }

  narrow(schema: JsonObject, n: Narrowing, steps: readonly Step[], name: string, mpath: string): boolean {
    const fail = (code: 'NARROWING_WIDENS' | 'NARROWING_INVALID', message: string, fix: string, key: string) => this.fail(code, steps, message, fix, `${mpath}.${key}`);

    if (n.type !== undefined) {
      const types = typesIn(schema);
      if (Array.isArray(schema.anyOf)) fail('NARROWING_INVALID', `'${name}' is a oneOf/anyOf in the spec; its type cannot be narrowed`, `remove 'type'`, 'type');
      else if (types.length === 0 || types.includes(n.type) || (n.type === 'integer' && types.includes('number'))) schema.type = n.type;
      else fail('NARROWING_WIDENS', `type '${n.type}' for '${name}' is not allowed by the spec (type ${types.join('|')})`, `use one of: ${types.join(', ')}`, 'type');
    }
    if (n.description !== undefined) schema.description = n.description.trim();
    const types = typesIn(schema);

    for (const key of BOUND_KEYS) {
      const val = n[key];
      if (val === undefined) continue;
      if (!keywordApplies(key, types)) {
        fail('NARROWING_INVALID', `'${key}' does not apply to '${name}' (type ${types.join('|') || 'unspecified'})`, types.length === 0 ? `give it a type first (type: string), or remove '${key}'` : `remove '${key}'`, key);
        continue;
      }
      const spec = schema[key];
      if (key === 'pattern') {
        try {
          new RegExp(val as string, 'u');
        } catch {
          fail('NARROWING_INVALID', `pattern ${JSON.stringify(val)} is not a valid regular expression`, 'fix the pattern', key);
          continue;
        }
        if (spec !== undefined && spec !== val) {
          fail('NARROWING_INVALID', `'${name}' already has the spec pattern ${JSON.stringify(spec)}; a second pattern cannot be checked to be narrower`, 'use enum or maxLength instead', key);
          continue;
        }
      } else if (typeof spec === 'number') {
        const isMax = (UPPER_BOUNDS as readonly string[]).includes(key);
        if (isMax ? (val as number) > spec : (val as number) < spec) {
          fail('NARROWING_WIDENS', `${key} ${String(val)} for '${name}' is ${isMax ? 'above' : 'below'} the spec's ${key} ${spec}; narrowing may only tighten`, `use a ${key} ${isMax ? '≤' : '≥'} ${spec}`, key);
          continue;
        }
      }
      schema[key] = val;
    }

    if (n.enum !== undefined) {
      const specEnum = schema.enum;
      if (Array.isArray(specEnum)) {
        const allowed = new Set(specEnum.map((v) => JSON.stringify(v)));
        const extra = n.enum.filter((v) => !allowed.has(JSON.stringify(v)));
        if (extra.length > 0) fail('NARROWING_WIDENS', `enum values ${extra.map((v) => JSON.stringify(v)).join(', ')} for '${name}' are not in the spec's enum`, `use a subset of ${JSON.stringify(specEnum)}`, 'enum');
        else schema.enum = n.enum;
      } else {
        const bad = n.enum.map((v) => [v, validateValue(schema, v)] as const).filter(([, e]) => e !== null);
        if (bad.length > 0) fail('NARROWING_INVALID', `enum value ${JSON.stringify(bad[0]?.[0])} for '${name}' is not allowed by the spec (${bad[0]?.[1]})`, 'use values the spec schema accepts', 'enum');
        else schema.enum = n.enum;
      }
    }

    if (n.items !== undefined) {
      if (!types.includes('array')) fail('NARROWING_INVALID', `'items' does not apply to '${name}' (type ${types.join('|') || 'unspecified'})`, types.length === 0 ? `give it a type first (type: array)` : "remove 'items'", 'items');
      else {
        if (!isObject(schema.items)) schema.items = {};
        this.narrow(schema.items as JsonObject, n.items, [...steps, 'items'], `${name}[]`, `${mpath}.items`);
      }
    }

    const isObjectSchema = types.includes('object') || isObject(schema.properties);
    if (n.properties !== undefined) {
      if (!isObjectSchema) fail('NARROWING_INVALID', `'properties' does not apply to '${name}' (type ${types.join('|') || 'unspecified'})`, types.length === 0 ? `give it a type first (type: object)` : "remove 'properties'", 'properties');
      else this.narrowProperties(schema, n.properties, n.additionalProperties === false, steps, name, mpath);
    }
    if (n.additionalProperties === false) {
      if (!isObjectSchema) fail('NARROWING_INVALID', `'additionalProperties' does not apply to '${name}' (type ${types.join('|') || 'unspecified'})`, types.length === 0 ? `give it a type first (type: object)` : "remove 'additionalProperties'", 'additionalProperties');
      else schema.additionalProperties = false;
    }
    return this.ok;
  }

  narrowProperties(schema: JsonObject, narrowings: Record<string, Narrowing | false>, closing: boolean, steps: readonly Step[], name: string, mpath: string): void {
    if (!isObject(schema.properties)) schema.properties = {};
    const props = schema.properties as JsonObject;
    const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
    const open = schema.additionalProperties !== false;
    const specNames = Object.keys(props);
    for (const [key, sub] of Object.entries(narrowings)) {
      const at = [...steps, { prop: key }];
      const here = `${mpath}.properties.${key}`;
      const fail = (message: string, fix: string) => this.fail('NARROWING_INVALID', at, message, fix, here);
      const known = Object.hasOwn(props, key);
      if (!known && this.viewAt(at)?.kw.readOnly === true) {
        fail(`'${name}.${key}' is readOnly in the spec (the server sets it), so it is never an input`, `remove it from ${here.slice(1)}`);
        continue;
      }
      if (!known && (!open || sub === false)) {
        fail(`the spec has no property '${key}' in '${name}'`, specNames.length > 0 ? `use one of: ${specNames.join(', ')}` : 'remove it: the object has no properties');
        continue;
      }
      if (sub === false) {
        if (required.includes(key)) fail(`'${name}.${key}' is required by the spec, so it cannot be hidden`, 'narrow it instead (enum with one value pins it), or build the body with body.template');
        else delete props[key];
        continue;
      }
      // A property the spec allows only through `additionalProperties` (a free-form map) starts
      // from that schema: naming it is a tightening once the object is closed.
      if (!known) props[key] = isObject(schema.additionalProperties) ? structuredClone(schema.additionalProperties) : {};
      this.narrow(props[key] as JsonObject, sub, at, `${name}.${key}`, here);
    }
    const hidden = Object.entries(narrowings).filter(([, sub]) => sub === false).map(([key]) => key);
    if (hidden.length > 0 && !closing && schema.additionalProperties !== false) {
      this.fail('NARROWING_INVALID', steps, `hiding ${hidden.map((k) => `'${k}'`).join(', ')} in '${name}' needs the object closed too, or the model can still send ${hidden.length > 1 ? 'them' : 'it'}`, `add \`additionalProperties: false\` under ${mpath.slice(1)}`, `${mpath}.properties`);
    }
  }
}
