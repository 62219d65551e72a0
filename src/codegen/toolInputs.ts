// A tool's inputs: the manifest's `input` (what the model may set, narrowed) and `fixed` (what
// the server always sends), bound to the operation, plus the request body they fill.

import { ArgumentBinder } from './argumentBinder.ts';
import { checkExposable, resolveTarget, type Target } from './bindTargets.ts';
import { compileBodyTemplate } from './bodyTemplate.ts';
import { boundFix, boundMessage, inputSchemaFor, manifestPathOf, materialize } from './inputSchema.ts';
import { findUnbounded, validateValue } from './jsonSchemaChecks.ts';
import type { InputEntry, ManifestTool, Narrowing } from './manifest.ts';
import type { BodyInfo } from './requestBody.ts';
import type { JsonObject } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex, SpecOperation } from './specIndex.ts';
import type { JsonValue, OperationBinding } from './toolDefinition.ts';
import { ARG_RULE, toArgName } from './toolNames.ts';

export interface ToolInputs {
  binder: ArgumentBinder;
  /** The strict input schema: every argument, no extra properties. */
  inputSchema: JsonObject;
  body: OperationBinding['body'];
  /** Argument → the manifest's narrowing of it (its descriptions are the manifest's own). */
  narrowings: Map<string, Narrowing>;
}

export function compileInputs(ix: SpecIndex, op: SpecOperation, body: BodyInfo | null, t: ManifestTool, sink: Sink, binder = new ArgumentBinder()): ToolInputs {
  const properties: JsonObject = {};
  const required: string[] = [];
  const argNames = new Map<string, string>();
  const narrowings = new Map<string, Narrowing>();

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
    if (t.body !== undefined && target.in === 'body') {
      sink.error('PARAM_AMBIGUOUS', `'${key}' is a body property, and body.template builds the whole body`, target.loc, `use a placeholder in body.template and declare it under body.inputs.${arg}`, suffix);
      continue;
    }
    if (!checkExposable(ix, target, body, sink, suffix)) continue;
    const schema = inputSchemaFor(ix, target, opts, sink, suffix);
    if (schema === null) continue;
    for (const p of findUnbounded(schema)) sink.error(p.code, boundMessage(p.code, `${arg}${p.at}`), target.loc, boundFix(p.code, `input.${key}${manifestPathOf(p.at)}`), suffix);
    properties[arg] = schema;
    narrowings.set(arg, opts);
    if (target.required || opts.required === true) required.push(arg);
    binder.bindArg(target, arg, opts.default);
  }

  for (const [key, value] of Object.entries(t.fixed)) {
    const suffix = `.fixed.${key}`;
    if (Object.hasOwn(t.input, key)) {
      sink.error('FIXED_VALUE_INVALID', `'${key}' is both in input and in fixed`, null, 'keep it in one of them: fixed if the model must not choose it', suffix);
      continue;
    }
    const target = resolveTarget(ix, op, body, key, sink, suffix);
    if (target === null || !checkExposable(ix, target, body, sink, suffix)) continue;
    if (t.body !== undefined && target.in === 'body') {
      sink.error('FIXED_VALUE_INVALID', `'${key}' is a body property, and body.template builds the whole body`, target.loc, 'write the value into body.template instead', suffix);
      continue;
    }
    const schema = target.raw === null ? null : materialize(ix, target.raw, sink, suffix);
    if (schema === null) continue;
    const shape = fixedShapeProblem(target.in, body?.contentType ?? null, value);
    if (shape !== null) {
      sink.error('FIXED_VALUE_INVALID', `fixed value for ${target.in} parameter '${target.name}' ${shape}`, target.loc, 'use a value that location can carry', suffix);
      continue;
    }
    const invalid = validateValue(schema, value);
    if (invalid !== null) {
      sink.error('FIXED_VALUE_INVALID', `fixed value ${preview(value)} for '${target.name}' is not allowed by the spec: ${invalid}`, target.loc, 'use a value the spec schema accepts', suffix);
      continue;
    }
    binder.bindFixed(target, value);
  }

  let template: JsonValue | undefined;
  if (t.body !== undefined) {
    const compiled = compileBodyTemplate(ix, body, t.body, sink);
    for (const input of compiled?.inputs ?? []) {
      const suffix = `.body.inputs.${input.arg}`;
      const clash = argNames.get(input.arg);
      if (!ARG_RULE.test(input.arg) || clash !== undefined) {
        sink.error('PARAM_AMBIGUOUS', clash !== undefined ? `argument name '${input.arg}' is used by both ${clash} and body.inputs.${input.arg}` : `'${input.arg}' is not a usable argument name`, null, 'rename the body input (and its placeholder)', suffix);
        continue;
      }
      argNames.set(input.arg, `body.inputs.${input.arg}`);
      properties[input.arg] = input.schema;
      narrowings.set(input.arg, t.body.inputs[input.arg] ?? {});
      if (input.required) required.push(input.arg);
      binder.bindTemplateArg(input.arg, input.default);
    }
    template = compiled?.template;
  }

  binder.reportUnboundParams(
    op,
    sink,
    (p) => `required ${p.in} parameter '${p.name}' is neither exposed nor fixed`,
    (name) => `add \`${name}: {}\` under input (the model sets it) or \`${name}: <value>\` under fixed (the server always sends it)`,
    '',
  );

  const inputSchema: JsonObject = { type: 'object', properties };
  if (required.length > 0) inputSchema.required = required;
  inputSchema.additionalProperties = false;
  if (t.body !== undefined) return { binder, inputSchema, narrowings, body: template === undefined || body?.contentType == null ? null : { contentType: body.contentType, required: body.required, template } };
  return { binder, inputSchema, narrowings, body: bindBody(body, binder, sink) };
}

/** Why a JSON value cannot travel where the target is sent, or null. */
function fixedShapeProblem(where: Target['in'], contentType: string | null, value: JsonValue): string | null {
  const scalarValue = (v: JsonValue) => v === null || typeof v !== 'object';
  if (where === 'path' || where === 'header') return scalarValue(value) ? null : 'must be a single string, number or boolean';
  if (where === 'query' || contentType === 'application/x-www-form-urlencoded') {
    return scalarValue(value) || (Array.isArray(value) && value.every(scalarValue)) ? null : 'must be a scalar or a list of scalars (form encoding has no nested objects)';
  }
  return null;
}

/** A short JSON rendering of a value for a message. */
function preview(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The body binding: present when something is sent in it or the spec requires one. */
function bindBody(body: BodyInfo | null, binder: ArgumentBinder, sink: Sink): OperationBinding['body'] {
  if (body === null || !(binder.bindsBody || body.required)) return null;
  if (body.unsupported !== null || body.contentType === null) {
    if (body.required) sink.error('BODY_UNSUPPORTED', `the request body is required but ${body.unsupported ?? 'unsupported'}`, body.loc, 'choose an operation with a JSON or form-encoded object body', '');
    return null;
  }
  for (const r of body.view?.required ?? []) {
    if (!binder.isBound('body', r)) {
      sink.error('REQUIRED_PARAM_UNBOUND', `required body property '${r}' is neither exposed nor fixed`, `${body.view?.loc ?? body.loc}.properties.${r}`, `add \`${r}: {}\` under input or \`${r}: <value>\` under fixed`, '');
    }
  }
  return { contentType: body.contentType, required: body.required };
}
