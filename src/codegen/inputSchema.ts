// One input's JSON Schema: materialized from the spec, then narrowed by the manifest (each
// keyword may only tighten), then checked to be bounded (every string and array capped).

import type { InputEntry } from './manifest.ts';
import { mayBe, type Target } from './bindTargets.ts';
import { validateValue } from './jsonSchemaChecks.ts';
import { admitsArray, admitsObject, isObject, SchemaCycleError, toJsonSchema, type JsonObject, type RawSchema } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex } from './specIndex.ts';

const STRICT = { strict: true };

export function materialize(ix: SpecIndex, raw: RawSchema, sink: Sink, suffix: string): JsonObject | null {
  try {
    return toJsonSchema(ix.doc, ix.doc.view(raw, STRICT), 'input');
  } catch (err) {
    if (err instanceof SchemaCycleError) {
      sink.error('SCHEMA_CYCLE', `the input schema is recursive (through ${err.ref})`, raw.loc, 'do not expose a recursive structure; expose its scalar fields, or fix values', suffix);
    } else {
      sink.error('MANIFEST_INVALID', `cannot read the schema: ${(err as Error).message}`, raw.loc, 'fix the `$ref` in the spec', suffix);
    }
    return null;
  }
}

export function inputSchemaFor(ix: SpecIndex, target: Target, opts: NonNullable<InputEntry>, sink: Sink, suffix: string): JsonObject | null {
  if (target.raw === null) return null;
  const schema = materialize(ix, target.raw, sink, suffix);
  if (schema === null) return null;
  const view = ix.doc.view(target.raw, STRICT);
  if (target.in === 'path' && (mayBe(view, admitsObject) || mayBe(view, admitsArray))) {
    sink.error('PARAM_UNSUPPORTED', `path parameter '${target.name}' is not a scalar`, target.loc, 'only scalar path parameters can be exposed', suffix);
    return null;
  }
  if ((target.in === 'query' || target.in === 'header') && mayBe(view, admitsObject)) {
    sink.error('PARAM_UNSUPPORTED', `${target.in} parameter '${target.name}' is an object`, target.loc, 'only scalar and list parameters can be exposed', suffix);
    return null;
  }
  const description = opts.description ?? target.description ?? (typeof schema.description === 'string' ? schema.description : null);
  if (description !== null && description.trim() !== '') schema.description = description.trim();
  else delete schema.description;
  if (!narrow(schema, opts, target, sink, suffix)) return null;
  return schema;
}

const MAX_KEYS = ['maximum', 'maxLength', 'maxItems'] as const;
const MIN_KEYS = ['minimum', 'minLength', 'minItems'] as const;
const APPLIES: Record<string, string[]> = {
  maximum: ['integer', 'number'],
  minimum: ['integer', 'number'],
  maxLength: ['string'],
  minLength: ['string'],
  pattern: ['string'],
  maxItems: ['array'],
  minItems: ['array'],
};

