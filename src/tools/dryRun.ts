/**
 * A write in dry-run mode (openapi/README.md, "Dry run"): after validation, approval and the
 * approval lookup it never calls its operation. It answers "would do …" with the exact request
 * the live call would send — built by the backend client's own request builder, credentials
 * redacted — and, where the manifest names one, the backend's own preview: a validate operation
 * taking the same request, or the write itself with a preview header the spec declares
 * (`Prefer: dry-run`). Going live is the reviewed manifest change that removes `mode: dry-run`.
 */
import type { BackendCallOptions, BackendClient, DescribedRequest } from '../backend/index.ts';
import type { CallEnd, ToolCall } from './callSteps.ts';
import { fitToBytes } from './fitOutput.ts';
import { presentResult } from './presentResult.ts';
import { ContractViolation, kindOf, projectOutput } from './projectOutput.ts';
import type { Redactor } from './redactSecrets.ts';
import { toolMessages } from './toolErrors.ts';

/**
 * The smallest size cap of a dry-run answer: it carries the whole request (a note's body, say),
 * which may be larger than the write's own projected answer.
 */
const DRY_RUN_MIN_BYTES = 16_384;

/** What a dry run learned: the request the write would send, and the preview's answer if any. */
export interface Rehearsal {
  wouldSend: DescribedRequest;
}

/**
 * Describes the write's request with the options the live call would carry (its Idempotency-Key
 * included), then calls the preview, if any, without that key: a preview answer stored under
 * the write's key would be replayed to the real write later.
 */
export async function rehearse(call: ToolCall, backend: BackendClient, live: BackendCallOptions, preview: Omit<BackendCallOptions, 'idempotencyKey'>): Promise<Rehearsal> {
  const { tool } = call;
  const args = call.args!;
  const wouldSend = backend.describe(tool.operation, args, live);
  const how = tool.dryRun?.preview ?? null;
  if (how !== null) {
    call.backendStarted = performance.now();
    call.response =
      how.kind === 'operation'
        ? await backend.call(how.operation, args, preview)
        : await backend.call(tool.operation, args, { ...preview, previewHeader: { name: how.name, value: how.value } });
  }
  return { wouldSend };
}

/**
 * RFC 7240 §3: a backend that applied `Prefer: dry-run` says so in `Preference-Applied`. Without
 * it nothing shows the write was not performed. Other preview headers have no such answer.
 */
export function previewConfirmed(call: ToolCall): boolean {
  const how = call.tool.dryRun?.preview;
  if (how?.kind !== 'header' || how.name.toLowerCase() !== 'prefer') return true;
  const applied = call.response?.headers.preferenceApplied ?? '';
  const wanted = how.value.split('=')[0]!.trim().toLowerCase();
  return applied.split(',').some((token) => token.split('=')[0]!.trim().toLowerCase() === wanted);
}

/** The dry run's answer: `{ dryRun, wouldSend, preview? }`, redacted, capped and checked like any result. */
export async function dryRunOutput(call: ToolCall, rehearsal: Rehearsal, redactor: Redactor): Promise<CallEnd | ContractViolation> {
  const { tool, entry } = call;
  const how = tool.dryRun?.preview ?? null;
  const value: Record<string, unknown> = { dryRun: true, wouldSend: rehearsal.wouldSend };
  let truncated: Record<string, number> = {};
  try {
    if (how !== null && entry.previewPick !== null) {
      let body = call.response?.body ?? null;
      const listCaps = how.kind === 'operation' ? how.listCaps : tool.output.listCaps;
      if (how.kind === 'header' && tool.output.rootArray) {
        if (!Array.isArray(body)) throw new ContractViolation('preview', 'a list', kindOf(body));
        body = { items: body };
      }
      const projected = projectOutput(body, entry.previewPick, listCaps);
      value.preview = projected.value;
      truncated = projected.truncated;
    }
  } catch (error) {
    if (error instanceof ContractViolation) return error;
    throw error;
  }
  const redacted = await redactor.redactSecrets(value);
  const fitted = fitToBytes(redacted.value, Math.max(tool.output.maxBytes, DRY_RUN_MIN_BYTES));
  const violation = entry.checkOutput(fitted.value);
  if (violation !== null) return violation;
  const facts = { truncated, shrunk: fitted.shrunk, redactions: redacted.redactions };
  return {
    result: { content: [{ type: 'text', text: presentResult(tool, fitted.value, facts, fitted.json) }], structuredContent: fitted.value as Record<string, unknown> },
    outcome: {
      outcome: 'dry_run',
      approval: call.approval,
      backend: call.backendStatus,
      result: { bytes: fitted.bytes, items: null, redactions: redacted.redactions, truncated: fitted.shrunk || Object.keys(truncated).length > 0 },
    },
    args: call.args,
  };
}

/** The answer when a preview header went unconfirmed: the write may have happened. */
export function unconfirmedPreview(call: ToolCall): CallEnd {
  return {
    result: { isError: true, content: [{ type: 'text', text: toolMessages.previewUnconfirmed(call.tool.name) }] },
    outcome: { outcome: 'tool_error', approval: call.approval, backend: call.backendStatus, result: null },
    args: call.args,
  };
}
