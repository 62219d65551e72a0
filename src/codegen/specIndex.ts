// The operations of a spec, indexed by operationId, with their parameters, body and scopes.

import type { HttpMethod } from './toolDefinition.ts';
import { isObject, SpecDocument, type JsonObject, type RawSchema } from './schemaView.ts';

export const PATH_ITEM_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface SpecOperation {
  operationId: string | null;
  method: Uppercase<(typeof PATH_ITEM_METHODS)[number]>;
  /** The request path template, without the `#fragment` some specs add to tell operations apart. */
  path: string;
  op: JsonObject;
  /** 'paths./drafts/{filename}.get' */
  loc: string;
  /** Parameters after path-level/operation-level merge, operation-level winning. */
  params: SpecParameter[];
}

export interface SpecParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description: string | null;
  /** The parameter's schema, or null if it uses `content` instead. */
  schema: RawSchema | null;
  style: string | null;
  explode: boolean | null;
  raw: JsonObject;
  /** Where it is used, e.g. 'paths./drafts/{filename}.parameters[0]'. */
  loc: string;
}

export class SpecIndex {
  readonly doc: SpecDocument;
  readonly operations: SpecOperation[] = [];
  private readonly byId = new Map<string, SpecOperation[]>();

  constructor(root: JsonObject) {
    this.doc = new SpecDocument(root);
    const paths = isObject(root.paths) ? root.paths : {};
    for (const [path, rawItem] of Object.entries(paths)) {
      const { node: item } = this.doc.deref(rawItem, `paths.${path}`);
      if (!isObject(item)) continue;
      const shared = this.readParams(item.parameters, `paths.${path}.parameters`);
      for (const m of PATH_ITEM_METHODS) {
        const op = item[m];
        if (!isObject(op)) continue;
        const loc = `paths.${path}.${m}`;
        const own = this.readParams(op.parameters, `${loc}.parameters`);
        const key = (p: SpecParameter) => `${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`;
        const ownKeys = new Set(own.map(key));
        const params = [...shared.filter((p) => !ownKeys.has(key(p))), ...own];
        const entry: SpecOperation = {
          operationId: typeof op.operationId === 'string' ? op.operationId : null,
          method: m.toUpperCase() as SpecOperation['method'],
          // A fragment is never sent (RFC 9110 §4.2.4): `/things/{id}#v2` only gives one path a
          // second operation in the spec. Left in, it would fail the egress check at run time.
          path: withoutFragment(path),
          op,
          loc,
          params,
        };
        this.operations.push(entry);
        if (entry.operationId !== null) this.byId.set(entry.operationId, [...(this.byId.get(entry.operationId) ?? []), entry]);
      }
    }
  }

  /** All operations with this id (more than one is a spec bug the caller reports). */
  find(operationId: string): SpecOperation[] {
    return this.byId.get(operationId) ?? [];
  }

  operationIds(): string[] {
    return [...this.byId.keys()];
  }

  /**
   * Scopes of the operation's first security requirement (operation-level, else root-level),
   * for the blast-radius listing of every operation. A tool's own scopes come from the
   * alternative it chose (security.ts).
   */
  scopes(op: SpecOperation): { scopes: string[]; alternatives: number } {
    const security = Array.isArray(op.op.security) ? op.op.security : Array.isArray(this.doc.root.security) ? this.doc.root.security : [];
    const first = security.find(isObject);
    const scopes = new Set<string>();
    if (first !== undefined) for (const v of Object.values(first)) if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') scopes.add(s);
    return { scopes: [...scopes], alternatives: security.length };
  }

  private readParams(list: unknown, loc: string): SpecParameter[] {
    if (!Array.isArray(list)) return [];
    const out: SpecParameter[] = [];
    list.forEach((rawParam, i) => {
      const useLoc = `${loc}[${i}]`;
      const { node, loc: defLoc } = this.doc.deref(rawParam, useLoc);
      if (!isObject(node) || typeof node.name !== 'string') return;
      const where = node.in;
      if (where !== 'path' && where !== 'query' && where !== 'header' && where !== 'cookie') return;
      const schemaLoc = defLoc === useLoc ? `${useLoc}.schema` : `${defLoc}.schema`;
      out.push({
        name: node.name,
        in: where,
        required: where === 'path' || node.required === true,
        description: typeof node.description === 'string' ? node.description : null,
        schema: node.schema !== undefined ? { schema: node.schema, loc: schemaLoc } : null,
        style: typeof node.style === 'string' ? node.style : null,
        explode: typeof node.explode === 'boolean' ? node.explode : null,
        raw: node,
        loc: useLoc,
      });
    });
    return out;
  }
}

export function withoutFragment(path: string): string {
  const hash = path.indexOf('#');
  return hash === -1 ? path : path.slice(0, hash);
}

export function isHttpMethod(m: string): m is HttpMethod {
  return m === 'GET' || m === 'HEAD' || m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE';
}

/**
 * An operation is destructive when its method is DELETE, when it says `x-destructive: true`, or
 * when a word of its operationId is one of DESTRUCTIVE_VERBS (camelCase, '/', '-', '_' and '.'
 * split words, so `deleteDraft`, `repos/delete-deploy-key` and `revoke_token` all count).
 * `x-destructive: false` lets the backend team clear a false name match; it cannot clear DELETE.
 */
export const DESTRUCTIVE_VERBS = ['delete', 'remove', 'revoke', 'rotate', 'destroy', 'purge', 'impersonate'] as const;

export function destructiveReason(op: SpecOperation): string | null {
  if (op.method === 'DELETE') return 'its method is DELETE';
  const flag = op.op['x-destructive'];
  if (flag === true) return 'it is marked `x-destructive: true`';
  if (flag === false) return null;
  const words = operationIdWords(op.operationId ?? '');
  const verb = DESTRUCTIVE_VERBS.find((v) => words.includes(v));
  return verb !== undefined ? `its operationId contains the verb '${verb}'` : null;
}

export function operationIdWords(id: string): string[] {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s/_.-]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}
