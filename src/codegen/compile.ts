// compileTools: spec + manifest → tool definitions, or every reason they cannot be generated.
// Pure: no I/O, no printing. `generate`, `lint` and `serve --spec --tools` all call this, so
// the same checks guard every way a tool surface can come into being (DESIGN decision 2).

import type { GenerationError, GenerationErrorCode, GenerationWarning } from './errors.ts';
import { checkToolDescription, findPoison } from './descriptionGuard.ts';
import { canonicalSchema, findUnbounded, schemaDescriptions, validateValue } from './jsonSchemaChecks.ts';
import { parseManifest, type InputEntry, type ManifestTool } from './manifest.ts';
import { checkSpecVersion } from './loadSpec.ts';
import { projectResponse } from './projection.ts';
import {
  admitsArray,
  admitsObject,
  isObject,
  SchemaCycleError,
  toJsonSchema,
  type JsonObject,
  type RawSchema,
  type SchemaView,
} from './schemaView.ts';
import { destructiveReason, isHttpMethod, SpecIndex, type SpecOperation, type SpecParameter } from './specIndex.ts';
import type {
  ApprovalSpec,
  ArgBinding,
  ArgLocation,
  FixedValue,
  HttpMethod,
  OperationBinding,
  Risk,
  ToolAnnotations,
  ToolDefinition,
} from './toolDefinition.ts';

export interface OperationSummary {
  operationId: string | null;
  method: string;
  path: string;
  scopes: string[];
  destructive: boolean;
  summary: string | null;
}

export interface CompileResult {
  /** Tools that compiled cleanly, sorted by name. Use them only when `errors` is empty. */
  tools: ToolDefinition[];
  errors: GenerationError[];
  warnings: GenerationWarning[];
  /** Every operation in the spec, in spec order (for the blast-radius report). */
  operations: OperationSummary[];
  /** The manifest's `apiTypes` setting. */
  apiTypes: 'all' | 'exposed';
}

export interface CompileOptions {
  /** The bundled spec document (loadSpec). */
  spec: JsonObject;
  /** The manifest as parsed YAML (an object with `version` and `tools`). */
  manifest: unknown;
}

export const NAME_RULE = /^[a-z][a-zA-Z0-9]*$/;
const ARG_RULE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const IDEMPOTENCY_HEADER = /^idempotency-key$/i;
/** Headers OpenAPI says to ignore as parameters; the runtime owns them. */
const IGNORED_HEADERS = /^(accept|content-type|authorization)$/i;
const STRICT = { strict: true };

export function compileTools({ spec, manifest }: CompileOptions): CompileResult {
  const errors: GenerationError[] = [];
  const warnings: GenerationWarning[] = [];
  const versionError = checkSpecVersion(spec);
  if (versionError !== null) return { tools: [], errors: [versionError], warnings, operations: [], apiTypes: 'all' };

  const ix = new SpecIndex(spec);
  const parsed = parseManifest(manifest);
  errors.push(...parsed.errors);

  const tools: ToolDefinition[] = [];
  const seen = new Map<string, number>();
  for (const { index, tool } of parsed.tools) {
    const sink = new Sink(tool.name, `tools[${index}]`);
    const earlier = seen.get(tool.name);
    if (earlier !== undefined) {
      sink.error('NAME_DUPLICATE', `name "${tool.name}" is already used by tools[${earlier}]`, null, 'give each tool a unique name', '.name');
    } else seen.set(tool.name, index);
    let def: ToolDefinition | null = null;
    try {
      def = compileTool(ix, tool, sink);
    } catch (err) {
      // A spec the walker cannot follow (e.g. a `$ref` that points nowhere) is an error, not a crash.
      sink.error('SPEC_UNREADABLE', `cannot read the spec for this tool: ${(err as Error).message}`, null, 'fix the spec (`npx @redocly/cli lint` points at the problem)');
    }
    errors.push(...sink.errors);
    warnings.push(...sink.warnings);
    if (def !== null && sink.errors.length === 0) tools.push(def);
  }
  tools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const operations = ix.operations.map((op) => ({
    operationId: op.operationId,
    method: op.method,
    path: op.path,
    scopes: ix.scopes(op).scopes,
    destructive: destructiveReason(op) !== null,
    summary: typeof op.op.summary === 'string' ? op.op.summary : null,
  }));
  return { tools, errors, warnings, operations, apiTypes: parsed.apiTypes };
}

