// compileTools: spec + manifest → tool definitions, or every reason they cannot be generated.
// Pure: no I/O, no printing. `generate`, `lint` and `serve --spec --tools` all call this, so
// the same checks guard every way a tool surface can come into being (src/README.md, D2).
// Each concern lives in its own module; this file only says in which order they run.

import { ArgumentBinder, idempotencyKeyHeader } from './argumentBinder.ts';
import { compileApproval } from './approvalSpec.ts';
import { compileDryRun } from './dryRunSpec.ts';
import { DEFAULT_DESCRIPTION_BUDGET, fitDescriptions } from './descriptionBudget.ts';
import type { GenerationError, GenerationWarning } from './errors.ts';
import { distributeOverAlternatives } from './distributeKeywords.ts';
import { guardTexts } from './guardToolTexts.ts';
import { canonicalSchema } from './jsonSchemaChecks.ts';
import { checkSpecVersion } from './loadSpec.ts';
import { parseManifest, type ManifestDefaults, type ManifestTool } from './manifest.ts';
import { findOperation } from './operationLookup.ts';
import { compileOutput, successResponse } from './outputSchema.ts';
import { readBody } from './requestBody.ts';
import { annotationsFor, checkRisk } from './riskTier.ts';
import type { JsonObject } from './schemaView.ts';
import { bindSecurity, refuseCredentialInputs } from './security.ts';
import { compileServerProfile, instructionsFor, NEUTRAL_BACKEND_NAME } from './serverProfile.ts';
import { Sink } from './sink.ts';
import { compileSurfaces } from './surfaces.ts';
import { destructiveReason, isHttpMethod, SpecIndex } from './specIndex.ts';
import type { OperationBinding, ServerProfile, ToolDefinition } from './toolDefinition.ts';
import { compileInputs } from './toolInputs.ts';
import { checkName } from './toolNames.ts';

export { annotationsFor } from './riskTier.ts';

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
  /** The server profile from the manifest's `server:` section (neutral defaults without one). */
  profile: ServerProfile;
}

const NEUTRAL_PROFILE: ServerProfile = { backendName: NEUTRAL_BACKEND_NAME, instructions: instructionsFor(NEUTRAL_BACKEND_NAME, null), secretPatterns: [] };

export interface CompileOptions {
  /** The bundled spec document (loadSpec). */
  spec: JsonObject;
  /** The manifest as parsed YAML (an object with `version` and `tools`). */
  manifest: unknown;
}

export function compileTools({ spec, manifest }: CompileOptions): CompileResult {
  const errors: GenerationError[] = [];
  const warnings: GenerationWarning[] = [];
  const versionError = checkSpecVersion(spec);
  if (versionError !== null) return { tools: [], errors: [versionError], warnings, operations: [], apiTypes: 'all', profile: NEUTRAL_PROFILE };

  const ix = new SpecIndex(spec);
  const parsed = parseManifest(manifest);
  errors.push(...parsed.errors);
  const { profile: serverProfile, errors: profileErrors } = compileServerProfile(parsed.server);
  errors.push(...profileErrors);
  const surfaces = compileSurfaces(parsed.surfaces, parsed.tools.map(({ tool }) => tool));
  errors.push(...surfaces.errors);
  warnings.push(...surfaces.warnings);
  // Only when the manifest declares surfaces, so a manifest without them generates exactly as before.
  const profile: ServerProfile = surfaces.surfaces ? { ...serverProfile, surfaces: surfaces.surfaces } : serverProfile;

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
      def = compileTool(ix, tool, parsed.defaults, sink);
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
  return { tools, errors, warnings, operations, apiTypes: parsed.apiTypes, profile };
}

function compileTool(ix: SpecIndex, t: ManifestTool, defaults: ManifestDefaults, sink: Sink): ToolDefinition | null {
  checkName(t, sink);
  const op = findOperation(ix, t.operation, sink, '.operation');
  if (op === null) return null;
  const method = op.method;
  if (!isHttpMethod(method)) {
    sink.error('UNKNOWN_OPERATION', `operation '${t.operation}' uses ${method}, which tools cannot call`, op.loc, 'choose a GET, HEAD, POST, PUT, PATCH or DELETE operation', '.operation');
    return null;
  }
  checkRisk(t, op, method, sink);

  const body = readBody(ix, op);
  // Credentials first: the parameters they occupy are bound before inputs are.
  const binder = new ArgumentBinder();
  const security = bindSecurity(ix, op, defaults, t, binder, sink);
  if (security !== null) refuseCredentialInputs(ix, op, body, t, security, sink);
  const inputs = compileInputs(ix, op, body, t, sink, binder);
  const { args, fixed } = inputs.binder;

  // Output.
  const success = successResponse(ix, op);
  const { schema: outputSchema, rootArray, required: requiredPicks } = compileOutput(ix, t, success, sink);
  const scopes = security?.scopes ?? [];
  if (security !== null && t.risk !== 'read' && scopes.length === 0 && t.callerScopes === undefined) {
    sink.error(
      'SECURITY_NO_SCOPES',
      `the chosen security requirement carries no scopes, so every authenticated caller could see and call this ${t.risk} tool`,
      op.loc,
      'set `callerScopes:` to the scopes a caller needs (or choose a security alternative with scopes)',
      '.callerScopes',
    );
  }

  const operation: OperationBinding = {
    operationId: t.operation,
    method,
    path: op.path,
    args,
    fixed,
    body: inputs.body,
    successStatuses: success.statuses,
    idempotencyKeyHeader: idempotencyKeyHeader(op),
    credentials: security?.credentials ?? [],
  };
  // Spec descriptions share the tool's budget; the guard below checks the text that is sent.
  fitDescriptions(inputs.inputSchema, inputs.narrowings, outputSchema, t.descriptionBudget ?? DEFAULT_DESCRIPTION_BUDGET);

  const approval = compileApproval(ix, t, args, sink, (lookupOp, lookupBinder) =>
    bindSecurity(ix, lookupOp, defaults, null, lookupBinder, sink, '.approval.lookup.operation'),
  );

  const dryRun = compileDryRun(ix, t, op, operation, outputSchema, sink, (previewOp, previewBinder) =>
    bindSecurity(ix, previewOp, defaults, null, previewBinder, sink, '.preview.operation'),
  );

  const def: ToolDefinition = {
    name: t.name,
    title: t.title,
    description: t.description,
    risk: t.risk,
    annotations: annotationsFor(t.risk, method, t.title),
    backendScopes: scopes,
    callerScopes: t.callerScopes ?? scopes,
    operation,
    inputSchema: canonicalSchema(distributeOverAlternatives(inputs.inputSchema)) as ToolDefinition['inputSchema'],
    outputSchema: canonicalSchema(dryRun?.outputSchema ?? outputSchema) as ToolDefinition['outputSchema'],
    output: {
      pick: t.output.pick,
      listCaps: t.output.listCaps,
      maxBytes: t.output.maxBytes,
      untrusted: t.output.untrusted,
      rootArray,
      required: requiredPicks,
    },
    approval,
    timeoutMs: t.timeoutMs,
    ...(dryRun !== null ? { dryRun: dryRun.dryRun } : {}),
    // Only when the manifest sets one, so tools without it generate exactly as before.
    ...(t.quota ? { quota: { calls: t.quota.calls, windowSeconds: t.quota.windowSeconds ?? null } } : {}),
  };
  guardTexts(def, t, sink);
  // After the guard, which checks the owners' words: the note is Deputy's own.
  if (dryRun !== null) def.description = `${def.description} ${dryRun.descriptionNote}`;
  return def;
}

