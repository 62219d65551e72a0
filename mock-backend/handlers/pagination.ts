/**
 * Keyset pagination over an in-memory list: the cursor is the sort key of the last item of the
 * previous page (base64url JSON, opaque to clients), so pages stay stable when items before the
 * cursor are added or deleted. Sort keys must end with a unique id.
 */
import { problem, type ProblemReply } from '../reply.ts';

export type SortKey = (string | number)[];
/** 1 ascending, -1 descending, per key position. */
export type SortDirections = (1 | -1)[];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

function compare(a: SortKey, b: SortKey, directions: SortDirections): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return (x < y ? -1 : 1) * (directions[i] ?? 1);
  }
  return 0;
}

const encode = (key: SortKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

function decode(cursor: string, length: number): SortKey | null {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === length && key.every((k) => typeof k === 'string' || typeof k === 'number')) return key;
  } catch {
    // fall through
  }
  return null;
}

/**
 * One page of `items`, sorted by `keyOf`; a 400 reply for a cursor this list did not issue.
 * `limit` is optional in the request's type, but the spec gives it a default, which validation
 * has applied by now.
 */
export function paginate<T>(items: Iterable<T>, keyOf: (item: T) => SortKey, directions: SortDirections, limit: number | undefined, cursor: string | undefined): Page<T> | ProblemReply {
  if (limit === undefined) throw new Error('list request without a limit: the spec must give `limit` a default');
  const sorted = [...items].map((item) => ({ item, key: keyOf(item) })).sort((a, b) => compare(a.key, b.key, directions));
  let rest = sorted;
  if (cursor !== undefined) {
    const after = decode(cursor, directions.length);
    if (!after) {
      return problem(400, 'validation', 'the request is invalid: query.cursor', { errors: [{ field: 'query.cursor', message: 'is not a cursor issued by this list' }] });
    }
    rest = sorted.filter((s) => compare(s.key, after, directions) > 0);
  }
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map((s) => s.item), nextCursor: rest.length > limit && last ? encode(last.key) : null };
}

export const isReply = <T>(value: Page<T> | ProblemReply): value is ProblemReply => 'status' in value;