/** Collects problems for one tool. */
class Sink {
  readonly errors: GenerationError[] = [];
  readonly warnings: GenerationWarning[] = [];
  constructor(
    readonly tool: string,
    readonly base: string,
  ) {}
  error(code: GenerationErrorCode, message: string, specPath: string | null, fix: string, manifestSuffix = ''): void {
    this.errors.push({ code, tool: this.tool, manifestPath: `${this.base}${manifestSuffix}`, specPath, message, fix });
  }
  warn(message: string, manifestSuffix = ''): void {
    this.warnings.push({ tool: this.tool, manifestPath: `${this.base}${manifestSuffix}`, message });
  }
}

/** Something a manifest key can name: a parameter or a top-level body property. */
interface Target {
  in: ArgLocation | 'cookie';
  name: string;
  required: boolean;
  description: string | null;
  raw: RawSchema | null;
  param: SpecParameter | null;
  /** Where it is defined in the spec. */
  loc: string;
}

interface BodyInfo {
  contentType: 'application/json' | 'application/x-www-form-urlencoded' | null;
  required: boolean;
  view: SchemaView | null;
  loc: string;
  unsupported: string | null;
}

function compileTool(ix: SpecIndex, t: ManifestTool, sink: Sink): ToolDefinition | null {
  checkName(t, sink);
  const op = findOperation(ix, t.operation, sink, '.operation');
  if (op === null) return null;
  const method = op.method;
  if (!isHttpMethod(method)) {
    sink.error('UNKNOWN_OPERATION', `operation '${t.operation}' uses ${method}, which tools cannot call`, op.loc, 'choose a GET, HEAD, POST, PUT, PATCH or DELETE operation', '.operation');
    return null;
  }
  checkRisk(t, op, method, sink);

  // Inputs.
  const body = readBody(ix, op);
  const args: ArgBinding[] = [];
  const fixed: FixedValue[] = [];
  const properties: JsonObject = {};
  const required: string[] = [];
  const bound = new Set<string>(); // `${in}:${name}`
  const argNames = new Map<string, string>();

  for (const [key, rawOpts] of Object.entries(t.input)) {
    const opts: NonNullable<InputEntry> = rawOpts ?? {};
    const suffix = `.input.${key}`;
    const target = resolveTarget(ix, op, body, key, sink, suffix);
    if (target === null) continue;
    const arg = opts.arg ?? target.name;
    if (!ARG_RULE.test(arg)) {
      sink.error('PARAM_UNSUPPORTED', `'${target.name}' is not a usable argument name`, target.loc, `set \`arg:\` to a name like '${toArgName(target.name)}'`, suffix);
      continue;
    }
    const clash = argNames.get(arg);
    if (clash !== undefined) {
      sink.error('PARAM_AMBIGUOUS', `argument name '${arg}' is used by both ${clash} and input.${key}`, target.loc, 'rename one with `arg:`', suffix);
      continue;
    }
    argNames.set(arg, `input.${key}`);
    if (!checkExposable(ix, target, body, sink, suffix)) continue;
    const schema = inputSchemaFor(ix, target, opts, sink, suffix);
    if (schema === null) continue;
    const problems = findUnbounded(schema);
    for (const p of problems) sink.error(p.code, boundMessage(p.code, `${arg}${p.at}`), target.loc, boundFix(p.code, arg, p.at === ''), suffix);
    properties[arg] = schema;
    if (target.required || opts.required === true) required.push(arg);
    args.push({ arg, in: target.in as ArgLocation, name: target.name });
    bound.add(`${target.in}:${target.name}`);
  }

  for (const [key, value] of Object.entries(t.fixed)) {
    const suffix = `.fixed.${key}`;
    if (Object.hasOwn(t.input, key)) {
      sink.error('FIXED_VALUE_INVALID', `'${key}' is both in input and in fixed`, null, 'keep it in one of them: fixed if the model must not choose it', suffix);
      continue;
    }
    const target = resolveTarget(ix, op, body, key, sink, suffix);
    if (target === null || !checkExposable(ix, target, body, sink, suffix)) continue;
    const schema = target.raw === null ? null : materialize(ix, target.raw, sink, suffix);
    if (schema === null) continue;
    const invalid = validateValue(schema, value);
    if (invalid !== null) {
      sink.error('FIXED_VALUE_INVALID', `fixed value ${JSON.stringify(value)} for '${target.name}' is not allowed by the spec (${invalid})`, target.loc, 'use a value the spec schema accepts', suffix);
      continue;
    }
    fixed.push({ in: target.in as ArgLocation, name: target.name, value });
    bound.add(`${target.in}:${target.name}`);
  }

  let idempotencyKeyHeader: string | null = null;
  for (const p of op.params) {
    if (p.in === 'header' && IDEMPOTENCY_HEADER.test(p.name)) {
      idempotencyKeyHeader = p.name;
      continue;
    }
    if (p.in === 'header' && IGNORED_HEADERS.test(p.name)) continue;
    if (p.required && !bound.has(`${p.in}:${p.name}`)) {
      sink.error(
        'REQUIRED_PARAM_UNBOUND',
        `required ${p.in} parameter '${p.name}' is neither exposed nor fixed`,
        p.loc,
        `add \`${p.name}: {}\` under input (the model sets it) or \`${p.name}: <value>\` under fixed (the server always sends it)`,
        '',
      );
    }
  }

  const bodyBound = args.some((a) => a.in === 'body') || fixed.some((f) => f.in === 'body');
  let bodyBinding: OperationBinding['body'] = null;
  if (body !== null && (bodyBound || body.required)) {
    if (body.unsupported !== null || body.contentType === null) {
      if (body.required) sink.error('BODY_UNSUPPORTED', `the request body is required but ${body.unsupported ?? 'unsupported'}`, body.loc, 'choose an operation with a JSON or form-encoded object body', '');
    } else {
      bodyBinding = { contentType: body.contentType, required: body.required };
      for (const r of body.view?.required ?? []) {
        if (!bound.has(`body:${r}`)) {
          sink.error('REQUIRED_PARAM_UNBOUND', `required body property '${r}' is neither exposed nor fixed`, `${body.view?.loc ?? body.loc}.properties.${r}`, `add \`${r}: {}\` under input or \`${r}: <value>\` under fixed`, '');
        }
      }
    }
  }

  const inputSchema: JsonObject = { type: 'object', properties };
  if (required.length > 0) inputSchema.required = required;
  inputSchema.additionalProperties = false;

  // Output.
  const success = successResponse(ix, op);
  const { schema: outputSchema, rootArray } = compileOutput(ix, t, success.raw, sink);
  const { scopes, alternatives } = ix.scopes(op);
  if (alternatives > 1) sink.warn(`the operation has ${alternatives} alternative security requirements; backend scopes come from the first`);
  if (t.risk !== 'read' && scopes.length === 0 && t.callerScopes === undefined) {
    sink.warn('the operation declares no scopes, so every authenticated caller can see this write tool; set callerScopes');
  }

  const operation: OperationBinding = {
    operationId: t.operation,
    method,
    path: op.path,
    args,
    fixed,
    body: bodyBinding,
    successStatuses: success.statuses,
    idempotencyKeyHeader,
  };
  const approval = compileApproval(ix, t, args, sink);

  const def: ToolDefinition = {
    name: t.name,
    title: t.title,
    description: t.description,
    risk: t.risk,
    annotations: annotationsFor(t.risk, method, t.title),
    backendScopes: scopes,
    callerScopes: t.callerScopes ?? scopes,
    operation,
    inputSchema: canonicalSchema(inputSchema) as ToolDefinition['inputSchema'],
    outputSchema: canonicalSchema(outputSchema) as ToolDefinition['outputSchema'],
    output: {
      pick: t.output.pick,
      listCaps: t.output.listCaps,
      maxBytes: t.output.maxBytes,
      untrusted: t.output.untrusted,
      rootArray,
    },
    approval,
    timeoutMs: t.timeoutMs,
  };
  guardTexts(def, t, sink);
  return def;
}

