// Types the manifest declares for picked values the spec leaves open: a key inside a free-form
// map (`records[].fields.summary: string`), or anything from an operation whose spec declares no
// response body (or, with `responseShape: declared`, a wrong one). The declaration becomes the
// outputSchema at that path, and Deputy checks every answer against it at run time.
//
// Grammar: a scalar type or a union of scalar types, or a list of one scalar type; each
// optionally `| null`:
//   string · integer · boolean | string | number · string[] · string | null · integer[] | null

import type { JsonObject } from './schemaView.ts';

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

export const DECLARED_TYPE_HINT = "a type such as 'string', 'integer', 'number', 'boolean', 'string[]', 'string | null' or 'boolean | string | number'";

/** The JSON Schema of a declared type, or null when the text is not in the grammar. */
export function declaredTypeSchema(text: string): JsonObject | null {
  const parts = text.split('|').map((p) => p.trim());
  if (new Set(parts).size !== parts.length) return null;
  const nullable = parts.includes('null');
  const rest = parts.filter((p) => p !== 'null');
  if (rest.length === 0) return null;
  if (rest.length === 1 && (rest[0] as string).endsWith('[]')) {
    const scalar = (rest[0] as string).slice(0, -2);
    if (!SCALARS.has(scalar)) return null;
    return { type: nullable ? ['array', 'null'] : 'array', items: { type: scalar } };
  }
  // One scalar, or a union of them: a value the spec leaves open that may be any of a few kinds
  // (a feature flag's served value: boolean, string or number).
  if (!rest.every((p) => SCALARS.has(p))) return null;
  const types = nullable ? [...rest, 'null'] : rest;
  return { type: types.length === 1 ? types[0] : types };
}
