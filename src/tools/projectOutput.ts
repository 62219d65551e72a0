/**
 * Least data out (src/README.md D7): a backend response is reduced to the manifest's `pick`
 * allowlist before anything else looks at it. Paths are dot-separated; `[]` walks every element
 * of an array: `items[].filename`, `nextCursor`, `contact.name`.
 *
 * Anything not named is dropped, including fields the backend adds later, so the tool surface
 * can never widen because the backend's responses did.
 */

export interface Projection {
  value: unknown;
  /** Arrays that were cut to their cap: path → how many elements the backend returned. */
  truncated: Record<string, number>;
}

type PickTree = Map<string, PickTree | true>;

interface Segment {
  key: string;
  each: boolean;
}

function parsePath(path: string): Segment[] {
  return path.split('.').map((part) => (part.endsWith('[]') ? { key: part.slice(0, -2), each: true } : { key: part, each: false }));
}

/** Build a tree once per tool; `[]` is kept on the key so `items` and `items[]` stay distinct. */
export function compilePick(pick: readonly string[]): PickTree {
  const root: PickTree = new Map();
  for (const path of pick) {
    let node = root;
    const segments = parsePath(path);
    segments.forEach((segment, index) => {
      const key = segment.each ? `${segment.key}[]` : segment.key;
      if (index === segments.length - 1) {
        node.set(key, true);
        return;
      }
      let child = node.get(key);
      if (child === true) return; // a shorter path already keeps the whole subtree
      if (!child) {
        child = new Map();
        node.set(key, child);
      }
      node = child;
    });
  }
  return root;
}

export function projectOutput(value: unknown, tree: PickTree, listCaps: Readonly<Record<string, number>>): Projection {
  const truncated: Record<string, number> = {};

  function capArray(items: unknown[], path: string): unknown[] {
    const cap = listCaps[path];
    if (cap === undefined || items.length <= cap) return items;
    truncated[path] = items.length;
    return items.slice(0, cap);
  }

  function walk(node: unknown, pick: PickTree, prefix: string): unknown {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    const record = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, sub] of pick) {
      const each = key.endsWith('[]');
      const field = each ? key.slice(0, -2) : key;
      if (!Object.hasOwn(record, field)) continue;
      const path = prefix ? `${prefix}.${field}` : field;
      const raw = record[field];
      if (each) {
        if (!Array.isArray(raw)) continue;
        const items = capArray(raw, path);
        out[field] = sub === true ? items.map(copyJson) : items.map((item) => walk(item, sub, `${path}[]`) ?? {});
      } else if (sub === true) {
        out[field] = Array.isArray(raw) ? capArray(raw, path).map(copyJson) : copyJson(raw);
      } else {
        const child = walk(raw, sub, path);
        if (child !== undefined) out[field] = child;
        else if (raw === null) out[field] = null;
      }
    }
    return out;
  }

  return { value: walk(value, tree, '') ?? {}, truncated };
}

/** A deep copy of plain JSON, so the projection never aliases the parsed backend body. */
function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = copyJson(child);
  return out;
}