function checkName(t: ManifestTool, sink: Sink): void {
  if (t.name.length > 64) sink.error('NAME_INVALID', `name "${t.name}" is ${t.name.length} characters; the limit is 64`, null, 'shorten the name', '.name');
  if (!NAME_RULE.test(t.name)) sink.error('NAME_INVALID', `name "${t.name}" is not camelCase (letters and digits, starting lower-case)`, null, `rename it, e.g. "${toArgName(t.name)}"`, '.name');
  if (t.title.trim() === '' || t.title.length > 80 || t.title.includes('\n')) sink.error('NAME_INVALID', 'title must be one line of 1–80 characters', null, 'shorten the title', '.title');
  if (t.description.length > 1024) sink.error('DESCRIPTION_POISONED', `description is ${t.description.length} characters; the limit is 1024`, null, 'say what, when and what it returns, briefly', '.description');
}

function toArgName(s: string): string {
  const words = s.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  const out = words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join('');
  return /^[a-z]/.test(out) ? out : `x${out}`;
}

function findOperation(ix: SpecIndex, id: string, sink: Sink, suffix: string): SpecOperation | null {
  const found = ix.find(id);
  if (found.length === 1) return found[0] as SpecOperation;
  if (found.length > 1) {
    sink.error('UNKNOWN_OPERATION', `operationId '${id}' is used by ${found.length} operations`, found.map((o) => o.loc).join(', '), 'make operationIds unique in the spec', suffix);
    return null;
  }
  const near = closest(id, ix.operationIds());
  sink.error('UNKNOWN_OPERATION', `unknown operationId '${id}'`, 'paths', near !== null ? `did you mean '${near}'? (renamed in the spec?)` : 'use an operationId from the spec', suffix);
  return null;
}

