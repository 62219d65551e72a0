// Value keywords written beside `anyOf`/`oneOf` (`{anyOf: [string, boolean], maxLength: 100}`, how a
// manifest narrows GitHub's and Vercel's `oneOf` parameters) are valid JSON Schema, but zod's
// `fromJSONSchema` — the runtime validator — ignores them, so a narrowing would be advertised and
// not enforced. Moving each one into every branch it can constrain means the same thing (a
// keyword for another type is ignored by that branch anyway), and every validator enforces it.

import { ASSERTION_KEYWORDS, keywordApplies, tighterBound, typesOf } from './jsonSchemaKeywords.ts';
import { isObject, type JsonObject } from './schemaView.ts';

/** Whether keyword `k` can constrain a value this branch admits (an untyped branch admits all). */
function applies(k: string, branch: JsonObject): boolean {
  const types = typesOf(branch);
  return types === null || keywordApplies(k, types);
}

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
    const moved = ASSERTION_KEYWORDS.filter((k) => out[k] !== undefined);
    if (moved.length === 0) continue;
    out[alt] = branches.map((b: unknown) => {
      if (!isObject(b)) return b;
      let branch: JsonObject = { ...b };
      for (const k of moved) {
        if (!applies(k, branch)) continue; // a keyword for another type means nothing to this branch
        const outer = out[k];
        const own = branch[k];
        const tighter = typeof own === 'number' && typeof outer === 'number' ? tighterBound(k, own, outer) : undefined;
        if (own === undefined || JSON.stringify(own) === JSON.stringify(outer)) branch[k] = outer;
        else if (tighter !== undefined) branch[k] = tighter;
        // Two different patterns, enums or formats: both must hold.
        else branch = { allOf: [branch, { [k]: outer }] };
      }
      return branch;
    });
    for (const k of moved) delete out[k];
  }
  return out;
}
