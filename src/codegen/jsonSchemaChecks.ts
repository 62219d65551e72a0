// JSON Schema helpers for generated input schemas: validation of fixed values and defaults (ajv,
// draft 2020-12), the "every input is bounded" rule, and a canonical key order.

import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { PRINT_ORDER, typesOf } from './jsonSchemaKeywords.ts';
import type { JsonObject } from './schemaView.ts';
import { isObject } from './schemaView.ts';

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
ajvFormats.default(ajv);

/** null when `value` is valid against `schema`, else the first reason. */
export function validateValue(schema: JsonObject, value: unknown): string | null {
  const validate = ajv.compile(schema);
  if (validate(value)) return null;
  const e = validate.errors?.[0];
  if (e === undefined) return 'invalid';
  // Name the value that is wrong and what would be right, not only that something is.
  const params = e.params as { allowedValues?: unknown[]; additionalProperty?: string };
  const detail = params.allowedValues !== undefined ? `: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}` : params.additionalProperty !== undefined ? ` ('${params.additionalProperty}')` : '';
  return `${e.instancePath === '' ? '' : `${e.instancePath} `}${e.message ?? 'invalid'}${detail}`;
}

export interface BoundProblem {
  code: 'INPUT_UNBOUNDED_STRING' | 'INPUT_UNBOUNDED_ARRAY' | 'INPUT_OPEN_OBJECT' | 'INPUT_FREE_FORM';
  /** Path inside the argument, '' for the argument itself, e.g. '.items' or '.filters.tag'. */
  at: string;
}

/**
 * src/README.md, D2: every string has maxLength, pattern, enum or format; every array maxItems;
 * every object `additionalProperties: false`; nothing is free-form.
 */
export function findUnbounded(s: JsonObject, at = '', inherited: JsonObject = {}): BoundProblem[] {
  const out: BoundProblem[] = [];
  // Keywords on a schema apply to every anyOf/allOf branch under it too (`maxLength` next to
  // `anyOf: [string, integer]` bounds the string branch).
  const bounds: JsonObject = { ...inherited };
  for (const k of ['maxLength', 'pattern', 'format', 'maxItems', 'enum', 'const'] as const) if (s[k] !== undefined) bounds[k] = s[k];
  const fixedValue = bounds.enum !== undefined || bounds.const !== undefined;
  const branches = [...(Array.isArray(s.anyOf) ? (s.anyOf as unknown[]) : []), ...(Array.isArray(s.allOf) ? (s.allOf as unknown[]) : [])].filter(isObject);
  const listed = typesOf(s);
  const types = listed === null ? null : new Set(listed);
  if (types === null && !fixedValue && branches.length === 0) return [{ code: 'INPUT_FREE_FORM', at }];
  for (const b of branches) out.push(...findUnbounded(b, at, bounds));
  if (types === null || fixedValue) return out;
  if (types.has('string') && bounds.maxLength === undefined && bounds.pattern === undefined && bounds.format === undefined) {
    out.push({ code: 'INPUT_UNBOUNDED_STRING', at });
  }
  if (types.has('array')) {
    if (bounds.maxItems === undefined) out.push({ code: 'INPUT_UNBOUNDED_ARRAY', at });
    if (isObject(s.items)) out.push(...findUnbounded(s.items, `${at}[]`, {}));
    else out.push({ code: 'INPUT_FREE_FORM', at: `${at}[]` });
  }
  if (types.has('object')) {
    if (s.additionalProperties !== false) out.push({ code: 'INPUT_OPEN_OBJECT', at });
    if (isObject(s.properties)) {
      for (const [k, sub] of Object.entries(s.properties)) if (isObject(sub)) out.push(...findUnbounded(sub, `${at}.${k}`, {}));
    }
  }
  return out;
}

/** Reorders schema keywords canonically (properties keep the spec's order). */
export function canonicalSchema(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  const keys = Object.keys(s).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    const v = s[k];
    if (k === 'properties' && isObject(v)) {
      const props: JsonObject = {};
      for (const [name, sub] of Object.entries(v)) props[name] = isObject(sub) ? canonicalSchema(sub) : sub;
      out[k] = props;
    } else if ((k === 'items' || k === 'additionalProperties') && isObject(v)) out[k] = canonicalSchema(v);
    else if ((k === 'anyOf' || k === 'allOf') && Array.isArray(v)) out[k] = (v as unknown[]).map((b) => (isObject(b) ? canonicalSchema(b) : b));
    else out[k] = v;
  }
  return out;
}

function rank(k: string): number {
  const i = (PRINT_ORDER as readonly string[]).indexOf(k);
  return i === -1 ? PRINT_ORDER.length : i;
}

/** Every description inside a schema, with its path ('properties.status.description'). */
export function* schemaDescriptions(s: JsonObject, at = ''): Generator<{ at: string; text: string }> {
  const here = (k: string) => (at === '' ? k : `${at}.${k}`);
  if (typeof s.description === 'string') yield { at: here('description'), text: s.description };
  if (typeof s.title === 'string') yield { at: here('title'), text: s.title };
  if (isObject(s.properties)) for (const [k, v] of Object.entries(s.properties)) if (isObject(v)) yield* schemaDescriptions(v, here(`properties.${k}`));
  if (isObject(s.items)) yield* schemaDescriptions(s.items, here('items'));
  if (isObject(s.additionalProperties)) yield* schemaDescriptions(s.additionalProperties, here('additionalProperties'));
  for (const key of ['anyOf', 'allOf'] as const) {
    const list = s[key];
    if (Array.isArray(list)) for (const [i, b] of list.entries()) if (isObject(b)) yield* schemaDescriptions(b, here(`${key}[${i}]`));
  }
}