function closest(word: string, options: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best !== null && bestD <= Math.max(3, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

function checkRisk(t: ManifestTool, op: SpecOperation, method: HttpMethod, sink: Sink): void {
  const reason = destructiveReason(op);
  if (t.risk === 'read' && method !== 'GET' && method !== 'HEAD') {
    sink.error('RISK_MISMATCH', `risk is 'read' but the operation is ${method} ${op.path}, which changes state`, op.loc, "set `risk: write` (and add an approval), or choose a GET operation", '.risk');
  }
  if (reason !== null && t.risk !== 'destructive') {
    sink.error('RISK_MISMATCH', `the operation is destructive (${reason}) but risk is '${t.risk}'`, op.loc, 'set `risk: destructive` and `allowDestructive: true` if a human really wants this exposed; otherwise remove the tool', '.risk');
  }
  if (t.risk === 'destructive' && t.allowDestructive !== true) {
    sink.error('DESTRUCTIVE_NOT_ALLOWED', 'destructive tools are refused unless the manifest says `allowDestructive: true`', op.loc, 'add `allowDestructive: true` after review, or remove the tool', '.risk');
  }
  if (t.risk === 'write' && (method === 'GET' || method === 'HEAD')) {
    sink.warn(`risk is 'write' on a ${method} operation; 'read' would skip the approval step`, '.risk');
  }
}

function readBody(ix: SpecIndex, op: SpecOperation): BodyInfo | null {
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
    return { contentType: null, required, view: null, loc, unsupported: `its content types (${types.join(', ') || 'none'}) are not JSON or form-encoded` };
  }
  const media = content[chosen];
  const schemaLoc = `${loc}.content.${chosen}.schema`;
  const contentType = json !== undefined ? 'application/json' : 'application/x-www-form-urlencoded';
  if (!isObject(media) || media.schema === undefined) return { contentType, required, view: null, loc: schemaLoc, unsupported: 'it has no schema' };
  try {
    const view = ix.doc.view({ schema: media.schema, loc: schemaLoc }, STRICT);
    if (!admitsObject(view)) return { contentType, required, view: null, loc: view.loc, unsupported: 'it is not an object' };
    if (view.altGroups.length > 0) return { contentType, required, view: null, loc: view.loc, unsupported: 'it is polymorphic (oneOf/anyOf)' };
    return { contentType, required, view, loc: view.loc, unsupported: null };
  } catch (err) {
    return { contentType, required, view: null, loc: schemaLoc, unsupported: `its schema cannot be read (${(err as Error).message})` };
  }
}

/** Finds what `key` ('status', 'query.status', 'body.visibility') names; exactly one match. */
function resolveTarget(ix: SpecIndex, op: SpecOperation, body: BodyInfo | null, key: string, sink: Sink, suffix: string): Target | null {
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

function checkExposable(ix: SpecIndex, target: Target, body: BodyInfo | null, sink: Sink, suffix: string): boolean {
  const p = target.param;
  const fail = (why: string, fix: string) => {
    sink.error('PARAM_UNSUPPORTED', `${target.in} parameter '${target.name}' ${why}`, target.loc, fix, suffix);
    return false;
  };
  if (target.in === 'cookie') return fail('is a cookie, which tools cannot send', 'choose an operation without cookie parameters');
  if (target.in === 'header' && IDEMPOTENCY_HEADER.test(target.name)) return fail('is set by the runtime (a fresh key per call)', 'remove it from the manifest');
  if (p !== null && target.raw === null) return fail('uses `content` instead of `schema`', 'describe it with `schema` in the spec');
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
function mayBe(v: SchemaView, admits: (v: SchemaView) => boolean): boolean {
  return admits(v) || v.altGroups.some((group) => group.some((branch) => mayBe(branch, admits)));
}

function materialize(ix: SpecIndex, raw: RawSchema, sink: Sink, suffix: string): JsonObject | null {
  try {
    return toJsonSchema(ix.doc, ix.doc.view(raw, STRICT), 'input');
  } catch (err) {
    if (err instanceof SchemaCycleError) {
      sink.error('SCHEMA_CYCLE', `the input schema is recursive (through ${err.ref})`, raw.loc, 'do not expose a recursive structure; expose its scalar fields, or fix values', suffix);
    } else {
      sink.error('MANIFEST_INVALID', `cannot read the schema: ${(err as Error).message}`, raw.loc, 'fix the `$ref` in the spec', suffix);
    }
    return null;
  }
}

function inputSchemaFor(ix: SpecIndex, target: Target, opts: NonNullable<InputEntry>, sink: Sink, suffix: string): JsonObject | null {
  if (target.raw === null) return null;
  const schema = materialize(ix, target.raw, sink, suffix);
  if (schema === null) return null;
  const view = ix.doc.view(target.raw, STRICT);
  if (target.in === 'path' && (mayBe(view, admitsObject) || mayBe(view, admitsArray))) {
    sink.error('PARAM_UNSUPPORTED', `path parameter '${target.name}' is not a scalar`, target.loc, 'only scalar path parameters can be exposed', suffix);
    return null;
  }
  if ((target.in === 'query' || target.in === 'header') && mayBe(view, admitsObject)) {
    sink.error('PARAM_UNSUPPORTED', `${target.in} parameter '${target.name}' is an object`, target.loc, 'only scalar and list parameters can be exposed', suffix);
    return null;
  }
  const description = opts.description ?? target.description ?? (typeof schema.description === 'string' ? schema.description : null);
  if (description !== null && description.trim() !== '') schema.description = description.trim();
  else delete schema.description;
  if (!narrow(schema, opts, target, sink, suffix)) return null;
  return schema;
}

const MAX_KEYS = ['maximum', 'maxLength', 'maxItems'] as const;
const MIN_KEYS = ['minimum', 'minLength', 'minItems'] as const;
const APPLIES: Record<string, string[]> = {
  maximum: ['integer', 'number'],
  minimum: ['integer', 'number'],
  maxLength: ['string'],
  minLength: ['string'],
  pattern: ['string'],
  maxItems: ['array'],
  minItems: ['array'],
};

/** Applies manifest narrowing; each keyword may only tighten the spec. */
function narrow(schema: JsonObject, opts: NonNullable<InputEntry>, target: Target, sink: Sink, suffix: string): boolean {
  let ok = true;
  const fail = (code: 'NARROWING_WIDENS' | 'NARROWING_INVALID', message: string, fix: string, key: string) => {
    sink.error(code, message, target.loc, fix, `${suffix}.${key}`);
    ok = false;
  };
  // Types at the top level, or in anyOf branches (`oneOf: [string, integer]` takes maxLength).
  const typesOf = (x: unknown): string[] => (!isObject(x) ? [] : typeof x.type === 'string' ? [x.type] : Array.isArray(x.type) ? (x.type as string[]) : []);
  const types = [...typesOf(schema), ...(Array.isArray(schema.anyOf) ? schema.anyOf.flatMap(typesOf) : [])];
  for (const key of [...MAX_KEYS, ...MIN_KEYS, 'pattern'] as const) {
    const val = opts[key];
    if (val === undefined) continue;
    const applies = APPLIES[key] ?? [];
    if (!types.some((t) => applies.includes(t))) {
      fail('NARROWING_INVALID', `'${key}' does not apply to '${target.name}' (type ${types.join('|') || 'unspecified'})`, `remove '${key}'`, key);
      continue;
    }
    const spec = schema[key];
    if (key === 'pattern') {
      try {
        new RegExp(val as string, 'u');
      } catch {
        fail('NARROWING_INVALID', `pattern ${JSON.stringify(val)} is not a valid regular expression`, 'fix the pattern', key);
        continue;
      }
      if (spec !== undefined && spec !== val) {
        fail('NARROWING_INVALID', `'${target.name}' already has the spec pattern ${JSON.stringify(spec)}; a second pattern cannot be checked to be narrower`, 'use enum or maxLength instead', key);
        continue;
      }
    } else if (typeof spec === 'number') {
      const isMax = (MAX_KEYS as readonly string[]).includes(key);
      if (isMax ? (val as number) > spec : (val as number) < spec) {
        fail('NARROWING_WIDENS', `${key} ${String(val)} for '${target.name}' is ${isMax ? 'above' : 'below'} the spec's ${key} ${spec}; narrowing may only tighten`, `use a ${key} ${isMax ? '≤' : '≥'} ${spec}`, key);
        continue;
      }
    }
    schema[key] = val;
  }
  if (opts.enum !== undefined) {
    const specEnum = schema.enum;
    if (Array.isArray(specEnum)) {
      const allowed = new Set(specEnum.map((v) => JSON.stringify(v)));
      const extra = opts.enum.filter((v) => !allowed.has(JSON.stringify(v)));
      if (extra.length > 0) fail('NARROWING_WIDENS', `enum values ${extra.map((v) => JSON.stringify(v)).join(', ')} for '${target.name}' are not in the spec's enum`, `use a subset of ${JSON.stringify(specEnum)}`, 'enum');
      else schema.enum = opts.enum;
    } else {
      const bad = opts.enum.map((v) => [v, validateValue(schema, v)] as const).filter(([, e]) => e !== null);
      if (bad.length > 0) fail('NARROWING_INVALID', `enum value ${JSON.stringify(bad[0]?.[0])} for '${target.name}' is not allowed by the spec (${bad[0]?.[1]})`, 'use values the spec schema accepts', 'enum');
      else schema.enum = opts.enum;
    }
  }
  if (opts.default !== undefined) {
    const invalid = validateValue({ ...schema, default: undefined }, opts.default);
    if (invalid !== null) fail('NARROWING_INVALID', `default ${JSON.stringify(opts.default)} for '${target.name}' is outside the allowed values (${invalid})`, 'choose a default within the bounds', 'default');
    else schema.default = opts.default;
  } else if (schema.default !== undefined && ok) {
    const { default: specDefault, ...rest } = schema;
    const invalid = validateValue(rest, specDefault);
    if (invalid !== null) fail('NARROWING_INVALID', `the spec's default ${JSON.stringify(specDefault)} for '${target.name}' is outside the narrowed bounds (${invalid})`, 'set a `default:` within the narrowed bounds', 'default');
  }
  return ok;
}

function boundMessage(code: string, where: string): string {
  switch (code) {
    case 'INPUT_UNBOUNDED_STRING':
      return `string input '${where}' has none of maxLength, pattern, enum or format`;
    case 'INPUT_UNBOUNDED_ARRAY':
      return `array input '${where}' has no maxItems`;
    case 'INPUT_OPEN_OBJECT':
      return `object input '${where}' allows extra properties`;
    default:
      return `input '${where}' accepts any JSON value`;
  }
}

function boundFix(code: string, arg: string, topLevel: boolean): string {
  const manifest = topLevel ? ` or narrow it in the manifest (input.${arg}.` : '';
  switch (code) {
    case 'INPUT_UNBOUNDED_STRING':
      return `add maxLength, pattern, enum or format in the spec${manifest}${topLevel ? 'maxLength: N)' : ''}`;
    case 'INPUT_UNBOUNDED_ARRAY':
      return `add maxItems in the spec${manifest}${topLevel ? 'maxItems: N)' : ''}`;
    case 'INPUT_OPEN_OBJECT':
      return 'add `additionalProperties: false` to the schema in the spec, or do not expose it';
    default:
      return 'give it a type and bounds in the spec, or do not expose it';
  }
}

function successResponse(ix: SpecIndex, op: SpecOperation): { statuses: number[]; raw: RawSchema | null } {
  const responses = isObject(op.op.responses) ? op.op.responses : {};
  const codes = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c));
  const statuses = codes.filter((c) => /^\d+$/.test(c)).map(Number).sort((a, b) => a - b);
  const ordered = [...codes].sort();
  for (const code of ordered) {
    const { node, loc } = ix.doc.deref(responses[code], `${op.loc}.responses.${code}`);
    if (!isObject(node) || !isObject(node.content)) continue;
    const types = Object.keys(node.content);
    const json = types.find((c) => /^application\/json\b/i.test(c)) ?? types.find((c) => /^application\/[\w.-]+\+json\b/i.test(c));
    if (json === undefined) continue;
    const media = node.content[json];
    if (!isObject(media) || media.schema === undefined) continue;
    return { statuses: codes.some((c) => /XX/i.test(c)) ? [] : statuses, raw: { schema: media.schema, loc: `${loc}.content.${json}.schema` } };
  }
  return { statuses: codes.some((c) => /XX/i.test(c)) ? [] : statuses, raw: null };
}

function compileOutput(ix: SpecIndex, t: ManifestTool, raw: RawSchema | null, sink: Sink): { schema: JsonObject; rootArray: boolean } {
  let root = raw;
  let rootArray = false;
  if (raw !== null) {
    try {
      const v = ix.doc.view(raw, { strict: false });
      if (admitsArray(v) && !admitsObject(v)) {
        // structuredContent must be an object: a top-level list is projected as { items: [...] }.
        rootArray = true;
        root = { schema: { type: 'object', required: ['items'], properties: { items: raw.schema } }, loc: raw.loc };
      }
    } catch (err) {
      sink.error('PICK_NOT_IN_RESPONSE', `cannot read the response schema: ${(err as Error).message}`, raw.loc, 'fix the response schema in the spec', '.output');
      return { schema: { type: 'object', properties: {} }, rootArray };
    }
  }
  const projection = projectResponse(ix.doc, root, t.output.pick, t.output.listCaps);
  for (const p of projection.problems) {
    const i = t.output.pick.indexOf(p.pick);
    sink.error(p.kind, p.message, p.specPath, p.fix, i >= 0 ? `.output.pick[${i}]` : '.output.pick');
  }
  for (const key of Object.keys(t.output.listCaps)) {
    if (!projection.arrayPaths.includes(key) && projection.problems.length === 0) {
      sink.error('OUTPUT_INVALID', `listCaps key '${key}' is not a list in the picked output`, raw?.loc ?? null, `use one of: ${projection.arrayPaths.join(', ') || '(no lists picked)'}`, `.output.listCaps.${key}`);
    }
  }
  t.output.untrusted.forEach((u, i) => {
    if (!t.output.pick.includes(u)) sink.error('OUTPUT_INVALID', `untrusted path '${u}' is not in pick`, null, 'list only picked paths as untrusted', `.output.untrusted[${i}]`);
  });
  for (const f of projection.freeText) {
    if (!t.output.untrusted.includes(f)) sink.warn(`picked free-text field '${f}' is not marked untrusted; backend text reaching the model should be`, '.output.untrusted');
  }
  return { schema: projection.schema, rootArray };
}

const PLACEHOLDER = /\{([^{}]+)\}/g;

function compileApproval(ix: SpecIndex, t: ManifestTool, args: ArgBinding[], sink: Sink): ApprovalSpec | null {
  const a = t.approval;
  if (a === undefined) {
    if (t.risk !== 'read') sink.error('APPROVAL_INVALID', `a ${t.risk} tool needs an approval message a human confirms`, null, "add `approval: { message: \"... '{arg}' ...?\" }`", '.approval');
    return null;
  }
  let lookup: ApprovalSpec['lookup'] = null;
  if (a.lookup !== undefined) {
    const l = a.lookup;
    const op = findOperation(ix, l.operation, sink, '.approval.lookup.operation');
    if (op !== null) {
      if ((op.method !== 'GET' && op.method !== 'HEAD') || destructiveReason(op) !== null) {
        sink.error('APPROVAL_INVALID', `approval lookup '${l.operation}' must be a read (GET/HEAD) operation`, op.loc, 'look up with a GET operation', '.approval.lookup.operation');
      } else {
        const largs: ArgBinding[] = [];
        const lfixed: FixedValue[] = [];
        const boundHere = new Set<string>();
        for (const [key, value] of Object.entries(l.args)) {
          const suffix = `.approval.lookup.args.${key}`;
          const target = resolveTarget(ix, op, null, key, sink, suffix);
          if (target === null) continue;
          const ref = typeof value === 'string' ? /^\{([A-Za-z][A-Za-z0-9_]*)\}$/.exec(value) : null;
          if (ref !== null) {
            const arg = ref[1] as string;
            if (!args.some((x) => x.arg === arg)) {
              sink.error('APPROVAL_INVALID', `lookup argument '{${arg}}' is not an argument of this tool`, null, `use one of: ${args.map((x) => `{${x.arg}}`).join(', ')}`, suffix);
              continue;
            }
            largs.push({ arg, in: target.in as ArgLocation, name: target.name });
          } else {
            lfixed.push({ in: target.in as ArgLocation, name: target.name, value });
          }
          boundHere.add(`${target.in}:${target.name}`);
        }
        for (const p of op.params) {
          if (p.required && !boundHere.has(`${p.in}:${p.name}`) && !IDEMPOTENCY_HEADER.test(p.name)) {
            sink.error('REQUIRED_PARAM_UNBOUND', `approval lookup '${l.operation}' needs '${p.name}'`, p.loc, `add \`${p.name}: '{${p.name}}'\` under approval.lookup.args`, '.approval.lookup.args');
          }
        }
        const success = successResponse(ix, op);
        const projection = projectResponse(ix.doc, success.raw, l.pick, {});
        for (const p of projection.problems) sink.error(p.kind, `approval lookup: ${p.message}`, p.specPath, p.fix, '.approval.lookup.pick');
        lookup = {
          operation: {
            operationId: l.operation,
            method: op.method,
            path: op.path,
            args: largs,
            fixed: lfixed,
            body: null,
            successStatuses: success.statuses,
            idempotencyKeyHeader: null,
          },
          backendScopes: ix.scopes(op).scopes,
          pick: l.pick,
        };
      }
    }
  }
  a.lookup?.pick.forEach((p, i) => {
    if (!/^[A-Za-z0-9_]+$/.test(p)) {
      sink.error('APPROVAL_INVALID', `approval lookup pick '${p}' is not a top-level field name`, null, 'pick top-level scalar fields; the message shows them as {lookup.<field>}', `.approval.lookup.pick[${i}]`);
    }
  });
  // The runtime fills {arg} from the call's arguments and {lookup.field} from the lookup.
  for (const m of a.message.matchAll(PLACEHOLDER)) {
    const name = m[1] as string;
    const simple = /^(lookup\.)?[A-Za-z0-9_]+$/.test(name);
    if (!simple) {
      sink.error('APPROVAL_INVALID', `approval message placeholder '{${name}}' is not {arg} or {lookup.field}`, null, 'use {argName} or {lookup.field}', '.approval.message');
    } else if (name.startsWith('lookup.')) {
      if (!a.lookup?.pick.includes(name.slice('lookup.'.length))) {
        sink.error('APPROVAL_INVALID', `approval message placeholder '{${name}}' is not a lookup pick`, null, a.lookup ? `add '${name.slice(7)}' to approval.lookup.pick` : 'add an approval.lookup', '.approval.message');
      }
    } else if (!args.some((x) => x.arg === name)) {
      const known = args.map((x) => `{${x.arg}}`).join(', ');
      sink.error('APPROVAL_INVALID', `approval message placeholder '{${name}}' is not an argument of this tool`, null, known === '' ? 'remove the placeholder' : `use one of: ${known}`, '.approval.message');
    }
  }
  return { message: a.message, lookup, withoutElicitation: a.withoutElicitation ?? null };
}

/** Risk tiers → MCP annotations (DESIGN decision 5). All four hints always set. */
export function annotationsFor(risk: Risk, method: HttpMethod, title: string): ToolAnnotations {
  switch (risk) {
    case 'read':
      return { title, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
    case 'write':
      return { title, readOnlyHint: false, destructiveHint: false, idempotentHint: method === 'PUT', openWorldHint: false };
    case 'destructive':
      return { title, readOnlyHint: false, destructiveHint: true, idempotentHint: method === 'DELETE' || method === 'PUT', openWorldHint: false };
  }
}

/** The tool-poisoning guard over every text the model reads in tools/list. */
function guardTexts(def: ToolDefinition, t: ManifestTool, sink: Sink): void {
  const report = (where: string, findings: ReturnType<typeof findPoison>, specPath: string | null, fix: string, suffix: string) => {
    for (const f of findings) sink.error('DESCRIPTION_POISONED', `${where} contains ${f.what}: "${f.excerpt}"`, specPath, fix, suffix);
  };
  report('title', findPoison(t.title), null, 'describe what the tool does; do not instruct the model', '.title');
  if (t.approval?.withoutElicitation) {
    report('approval.withoutElicitation', findPoison(t.approval.withoutElicitation), null, 'say plainly that nothing was done and where a human can do it', '.approval.withoutElicitation');
  }
  report(
    'description',
    checkToolDescription(t.description, t.risk !== 'read'),
    null,
    t.risk === 'read'
      ? 'describe what the tool does, when to use it and what it returns; no instructions to the model'
      : "describe the tool plainly and end with \"WARNING: <effect>. Confirm with the user before calling.\"",
    '.description',
  );
  for (const { at, text } of schemaDescriptions(def.inputSchema)) {
    const arg = /^properties\.([^.]+)/.exec(at)?.[1] ?? '';
    const fromManifest = t.input[arg]?.description !== undefined || Object.values(t.input).some((v) => v?.arg === arg && v.description !== undefined);
    report(`inputSchema.${at}`, findPoison(text), fromManifest ? null : `(description of input '${arg}' in the spec)`, fromManifest ? 'reword the description' : `reword it in the spec, or override it with input.${arg}.description`, `.input.${arg}`);
  }
  for (const { at, text } of schemaDescriptions(def.outputSchema)) {
    report(`outputSchema.${at}`, findPoison(text), '(a response schema description in the spec)', 'reword the description in the spec', '.output');
  }
}
