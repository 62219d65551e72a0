// A request body built from the manifest's `body.template` (openapi/README.md, "Fixed values and
// body templates"): literal JSON with `{input}` placeholders, each filled with one bounded
// argument. Envelopes, rich-text documents and patch documents come from a few inputs this way.
// Checked here against the spec's body schema, so any valid arguments give a valid body.

import { findUnbounded, validateValue } from './jsonSchemaChecks.ts';
import { typesOf } from './jsonSchemaKeywords.ts';
import type { BodyTemplate, InputEntry } from './manifest.ts';
import { materialize, boundFix, boundMessage, manifestPathOf } from './inputSchema.ts';
import { narrowSchema } from './narrowing.ts';
import type { BodyInfo } from './requestBody.ts';
import { isObject, type JsonObject } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex } from './specIndex.ts';
import { TEMPLATE_PLACEHOLDER, type JsonValue } from './toolDefinition.ts';

const WHOLE = new RegExp(`^${TEMPLATE_PLACEHOLDER}$`);
const ANY = new RegExp(TEMPLATE_PLACEHOLDER, 'g');
const SUFFIX = '.body';

export interface TemplateInput {
  arg: string;
  schema: JsonObject;
  required: boolean;
  default?: JsonValue;
}

/** Where a placeholder sits: the whole value at a spec position, or inside a string. */
interface Use {
  arg: string;
  whole: boolean;
  /** The spec schema at that position (null: anything goes there). */
  spec: JsonObject | null;
  /** The literal text around inline placeholders, and the spec schema of the string. */
  at: string;
}

export interface CompiledTemplate {
  template: JsonValue;
  inputs: TemplateInput[];
}

export function compileBodyTemplate(ix: SpecIndex, body: BodyInfo | null, decl: BodyTemplate, sink: Sink): CompiledTemplate | null {
  if (body === null || body.contentType !== 'application/json' || body.raw === null) {
    const why = body === null ? 'the operation takes no request body' : body.contentType !== 'application/json' ? `its body is ${body.contentType ?? 'not JSON'}` : 'its body has no schema';
    sink.error('BODY_UNSUPPORTED', `body.template needs a JSON request body, but ${why}`, body?.loc ?? null, 'remove body.template; bind body properties with input and fixed', SUFFIX);
    return null;
  }
  const spec = materialize(ix, body.raw, sink, SUFFIX);
  if (spec === null) return null;

  const uses: Use[] = [];
  const walker = new TemplateWalker(sink, body.raw.loc, uses);
  walker.walk(decl.template, spec, '');
  let ok = walker.ok;

  const inputs: TemplateInput[] = [];
  for (const [arg, rawEntry] of Object.entries(decl.inputs)) {
    const entry: NonNullable<InputEntry> = rawEntry ?? {};
    const mine = uses.filter((u) => u.arg === arg);
    const here = `${SUFFIX}.inputs.${arg}`;
    if (mine.length === 0) {
      sink.error('NARROWING_INVALID', `body input '${arg}' is not used in body.template`, null, `use it as "{${arg}}" in the template, or remove it`, here);
      ok = false;
      continue;
    }
    const schema = inputSchema(ix, arg, entry, mine, sink, here, body.raw.loc);
    if (schema === null) {
      ok = false;
      continue;
    }
    inputs.push({ arg, schema, required: entry.default === undefined, ...(entry.default === undefined ? {} : { default: entry.default }) });
  }
  for (const u of uses) {
    if (!Object.hasOwn(decl.inputs, u.arg)) {
      sink.error('NARROWING_INVALID', `placeholder '{${u.arg}}' at template${u.at || ' root'} names no input under body.inputs`, null, `declare it: body.inputs.${u.arg}: { maxLength: N } (or give it an enum or pattern)`, `${SUFFIX}.template`);
      ok = false;
    }
  }
  if (ok) ok = checkInlineLengths(decl.template, spec, inputs, sink, body.raw.loc);
  return ok && walker.ok ? { template: decl.template, inputs } : null;
}