/** Applies manifest narrowing; each keyword may only tighten the spec. */
function narrow(schema: JsonObject, opts: NonNullable<InputEntry>, target: Target, sink: Sink, suffix: string): boolean {
  let ok = true;
  const fail = (code: 'NARROWING_WIDENS' | 'NARROWING_INVALID', message: string, fix: string, key: string) => {
    sink.error(code, message, target.loc, fix, `${suffix}.${key}`);
    ok = false;
  };
  // Types at the top level, or in anyOf branches (`oneOf: [string, integer]` takes maxLength).
  const typesOf = (x: unknown): string[] => (!isObject(x) ? [] : typeof x.type === 'string' ? [x.type] : Array.isArray(x.type) ? (x.type as string[]) : []);
  const types = [...typesOf(schema), ...(Array.isArray(schema.anyOf) ? schema.anyOf.flatMap(typesOf) : [])];
  for (const key of [...MAX_KEYS, ...MIN_KEYS, 'pattern'] as const) {
    const val = opts[key];
    if (val === undefined) continue;
    const applies = APPLIES[key] ?? [];
    if (!types.some((t) => applies.includes(t))) {
      fail('NARROWING_INVALID', `'${key}' does not apply to '${target.name}' (type ${types.join('|') || 'unspecified'})`, `remove '${key}'`, key);
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
        fail('NARROWING_INVALID', `'${target.name}' already has the spec pattern ${JSON.stringify(spec)}; a second pattern cannot be checked to be narrower`, 'use enum or maxLength instead', key);
        continue;
      }
    } else if (typeof spec === 'number') {
      const isMax = (MAX_KEYS as readonly string[]).includes(key);
      if (isMax ? (val as number) > spec : (val as number) < spec) {
        fail('NARROWING_WIDENS', `${key} ${String(val)} for '${target.name}' is ${isMax ? 'above' : 'below'} the spec's ${key} ${spec}; narrowing may only tighten`, `use a ${key} ${isMax ? '≤' : '≥'} ${spec}`, key);
        continue;
      }
    }
    schema[key] = val;
  }
  if (opts.enum !== undefined) {
    const specEnum = schema.enum;
    if (Array.isArray(specEnum)) {
      const allowed = new Set(specEnum.map((v) => JSON.stringify(v)));
      const extra = opts.enum.filter((v) => !allowed.has(JSON.stringify(v)));
      if (extra.length > 0) fail('NARROWING_WIDENS', `enum values ${extra.map((v) => JSON.stringify(v)).join(', ')} for '${target.name}' are not in the spec's enum`, `use a subset of ${JSON.stringify(specEnum)}`, 'enum');
      else schema.enum = opts.enum;
    } else {
      const bad = opts.enum.map((v) => [v, validateValue(schema, v)] as const).filter(([, e]) => e !== null);
      if (bad.length > 0) fail('NARROWING_INVALID', `enum value ${JSON.stringify(bad[0]?.[0])} for '${target.name}' is not allowed by the spec (${bad[0]?.[1]})`, 'use values the spec schema accepts', 'enum');
      else schema.enum = opts.enum;
    }
  }
  if (opts.default !== undefined) {
    const invalid = validateValue({ ...schema, default: undefined }, opts.default);
    if (invalid !== null) fail('NARROWING_INVALID', `default ${JSON.stringify(opts.default)} for '${target.name}' is outside the allowed values (${invalid})`, 'choose a default within the bounds', 'default');
    else schema.default = opts.default;
  } else if (schema.default !== undefined && ok) {
    const { default: specDefault, ...rest } = schema;
    const invalid = validateValue(rest, specDefault);
    if (invalid !== null) fail('NARROWING_INVALID', `the spec's default ${JSON.stringify(specDefault)} for '${target.name}' is outside the narrowed bounds (${invalid})`, 'set a `default:` within the narrowed bounds', 'default');
  }
  return ok;
}

export function boundMessage(code: string, where: string): string {
  switch (code) {
    case 'INPUT_UNBOUNDED_STRING':
      return `string input '${where}' has none of maxLength, pattern, enum or format`;
    case 'INPUT_UNBOUNDED_ARRAY':
      return `array input '${where}' has no maxItems`;
    case 'INPUT_OPEN_OBJECT':
      return `object input '${where}' allows extra properties`;
    default:
      return `input '${where}' accepts any JSON value`;
  }
}

export function boundFix(code: string, arg: string, topLevel: boolean): string {
  const manifest = topLevel ? ` or narrow it in the manifest (input.${arg}.` : '';
  switch (code) {
    case 'INPUT_UNBOUNDED_STRING':
      return `add maxLength, pattern, enum or format in the spec${manifest}${topLevel ? 'maxLength: N)' : ''}`;
    case 'INPUT_UNBOUNDED_ARRAY':
      return `add maxItems in the spec${manifest}${topLevel ? 'maxItems: N)' : ''}`;
    case 'INPUT_OPEN_OBJECT':
      return 'add `additionalProperties: false` to the schema in the spec, or do not expose it';
    default:
      return 'give it a type and bounds in the spec, or do not expose it';
  }
}

