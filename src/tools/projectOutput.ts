/**
 * Least data out (src/README.md, D7): a backend response is reduced to the manifest's `pick`
 * allowlist before anything else looks at it. The path grammar is pickPath.ts, shared with the
 * generator; `[]` walks every element of a list, once per level.
 *
 * Anything not named is dropped, including fields the backend adds later, so the tool surface
 * can never widen because the backend's responses did. An answer whose shape contradicts the
 * spec (a list where an object is declared, an object where a list is) is not projected into
 * something smaller and called a success: it is a ContractViolation (D15).
 */
import { buildPickTree, type PickNode, type PickTree } from './pickPath.ts';

export interface Projection {
  value: Record<string, unknown>;
  /** Lists that were cut to their cap: path → how many elements the backend returned. */
  truncated: Record<string, number>;
}

/** The backend answered with a shape its own spec (or the manifest's declaration) rules out. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(
    /** Where in the answer: a pick path prefix such as 'items[]' or 'owner', or '(the answer)'. */
    readonly at: string,
    /** What the spec promises there, in words ('a list', 'an object', 'a string'). */
    readonly expected: string,
    /** What came instead, in words, never the value itself. */
    readonly got: string,
  ) {
    super(`${at}: expected ${expected}, got ${got}`);
  }
}

/**
 * Build the pick tree once per tool (the generator already refused malformed lists), marking the
 * properties the spec requires (`required`, pick-tree paths such as 'items[].key').
 */
export function compilePick(pick: readonly string[], required: readonly string[] = []): PickTree {
  const tree = buildPickTree(pick).tree;
  const mark = (level: PickTree, prefix: string) => {
    for (const [key, node] of level) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      node.required = required.includes(path);
      mark(node.children, `${path}${'[]'.repeat(node.arrays)}`);
    }
  };
  mark(tree, '');
  return tree;
}

export function projectOutput(body: unknown, tree: PickTree, listCaps: Readonly<Record<string, number>>): Projection {
  const truncated: Record<string, number> = {};

  function capList(items: unknown[], path: string): unknown[] {
    const cap = listCaps[path];
    if (cap === undefined || items.length <= cap) return items;
    truncated[path] = items.length;
    return items.slice(0, cap);
  }

  function projectObject(value: unknown, pick: PickTree, at: string): Record<string, unknown> {
    if (!isRecord(value)) throw new ContractViolation(at || '(the answer)', 'an object', kindOf(value));
    const out: Record<string, unknown> = {};
    for (const [key, node] of pick) {
      if (!Object.hasOwn(value, key)) continue;
      out[key] = projectNode(value[key], node, at === '' ? key : `${at}.${key}`, 0);
    }
    return out;
  }

  /** One picked property, `level` list levels down. */
  function projectNode(value: unknown, node: PickNode, path: string, level: number): unknown {
    const here = `${path}${'[]'.repeat(level)}`;
    if (value === null) return null; // whether null is allowed is the outputSchema's call
    if (level < node.arrays) {
      if (!Array.isArray(value)) throw new ContractViolation(here, 'a list', kindOf(value));
      const items = capList(value, here).map((item) => projectNode(item, node, path, level + 1));
      // Elements may lack optional fields, but a list none of whose elements holds any picked
      // field, one of them required by the spec, is not what the spec promised ({items: [{}]}).
      const requiresOne = [...node.children.values()].some((c) => c.required);
      if (requiresOne && level + 1 === node.arrays && items.length > 0 && items.every((i) => i !== null && Object.keys(i as object).length === 0)) {
        throw noneOf(`${here}[]`, node.children);
      }
      return items;
    }
    if (node.children.size > 0) {
      // A scalar where fields are picked: an alternative of the spec (GitHub's labels are
      // oneOf [string, object]) or a broken answer. A scalar carries no unreviewed fields, so
      // it passes here and the outputSchema check decides which it is.
      if (typeof value !== 'object') return value;
      return projectObject(value, node.children, here);
    }
    // A leaf: a scalar or a list of scalars (the outputSchema check catches anything else).
    return Array.isArray(value) ? capList(value, here).map(copyJson) : copyJson(value);
  }

  // Nothing picked: the operation answers 204 No Content (the generator allows no other case).
  if (tree.size === 0) return { value: {}, truncated };
  const value = projectObject(body, tree, '');
  // Nothing but empty objects ({items: [{}, {}]}): no picked field anywhere in the answer.
  if (!carriesData(value)) throw noneOf('(the answer)', tree);
  return { value, truncated };
}

/** A value, an empty list ("there are none") or null somewhere — anything but empty objects. */
function carriesData(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.length === 0 || value.some(carriesData);
  return Object.values(value).some(carriesData);
}

function noneOf(at: string, picked: PickTree): ContractViolation {
  return new ContractViolation(at, `at least one of ${[...picked.keys()].map((k) => `'${k}'`).join(', ')}`, 'none of them');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A value's kind in words, for messages: never the value itself. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  return `a ${typeof value}`;
}

/** A deep copy of plain JSON, so the projection never aliases the parsed backend body. */
function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = copyJson(child);
  return out;
}
