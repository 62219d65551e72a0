// What a manifest key names in the operation ('status', 'query.status', 'body.visibility'), and
// whether the model may be given it. Tool inputs, fixed values and approval-lookup arguments all
// resolve through here, so they follow one set of rules.

import type { BodyInfo } from './requestBody.ts';
import { admitsObject, type RawSchema, type SchemaView } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex, SpecOperation, SpecParameter } from './specIndex.ts';
import type { ArgLocation } from './toolDefinition.ts';

export const IDEMPOTENCY_HEADER = /^idempotency-key$/i;
/** Headers OpenAPI says to ignore as parameters; the runtime owns them. */
export const IGNORED_HEADERS = /^(accept|content-type|authorization)$/i;

/** Something a manifest key can name: a parameter or a top-level body property. */
export interface Target {
  in: ArgLocation | 'cookie';
  name: string;
  required: boolean;
  description: string | null;
  raw: RawSchema | null;
  param: SpecParameter | null;
  /** Where it is defined in the spec. */
  loc: string;
}

/** Finds what `key` ('status', 'query.status', 'body.visibility') names; exactly one match. */
export function resolveTarget(ix: SpecIndex, op: SpecOperation, body: BodyInfo | null, key: string, sink: Sink, suffix: string): Target | null {
  const m = /^(path|query|header|cookie|body)\.(.+)$/.exec(key);
  const where = m?.[1] ?? null;
  const name = m?.[2] ?? key;
  const matches: Target[] = [];
  for (const p of op.params) {
    const same = p.in === 'header' ? p.name.toLowerCase() === name.toLowerCase() : p.name === name;
    if (same && (where === null || where === p.in)) {
      matches.push({ in: p.in, name: p.name, required: p.required, description: p.description, raw: p.schema, param: p, loc: p.loc });
    }
  }
  if ((where === null || where === 'body') && body?.view?.props.has(name) === true) {
    const raws = body.view.props.get(name) ?? [];
    matches.push({
      in: 'body',
      name,
      required: body.view.required.has(name),
      description: null,
      raw: raws.length === 1 ? (raws[0] as RawSchema) : { schema: { allOf: raws.map((r) => r.schema) }, loc: raws[0]?.loc ?? body.loc },
      param: null,
      loc: raws[0]?.loc ?? `${body.loc}.properties.${name}`,
    });
  }
  if (matches.length === 1) return matches[0] as Target;
  if (matches.length > 1) {
    sink.error('PARAM_AMBIGUOUS', `'${key}' matches ${matches.map((t) => `${t.in}.${t.name}`).join(' and ')}`, op.loc, `qualify it: ${matches.map((t) => `'${t.in}.${t.name}'`).join(' or ')}`, suffix);
    return null;
  }
  const available = [...op.params.filter((p) => !IDEMPOTENCY_HEADER.test(p.name)).map((p) => p.name), ...(body?.view ? [...body.view.props.keys()] : [])];
  sink.error(
    'PARAM_NOT_IN_SPEC',
    `the spec has no ${where ?? 'parameter or body property'}${where === null ? '' : ' parameter'} '${name}' on ${op.method} ${op.path}`,
    `${op.loc}.parameters`,
    available.length > 0 ? `use one of: ${available.join(', ')} (renamed in the spec?)` : 'this operation takes no parameters; remove the entry',
    suffix,
  );
  return null;
}

export function checkExposable(ix: SpecIndex, target: Target, body: BodyInfo | null, sink: Sink, suffix: string): boolean {
  const p = target.param;
  const fail = (why: string, fix: string) => {
    sink.error('PARAM_UNSUPPORTED', `${target.in} parameter '${target.name}' ${why}`, target.loc, fix, suffix);
    return false;
  };
  if (target.in === 'cookie') return fail('is a cookie, which tools cannot send', 'choose an operation without cookie parameters');
  if (target.in === 'header' && IDEMPOTENCY_HEADER.test(target.name)) return fail('is set by the runtime (a fresh key per call)', 'remove it from the manifest');
  if (p !== null && target.raw === null) return fail('uses `content` instead of `schema`, so no value can be checked against it', 'leave it out of the manifest (choose another operation if the spec requires it)');
  if (p !== null) {
    const defaultStyle = p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple';
    const defaultExplode = defaultStyle === 'form';
    if ((p.style !== null && p.style !== defaultStyle) || (p.explode !== null && p.explode !== defaultExplode)) {
      return fail(`uses style '${p.style ?? defaultStyle}' explode ${String(p.explode ?? defaultExplode)}`, 'only the default serialization is supported; do not expose it');
    }
  }
  if (target.in === 'body' && target.raw !== null) {
    try {
      if (ix.doc.view(target.raw, { strict: false }).kw.readOnly === true) return fail('is readOnly (the server sets it)', 'do not expose it');
    } catch {
      // An unreadable schema is reported when it is materialized.
    }
    if (body?.contentType === 'application/x-www-form-urlencoded') {
      const v = ix.doc.view(target.raw, { strict: false });
      if (mayBe(v, admitsObject)) return fail('is a nested object in a form-encoded body', 'only scalar and list form fields can be exposed');
    }
  }
  return true;
}

/**
 * The view, or any oneOf/anyOf branch of it, admits the kind: Stripe's form fields are
 * `anyOf: [object, enum: ['']]`, which is an object as far as encoding is concerned.
 */
export function mayBe(v: SchemaView, admits: (v: SchemaView) => boolean): boolean {
  return admits(v) || v.altGroups.some((group) => group.some((branch) => mayBe(branch, admits)));
}

