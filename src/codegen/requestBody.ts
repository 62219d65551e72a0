// The operation's request body as far as tools go: JSON or form-encoded, and an object.

import { admitsObject, isObject, type RawSchema, type SchemaView } from './schemaView.ts';
import type { SpecIndex, SpecOperation } from './specIndex.ts';

export interface BodyInfo {
  contentType: 'application/json' | 'application/x-www-form-urlencoded' | null;
  required: boolean;
  view: SchemaView | null;
  /** The body's schema as the spec has it, whatever its shape (body templates may fill any). */
  raw: RawSchema | null;
  loc: string;
  unsupported: string | null;
}

export function readBody(ix: SpecIndex, op: SpecOperation): BodyInfo | null {
  if (op.op.requestBody === undefined) return null;
  const { node, loc } = ix.doc.deref(op.op.requestBody, `${op.loc}.requestBody`);
  if (!isObject(node)) return null;
  const required = node.required === true;
  const content = isObject(node.content) ? node.content : {};
  const types = Object.keys(content);
  const json = types.find((c) => /^application\/json\b/i.test(c)) ?? types.find((c) => /^application\/[\w.-]+\+json\b/i.test(c));
  const form = types.find((c) => /^application\/x-www-form-urlencoded\b/i.test(c));
  const chosen = json ?? form;
  if (chosen === undefined) {
    return { contentType: null, required, view: null, raw: null, loc, unsupported: `its content types (${types.join(', ') || 'none'}) are not JSON or form-encoded` };
  }
  const media = content[chosen];
  const schemaLoc = `${loc}.content.${chosen}.schema`;
  const contentType = json !== undefined ? 'application/json' : 'application/x-www-form-urlencoded';
  if (!isObject(media) || media.schema === undefined) return { contentType, required, view: null, raw: null, loc: schemaLoc, unsupported: 'it has no schema' };
  const raw: RawSchema = { schema: media.schema, loc: schemaLoc };
  try {
    const view = ix.doc.view({ schema: media.schema, loc: schemaLoc }, { strict: true });
    if (!admitsObject(view)) return { contentType, required, view: null, raw, loc: view.loc, unsupported: 'it is not an object' };
    if (view.altGroups.length > 0) return { contentType, required, view: null, raw, loc: view.loc, unsupported: 'it is polymorphic (oneOf/anyOf)' };
    return { contentType, required, view, raw, loc: view.loc, unsupported: null };
  } catch (err) {
    return { contentType, required, view: null, raw: null, loc: schemaLoc, unsupported: `its schema cannot be read (${(err as Error).message})` };
  }
}

