// Value keywords written beside `anyOf`/`oneOf` (`{anyOf: [string, boolean], maxLength: 100}`, how a
// manifest narrows GitHub's and Vercel's `oneOf` parameters) are valid JSON Schema, but zod's
// `fromJSONSchema` — the runtime validator — ignores them, so a narrowing would be advertised and
// not enforced. Moving each one into every branch it can constrain means the same thing (a
// keyword for another type is ignored by that branch anyway), and every validator enforces it.

import { isObject, type JsonObject } from './schemaView.ts';

const BRANCH_KEYWORDS = [
  'maxLength',
  'minLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'maxItems',
  'minItems',
  'uniqueItems',
  'enum',
  'const',
] as const;

const TYPES_OF: Partial<Record<string, string[]>> = {
  maxLength: ['string'],
  minLength: ['string'],
  pattern: ['string'],
  minimum: ['integer', 'number'],
  maximum: ['integer', 'number'],
  exclusiveMinimum: ['integer', 'number'],
  exclusiveMaximum: ['integer', 'number'],
  multipleOf: ['integer', 'number'],
  maxItems: ['array'],
  minItems: ['array'],
  uniqueItems: ['array'],
};

/** Whether keyword `k` can constrain a value this branch admits (an untyped branch admits all). */
function applies(k: string, branch: JsonObject): boolean {
  const types = typeof branch.type === 'string' ? [branch.type] : Array.isArray(branch.type) ? (branch.type as string[]) : null;
  const wants = TYPES_OF[k];
  return types === null || wants === undefined || types.some((t) => wants.includes(t));
}

/** For a numeric keyword present on both sides, the value that admits less. */
const TIGHTER: Partial<Record<string, (a: number, b: number) => number>> = {
  maxLength: Math.min,
  maxItems: Math.min,
  maximum: Math.min,
  exclusiveMaximum: Math.min,
  minLength: Math.max,
  minItems: Math.max,
  minimum: Math.max,
  exclusiveMinimum: Math.max,
};

/** A copy of `schema` with value keywords beside anyOf/oneOf moved into each branch, at every depth. */
export function distributeOverAlternatives(schema: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isObject(v) ? distributeOverAlternatives(v) : v]));
    else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) out[key] = distributeOverAlternatives(value);
    else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && Array.isArray(value)) out[key] = value.map((b: unknown) => (isObject(b) ? distributeOverAlternatives(b) : b));
    else out[key] = value;
  }
  for (const alt of ['anyOf', 'oneOf'] as const) {
    const branches = out[alt];
    if (!Array.isArray(branches)) continue;
    const moved = BRANCH_KEYWORDS.filter((k) => out[k] !== undefined);
    if (moved.length === 0) continue;
    out[alt] = branches.map((b: unknown) => {
      if (!isObject(b)) return b;
      let branch: JsonObject = { ...b };
      for (const k of moved) {
        if (!applies(k, branch)) continue; // a keyword for another type means nothing to this branch
        const outer = out[k];
        const own = branch[k];
        if (own === undefined || JSON.stringify(own) === JSON.stringify(outer)) branch[k] = outer;
        else if (typeof own === 'number' && typeof outer === 'number' && TIGHTER[k] !== undefined) branch[k] = TIGHTER[k](own, outer);
        // Two different patterns, enums or formats: both must hold.
        else branch = { allOf: [branch, { [k]: outer }] };
      }
      return branch;
    });
    for (const k of moved) delete out[k];
  }
  return out;
}
