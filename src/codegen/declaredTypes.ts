// Types the manifest declares for picked values the spec leaves open: a key inside a free-form
// map (`records[].fields.summary: string`), or anything from an operation whose spec declares no
// response body (or, with `responseShape: declared`, a wrong one). The declaration becomes the
// outputSchema at that path, and Deputy checks every answer against it at run time.
//
// Grammar: a scalar type, optionally a list of it, optionally `| null`:
//   string · integer · number · boolean · string[] · string | null · integer[] | null

import type { JsonObject } from './schemaView.ts';

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

export const DECLARED_TYPE_HINT = "a type such as 'string', 'integer', 'number', 'boolean', 'string[]' or 'string | null'";

/** The JSON Schema of a declared type, or null when the text is not in the grammar. */
export function declaredTypeSchema(text: string): JsonObject | null {
  const parts = text.split('|').map((p) => p.trim());
  const nullable = parts.includes('null');
  const rest = parts.filter((p) => p !== 'null');
  if (rest.length !== 1 || parts.length > 2) return null;
  const word = rest[0] as string;
  const list = word.endsWith('[]');
  const scalar = list ? word.slice(0, -2) : word;
  if (!SCALARS.has(scalar)) return null;
  if (list) return { type: nullable ? ['array', 'null'] : 'array', items: { type: scalar } };
  return { type: nullable ? [scalar, 'null'] : scalar };
}