/** The argument's schema: the spec's at its position, narrowed by the manifest, bounded. */
function inputSchema(ix: SpecIndex, arg: string, entry: NonNullable<InputEntry>, uses: Use[], sink: Sink, here: string, loc: string): JsonObject | null {
  const { arg: renamed, required, default: fallback, ...narrowing } = entry;
  if (renamed !== undefined || required !== undefined) {
    sink.error('NARROWING_INVALID', `body input '${arg}' sets ${renamed !== undefined ? 'arg' : 'required'}`, null, 'the key is the argument name, and body inputs are required unless they have a default; remove it', here);
    return null;
  }
  let schema: JsonObject | null = null;
  for (const use of uses) {
    const base: JsonObject = use.whole ? structuredClone(use.spec ?? {}) : { type: narrowing.type ?? 'string' };
    if (!narrowSchema(base, narrowing, { ix, sink, raw: null, name: arg, manifestPath: here })) return null;
    if (schema !== null && JSON.stringify(schema) !== JSON.stringify(base)) {
      sink.error('NARROWING_INVALID', `'{${arg}}' is used where the spec allows different values (${use.at || 'root'} and elsewhere)`, loc, 'use a placeholder once, or give each place its own input', here);
      return null;
    }
    schema = base;
  }
  if (schema === null) return null;
  for (const p of findUnbounded(schema)) {
    sink.error(p.code, boundMessage(p.code, `${arg}${p.at}`), loc, boundFix(p.code, `body.inputs.${arg}${manifestPathOf(p.at)}`), here);
    return null;
  }
  if (uses.some((u) => !u.whole)) {
    const type = schema.type;
    if (type !== 'string' && type !== 'integer' && type !== 'number' && type !== 'boolean') {
      sink.error('NARROWING_INVALID', `'{${arg}}' is inside a string, so its value must be a single string, number or boolean (it is ${JSON.stringify(type ?? 'untyped')})`, loc, `set body.inputs.${arg}.type`, here);
      return null;
    }
    // Text inside a string must not be able to change what the string means (a path segment
    // that adds '/..' or a JSON-pointer '/'): only values the manifest spells out exactly.
    if (type === 'string' && schema.enum === undefined && typeof schema.pattern !== 'string') {
      sink.error('NARROWING_INVALID', `'{${arg}}' is inside a string but has neither a pattern nor an enum`, loc, `give body.inputs.${arg} an anchored pattern that excludes separators, e.g. pattern: '^[a-z0-9-]{1,40}$'`, here);
      return null;
    }
    if (type === 'string' && typeof schema.pattern === 'string' && !(schema.pattern.startsWith('^') && schema.pattern.endsWith('$'))) {
      sink.error('NARROWING_INVALID', `the pattern of '{${arg}}' is not anchored, so it bounds only part of the value`, loc, "start it with '^' and end it with '$'", here);
      return null;
    }
  }
  if (fallback !== undefined) {
    const invalid = validateValue(schema, fallback);
    if (invalid !== null) {
      sink.error('NARROWING_INVALID', `default ${JSON.stringify(fallback)} for '${arg}' is outside the allowed values (${invalid})`, loc, 'choose a default within the bounds', `${here}.default`);
      return null;
    }
    schema.default = fallback;
  }
  return schema;
}

/** Walks the template against the spec's materialized body schema, collecting placeholder uses. */
class TemplateWalker {
  ok = true;
  constructor(
    readonly sink: Sink,
    readonly loc: string,
    readonly uses: Use[],
  ) {}

  fail(at: string, message: string, fix: string): void {
    this.sink.error('FIXED_VALUE_INVALID', `template${at || ' root'}: ${message}`, this.loc, fix, `${SUFFIX}.template${at}`);
    this.ok = false;
  }

  walk(node: unknown, spec: JsonObject | null, at: string): void {
    const s = spec === null ? null : branchFor(spec, node);
    if (typeof node === 'string') return this.walkString(node, s, at);
    if (Array.isArray(node)) {
      if (!admits(s, 'array')) return this.fail(at, `the spec does not allow an array here (type ${typeText(s)})`, 'use the shape the spec gives');
      const count = (k: string) => (s !== null && typeof s[k] === 'number' ? (s[k]) : null);
      const min = count('minItems');
      const max = count('maxItems');
      if ((min !== null && node.length < min) || (max !== null && node.length > max)) return this.fail(at, `${node.length} items, the spec allows ${min ?? 0} to ${max ?? 'any'}`, 'change the number of items');
      node.forEach((item, i) => this.walk(item, s !== null && isObject(s.items) ? s.items : null, `${at}[${i}]`));
      return;
    }
    if (isObject(node)) {
      if (!admits(s, 'object')) return this.fail(at, `the spec does not allow an object here (type ${typeText(s)})`, 'use the shape the spec gives');
      const props = s !== null && isObject(s.properties) ? s.properties : {};
      for (const r of s !== null && Array.isArray(s.required) ? (s.required as string[]) : []) {
        if (!Object.hasOwn(node, r)) this.fail(at, `the spec requires property '${r}'`, `add '${r}' to the template`);
      }
      for (const [key, value] of Object.entries(node)) {
        let sub: JsonObject | null = null;
        if (isObject(props[key])) sub = props[key];
        else if (s !== null && s.additionalProperties === false) {
          this.fail(`${at}.${key}`, `the spec has no property '${key}' here`, Object.keys(props).length > 0 ? `use one of: ${Object.keys(props).join(', ')}` : 'remove it');
          continue;
        } else if (s !== null && isObject(s.additionalProperties)) sub = s.additionalProperties;
        this.walk(value, sub, `${at}.${key}`);
      }
      return;
    }
    if (s !== null) {
      const invalid = validateValue(s, node);
      if (invalid !== null) this.fail(at, `${JSON.stringify(node)} is not allowed by the spec (${invalid})`, 'use a value the spec schema accepts');
    }
  }

