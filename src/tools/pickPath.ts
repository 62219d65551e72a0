/**
 * The pick-path grammar, in one place for the generator (which checks each path against the
 * response schema and derives the outputSchema) and the runtime (which projects responses).
 * Two copies drifted once: the generator accepted `rows[][]` and the runtime stripped one `[]`.
 *
 * A path is property names joined by '.', each optionally followed by one '[]' per list level:
 * `items[].filename`, `nextCursor`, `rows[][]`, `records[].fields.summary`.
 */

export interface PickSegment {
  /** Property name. */
  key: string;
  /** How many list levels to descend after the property: `rows[][]` → 2. */
  arrays: number;
}

const SEGMENT = /^([^.[\]]+)((?:\[\])*)$/;

/** The segments of a path, or null when it is malformed. */
export function parsePickPath(path: string): PickSegment[] | null {
  const segments: PickSegment[] = [];
  for (const part of path.split('.')) {
    const m = SEGMENT.exec(part);
    if (m === null) return null;
    segments.push({ key: m[1] as string, arrays: (m[2] ?? '').length / 2 });
  }
  return segments;
}

/** A pick tree: each node names a property, how many list levels it has, and what is picked inside. */
export interface PickNode {
  arrays: number;
  /** Picked fields inside (after descending `arrays` levels); empty when this node is a leaf. */
  children: PickTree;
  /** The pick path that ends here, if any. */
  pick: string | null;
  /** One pick path through this node, for messages. */
  example: string;
  /** The spec marks this property required in its object. */
  required: boolean;
}
export type PickTree = Map<string, PickNode>;

export interface PickTreeProblem {
  /** malformed: not the grammar; inconsistent: a list written two ways; overlapping: a whole object and fields inside it. */
  kind: 'malformed' | 'inconsistent' | 'overlapping';
  pick: string;
  message: string;
  fix: string;
}

/**
 * Builds the tree of a pick list. A path that names a whole object and also fields inside it,
 * or a list written with different numbers of '[]', is a problem: the generator reports it, and
 * the runtime never sees such a list.
 */
export function buildPickTree(picks: readonly string[]): { tree: PickTree; problems: PickTreeProblem[] } {
  const tree: PickTree = new Map();
  const problems: PickTreeProblem[] = [];
  for (const pick of picks) {
    const segments = parsePickPath(pick);
    if (segments === null) {
      problems.push({ kind: 'malformed', pick, message: `pick path '${pick}' is malformed`, fix: "write paths like 'items[].filename' or 'nextCursor'" });
      continue;
    }
    let level = tree;
    for (const [i, seg] of segments.entries()) {
      let node = level.get(seg.key);
      if (node === undefined) {
        node = { arrays: seg.arrays, children: new Map(), pick: null, example: pick, required: false };
        level.set(seg.key, node);
      } else if (node.arrays !== seg.arrays) {
        problems.push({ kind: 'inconsistent', pick, message: `pick path '${pick}' uses '${seg.key}' with a different number of '[]' than '${node.example}'`, fix: 'write each list the same way in every path' });
        break;
      }
      if (i === segments.length - 1) node.pick = pick;
      level = node.children;
    }
  }
  for (const node of walk(tree)) {
    if (node.pick !== null && node.children.size > 0) {
      problems.push({ kind: 'overlapping', pick: node.pick, message: `pick path '${node.pick}' names a whole object and also fields inside it`, fix: `keep only the field paths, e.g. '${[...node.children.values()][0]?.example}'` });
      node.pick = null;
    }
  }
  return { tree, problems };
}

function* walk(level: PickTree): Generator<PickNode> {
  for (const node of level.values()) {
    yield node;
    yield* walk(node.children);
  }
}

/**
 * The value at `path` (property names, and list indexes as numbers), or undefined where the path
 * leaves the value. Reads through plain objects and lists only.
 */
export function valueAtPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node) !== (typeof key === 'number')) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}
