/**
 * Deputy checks its own structuredContent against the outputSchema it advertised before
 * returning it (src/README.md, D15). The outputSchema describes structure only (types,
 * properties, lists, nullability), so an off-spec value the model can still use — a date-time in
 * a `date` field, a status outside the declared enum — passes, while a wrong type (an object
 * where a string was promised) is a contract violation, never an `ok` result. A strict MCP client
 * would otherwise reject the whole result, or the model would get a shape nobody reviewed.
 *
 * zod is the runtime's validator already (inputs); the validator is compiled on first use so
 * start-up does not pay for tools nobody calls.
 */
import { z } from 'zod';
import { valueAtPath } from './pickPath.ts';
import { ContractViolation, kindOf } from './projectOutput.ts';

export type OutputCheck = (value: unknown) => ContractViolation | null;

export function compileOutputCheck(outputSchema: Record<string, unknown>): OutputCheck {
  let validator: z.ZodType | null = null;
  return (value) => {
    validator ??= z.fromJSONSchema(outputSchema);
    const result = validator.safeParse(value);
    if (result.success) return null;
    const issue = result.error.issues[0];
    const path = issue?.path ?? [];
    const found = valueAtPath(value, path);
    // A list over its cap (the projection caps lists, so only a broken cap gets here): say so.
    if (issue?.code === 'too_big' && Array.isArray(found)) return new ContractViolation(pathText(path), `at most ${String(issue.maximum)} items`, `${found.length}`);
    return new ContractViolation(pathText(path), describe(schemaAt(outputSchema, path)), kindOf(found));
  };
}

/** `items.3.title` → `items[].title`: the pick-path form, without the index of the element. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? '[]' : out === '' ? String(p) : `.${String(p)}`;
  return out || '(the answer)';
}

function schemaAt(schema: unknown, path: readonly PropertyKey[]): unknown {
  let cur = schema;
  for (const p of path) {
    const s = cur as { properties?: Record<string, unknown>; items?: unknown } | undefined;
    cur = typeof p === 'number' ? s?.items : s?.properties?.[String(p)];
  }
  return cur;
}

const ARTICLE: Record<string, string> = { object: 'an object', array: 'a list', integer: 'an integer', null: 'null' };

/** 'a string or null' from `{ type: ['string', 'null'] }`. */
function describe(schema: unknown): string {
  const s = schema as { type?: unknown; anyOf?: unknown[]; maxItems?: number } | undefined;
  const types = typeof s?.type === 'string' ? [s.type] : Array.isArray(s?.type) ? (s.type as string[]) : null;
  if (types !== null) return types.map((t) => ARTICLE[t] ?? `a ${t}`).join(' or ');
  if (Array.isArray(s?.anyOf)) return s.anyOf.map(describe).join(' or ');
  return 'the declared shape';
}