  walkString(text: string, s: JsonObject | null, at: string): void {
    const whole = WHOLE.exec(text);
    if (whole !== null) {
      this.uses.push({ arg: whole[1] as string, whole: true, spec: s, at });
      return;
    }
    const inline = [...text.matchAll(ANY)].map((m) => m[1] as string);
    if (inline.length === 0) {
      if (s !== null) {
        const invalid = validateValue(s, text);
        if (invalid !== null) this.fail(at, `${JSON.stringify(text)} is not allowed by the spec (${invalid})`, 'use a value the spec schema accepts');
      }
      return;
    }
    if (!admits(s, 'string')) return this.fail(at, `a placeholder inside a string makes a string, and the spec wants type ${typeText(s)} here`, 'use the placeholder alone as the whole value');
    for (const k of ['enum', 'const', 'pattern', 'format'] as const) {
      if (s !== null && s[k] !== undefined) return this.fail(at, `the spec gives this string a ${k}, which a string built from placeholders cannot be checked against`, 'use the placeholder alone as the whole value');
    }
    for (const arg of inline) this.uses.push({ arg, whole: false, spec: s, at });
  }
}

/** A spec position's schema, or the anyOf branch that admits the template node's JSON type. */
function branchFor(spec: JsonObject, node: unknown): JsonObject {
  if (!Array.isArray(spec.anyOf) || spec.type !== undefined) return spec;
  const kind = Array.isArray(node) ? 'array' : node === null ? 'null' : typeof node === 'object' ? 'object' : typeof node === 'number' ? 'number' : typeof node;
  const branches = spec.anyOf.filter(isObject);
  return branches.find((b) => admits(b, kind) && b.type !== undefined) ?? spec;
}

function admits(s: JsonObject | null, kind: string): boolean {
  if (s === null) return true;
  const types = typesOf(s);
  if (types === null) return !Array.isArray(s.anyOf) || s.anyOf.some((b) => isObject(b) && admits(b, kind));
  return types.includes(kind) || (kind === 'number' && types.includes('integer'));
}

function typeText(s: JsonObject | null): string {
  return s === null ? 'any' : (typesOf(s)?.join('|') ?? 'unspecified');
}

/** A string built from text and inline placeholders must fit the spec's maxLength at its place. */
function checkInlineLengths(template: unknown, spec: JsonObject, inputs: TemplateInput[], sink: Sink, loc: string): boolean {
  let ok = true;
  const longest = new Map(inputs.map((i) => [i.arg, maxTextLength(i.schema)]));
  const visit = (node: unknown, s: JsonObject | null, at: string): void => {
    const here = s === null ? null : branchFor(s, node);
    if (typeof node === 'string' && !WHOLE.test(node) && typeof here?.maxLength === 'number') {
      let total = node.replace(ANY, '').length;
      for (const m of node.matchAll(ANY)) total += longest.get(m[1] as string) ?? Infinity;
      if (total > here.maxLength) {
        ok = false;
        sink.error('FIXED_VALUE_INVALID', `template${at}: the filled string can be ${Number.isFinite(total) ? total : 'any number of'} characters, the spec allows ${here.maxLength}`, loc, 'lower the maxLength (or enum) of its inputs', `${SUFFIX}.template${at}`);
      }
    } else if (Array.isArray(node)) node.forEach((item, i) => visit(item, here !== null && isObject(here.items) ? here.items : null, `${at}[${i}]`));
    else if (isObject(node)) {
      for (const [key, value] of Object.entries(node)) {
        const props = here !== null && isObject(here.properties) ? here.properties : {};
        visit(value, isObject(props[key]) ? props[key] : here !== null && isObject(here.additionalProperties) ? here.additionalProperties : null, `${at}.${key}`);
      }
    }
  };
  visit(template, spec, '');
  return ok;
}

/** The longest text a scalar input can produce. */
function maxTextLength(s: JsonObject): number {
  if (Array.isArray(s.enum)) return Math.max(...s.enum.map((v) => String(v).length));
  if (typeof s.maxLength === 'number') return s.maxLength;
  if (s.type === 'boolean') return 5;
  if (s.type === 'integer' && typeof s.maximum === 'number' && typeof s.minimum === 'number') return Math.max(String(s.maximum).length, String(s.minimum).length);
  return Infinity;
}
