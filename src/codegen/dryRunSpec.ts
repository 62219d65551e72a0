// A write in dry-run mode (openapi/README.md, "Dry run"): the checks on `mode` and `preview`, the
// binding of a validate operation to the write's own arguments, and the outputSchema of the
// answer — the request Deputy would send, and the backend's preview when there is one.

import { ArgumentBinder } from './argumentBinder.ts';
import type { LookupSecurity } from './approvalSpec.ts';
import { resolveTarget } from './bindTargets.ts';
import type { ManifestTool } from './manifest.ts';
import { findOperation } from './operationLookup.ts';
import { successResponse } from './outputSchema.ts';
import { projectResponse } from './projection.ts';
import { readBody } from './requestBody.ts';
import { isObject, type JsonObject } from './schemaView.ts';
import type { Sink } from './sink.ts';
import { destructiveReason, isHttpMethod, type SpecIndex, type SpecOperation } from './specIndex.ts';
import type { DryRunPreview, DryRunSpec, OperationBinding } from './toolDefinition.ts';

/** The request a dry run describes: structure only, like every outputSchema (src/README.md D15). */
export const DRY_RUN_REQUEST_SCHEMA: JsonObject = {
  type: 'object',
  required: ['method', 'path', 'query', 'headers', 'body'],
  additionalProperties: false,
  properties: {
    method: { type: 'string' },
    path: { type: 'string' },
    query: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    body: {},
  },
};

export interface CompiledDryRun {
  dryRun: DryRunSpec;
  outputSchema: JsonObject;
  /** Appended to the tool's description, so the model never reports a rehearsal as done. */
  descriptionNote: string;
}

/** Null for a live tool (the default) and for a dry run that cannot be compiled (errors in `sink`). */
export function compileDryRun(
  ix: SpecIndex,
  t: ManifestTool,
  op: SpecOperation,
  live: OperationBinding,
  liveOutputSchema: JsonObject,
  sink: Sink,
  previewSecurity: LookupSecurity,
): CompiledDryRun | null {
  if (t.mode !== 'dry-run') {
    if (t.preview !== undefined) sink.error('DRY_RUN_INVALID', '`preview` applies only to a tool in `mode: dry-run`', null, 'add `mode: dry-run`, or remove `preview` (a live write calls its operation)', '.preview');
    return null;
  }
  if (t.risk === 'read') {
    sink.error('DRY_RUN_INVALID', 'a read tool changes nothing, so it has no dry run', null, 'remove `mode: dry-run`', '.mode');
    return null;
  }
  let preview: DryRunPreview | null = null;
  let previewSchema: JsonObject | null = null;
  const p = t.preview;
  if (p !== undefined) {
    if ((p.operation === undefined) === (p.header === undefined)) {
      sink.error('DRY_RUN_INVALID', '`preview` must name exactly one of `operation` or `header`', null, 'name the validate operation (`operation: validateX`) or the preview header (`header: "Prefer: dry-run"`)', '.preview');
      return null;
    }
    const compiled = p.operation !== undefined ? previewOperation(ix, p.operation, p, live, sink, previewSecurity) : previewHeader(p.header!, p, op, live, liveOutputSchema, sink);
    if (compiled === null) return null;
    ({ preview, schema: previewSchema } = compiled);
  }
  const properties: JsonObject = { dryRun: { type: 'boolean' }, wouldSend: DRY_RUN_REQUEST_SCHEMA };
  if (previewSchema !== null) properties.preview = previewSchema;
  return {
    dryRun: { preview },
    outputSchema: { type: 'object', required: ['dryRun', 'wouldSend', ...(previewSchema !== null ? ['preview'] : [])], additionalProperties: false, properties },
    descriptionNote:
      preview === null
        ? 'DRY RUN: calling it changes nothing; it answers with the exact request it would send.'
        : "DRY RUN: calling it changes nothing; it answers with the exact request it would send and the backend's preview of it.",
  };
}

type Compiled = { preview: DryRunPreview; schema: JsonObject } | null;

/**
 * A validate operation takes the request the write would send: every argument and fixed value of
 * the write must name the same place in it, and it may need nothing the write does not send.
 */
function previewOperation(ix: SpecIndex, operationId: string, p: NonNullable<ManifestTool['preview']>, live: OperationBinding, sink: Sink, previewSecurity: LookupSecurity): Compiled {
  const suffix = '.preview.operation';
  if (operationId === live.operationId) {
    sink.error('DRY_RUN_INVALID', `preview operation '${operationId}' is the write itself: calling it would perform the write`, null, 'name a separate validate operation, or a preview header under preview.header', suffix);
    return null;
  }
  const op = findOperation(ix, operationId, sink, suffix);
  if (op === null) return null;
  if (!isHttpMethod(op.method) || destructiveReason(op) !== null) {
    sink.error('DRY_RUN_INVALID', `preview operation '${operationId}' (${op.method} ${op.path}) looks like it acts, not validates`, op.loc, 'name an operation that only checks the request and answers what would happen', suffix);
    return null;
  }
  if (p.pick === undefined || p.pick.length === 0) {
    sink.error('DRY_RUN_INVALID', 'preview.pick is missing: the preview would return nothing an agent can use', op.loc, "list the validate operation's answer fields the model may see under preview.pick", '.preview.pick');
    return null;
  }
  const body = readBody(ix, op);
  if (live.body !== null && body === null) {
    sink.error('DRY_RUN_INVALID', `the write sends a request body, and preview operation '${operationId}' takes none`, op.loc, 'name a validate operation that takes the same request as the write', suffix);
    return null;
  }
  const binder = new ArgumentBinder();
  const templated = live.body?.template !== undefined;
  for (const a of live.args) {
    if (templated && a.in === 'body') continue; // a template fills the whole body: only its presence matters
    const target = resolveTarget(ix, op, body, `${a.in}.${a.name}`, sink, suffix);
    if (target !== null) binder.bindArg(target, a.arg);
  }
  for (const f of live.fixed) {
    const target = resolveTarget(ix, op, body, `${f.in}.${f.name}`, sink, suffix);
    if (target !== null) binder.bindFixed(target, f.value);
  }
  const security = previewSecurity(op, binder);
  binder.reportUnboundParams(op, sink, (param) => `preview operation '${operationId}' needs '${param.name}', which the write does not send`, () => 'name a validate operation that takes the same request as the write', suffix);
  const success = successResponse(ix, op);
  const projection = projectResponse(ix.doc, success.raw, p.pick, p.listCaps);
  for (const problem of projection.problems) {
    const i = p.pick.indexOf(problem.pick);
    sink.error(problem.kind, `preview: ${problem.message}`, problem.specPath, problem.fix, i >= 0 ? `.preview.pick[${i}]` : '.preview.pick');
  }
  if (security === null || projection.problems.length > 0 || !isHttpMethod(op.method)) return null;
  const operation: OperationBinding = {
    operationId,
    method: op.method,
    path: op.path,
    args: live.args,
    fixed: live.fixed,
    body: live.body === null ? null : { ...live.body, contentType: body?.contentType ?? live.body.contentType },
    successStatuses: success.statuses,
    idempotencyKeyHeader: null,
    credentials: security.credentials,
  };
  return { preview: { kind: 'operation', operation, backendScopes: security.scopes, pick: p.pick, listCaps: p.listCaps, required: projection.required }, schema: projection.schema };
}

/**
 * A preview header is sent on the write itself, so the spec must say the backend honours it:
 * a backend that ignored an unknown header would perform the write.
 */
function previewHeader(header: string, p: NonNullable<ManifestTool['preview']>, op: SpecOperation, live: OperationBinding, liveOutputSchema: JsonObject, sink: Sink): Compiled {
  const colon = header.indexOf(':');
  const name = header.slice(0, colon);
  const value = header.slice(colon + 1).trim();
  if (p.pick !== undefined) {
    sink.error('DRY_RUN_INVALID', 'preview.pick applies to a preview operation; a header preview answers like the write', null, 'remove preview.pick: the answer is projected with output.pick', '.preview.pick');
    return null;
  }
  const param = op.params.find((q) => q.in === 'header' && q.name.toLowerCase() === name.toLowerCase());
  if (param === undefined) {
    sink.error('DRY_RUN_INVALID', `the spec declares no '${name}' header on ${op.method} ${op.path}, so nothing says the backend honours it (a backend that ignores it would perform the write)`, `${op.loc}.parameters`, 'have the backend team declare the header on the operation, or name a validate operation under preview.operation', '.preview.header');
    return null;
  }
  if (live.args.some((a) => a.in === 'header' && a.name.toLowerCase() === name.toLowerCase())) {
    sink.error('DRY_RUN_INVALID', `'${name}' is a tool input: the model could turn the dry run off`, param.loc, `remove '${name}' from input`, '.preview.header');
    return null;
  }
  const allowed = param.schema !== null && isObject(param.schema.schema) && Array.isArray(param.schema.schema.enum) ? (param.schema.schema.enum as unknown[]) : null;
  if (allowed !== null && !allowed.includes(value)) {
    sink.error('DRY_RUN_INVALID', `the spec allows '${name}' to be ${allowed.map((v) => JSON.stringify(v)).join(' or ')}, not '${value}'`, param.loc, 'use a value the spec declares', '.preview.header');
    return null;
  }
  return { preview: { kind: 'header', name: param.name, value }, schema: liveOutputSchema };
}
