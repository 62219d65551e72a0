/**
 * The steps of the tool pipeline (src/README.md, "The flow of a call"), in the order `CALL_STEPS`
 * lists them. Each step reads and fills in the one `ToolCall`, and either lets the call go on
 * (returns nothing) or ends it with a result and its audit outcome. A step that ends the call
 * before `backend` has made no backend request.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallToolResult, InputRequiredResult } from '@modelcontextprotocol/server';
import type { BackendClient, BackendResponse, CallerIdentity } from '../backend/index.ts';
import type { ToolDefinition } from '../generated/tools.ts';
import { approvalForm, describeConstants, MAX_PROMPT_CHARACTERS, PromptTooLong, renderApprovalMessage, type ApprovalOutcome } from './approval.ts';
import { approvalPolicyOf } from './approvalPolicy.ts';
import { approvalIdempotencyKey, approvalMessages } from './approvalRounds.ts';
import { dryRunOutput, previewConfirmed, rehearse, unconfirmedPreview, type Rehearsal } from './dryRun.ts';
import { canonicalJson, type AuditEvent } from './audit.ts';
import type { Caller } from './caller.ts';
import { callCredentials, type FairShareGate } from './fairShare.ts';
import { fitToBytes } from './fitOutput.ts';
import { valueAtPath } from './pickPath.ts';
import { missingScopes } from './policy.ts';
import { presentResult } from './presentResult.ts';
import { ContractViolation, kindOf, projectOutput } from './projectOutput.ts';
import type { Redactor } from './redactSecrets.ts';
import type { CatalogEntry } from './toolCatalog.ts';
import type { CallContext } from './toolContract.ts';
import { toolMessages } from './toolErrors.ts';
import type { UserQuotas } from './userQuotas.ts';

/** The pipeline's order: the one place it is written down. */
export const CALL_STEPS = ['policy', 'quota', 'input', 'fairShare', 'approval', 'backend', 'output'] as const;
export type CallStepName = (typeof CALL_STEPS)[number];

/** One call as it moves through the steps. */
export interface ToolCall {
  readonly entry: CatalogEntry;
  readonly tool: ToolDefinition;
  readonly context: CallContext;
  readonly rawArgs: unknown;
  /** Names this call in the audit trail (the trace id of `traceparent`). */
  readonly correlationId: string;
  /** W3C trace context sent with every backend request of this call. */
  readonly traceparent: string;
  /** The validated arguments; null until `input` has passed. */
  args: Record<string, unknown> | null;
  approval: AuditEvent['approval'];
  /** Names an accepted multi-round-trip approval; the write's Idempotency-Key derives from it. */
  approvalId: string | null;
  /** When the operation's own backend call started (the approval lookup is not counted). */
  backendStarted: number | null;
  backendStatus: AuditEvent['backend'];
  response: BackendResponse | null;
  /** A dry-run tool's request and preview, set by `backend` in place of the write (dryRun.ts). */
  rehearsal: Rehearsal | null;
  /** Gives the user's in-flight slot back; set by `quota`, called once the call ends. */
  release: (() => void) | null;
}

export type Outcome = Pick<AuditEvent, 'outcome' | 'approval' | 'backend' | 'result'>;

/** How a step ends the call: the result, and what the audit line records. */
export interface CallEnd {
  result: CallToolResult | InputRequiredResult;
  outcome: Outcome;
  /** The arguments the audit line records (null where they were not validated). */
  args: unknown;
}

export type CallStep = (call: ToolCall) => CallEnd | undefined | Promise<CallEnd | undefined>;

export interface CallStepDeps {
  backend: BackendClient;
  log: Logger;
  redactor: Redactor;
  /** The per-user quotas every call is counted against. */
  quotas: UserQuotas;
  onBehalfOfCaller: boolean;
  /** Keeps one caller to a share of the backend's rate limit; absent, no call is held back. */
  fairShare?: FairShareGate;
}

export const errorResult = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

/** Ends the call with an error the model can act on, before any backend answer. */
export function refusal(text: string, outcome: AuditEvent['outcome'], args: unknown, approval: AuditEvent['approval'] = 'not_reached'): CallEnd {
  return { result: errorResult(text), outcome: { outcome, approval, backend: null, result: null }, args };
}

/** Milliseconds since the operation's own backend call started, or null before it. */
export function backendMs(call: ToolCall): number | null {
  return call.backendStarted === null ? null : Math.round((performance.now() - call.backendStarted) * 100) / 100;
}

/** The calling user for token exchange (RFC 8693), when Deputy mints tokens on their behalf. */
export function backendCaller(call: ToolCall, onBehalfOfCaller: boolean): CallerIdentity | undefined {
  const { caller, callerToken } = call.context;
  return onBehalfOfCaller && callerToken ? { token: callerToken, subject: caller.subject } : undefined;
}

export function callSteps(deps: CallStepDeps): Record<CallStepName, CallStep> {
  const { backend, log, redactor } = deps;
  const backendOptions = (call: ToolCall) => {
    const onBehalf = backendCaller(call, deps.onBehalfOfCaller);
    return {
      timeoutMs: call.tool.timeoutMs,
      traceparent: call.traceparent,
      signal: call.context.signal,
      ...(onBehalf ? { caller: onBehalf } : {}),
      // Every backend call carries the caller's tenant, so only its credentials serve it (D41).
      ...(call.context.caller.tenant !== null ? { tenant: call.context.caller.tenant } : {}),
    };
  };

  /** The looked-up record's picked scalar fields, shown to the human who approves. */
  async function lookupRecord(call: ToolCall, lookup: NonNullable<ToolDefinition['approval']>['lookup']): Promise<Record<string, unknown>> {
    const values: Record<string, unknown> = {};
    if (!lookup) return values;
    const found = await backend.call(lookup.operation, call.args!, backendOptions(call));
    const record = found.body !== null && typeof found.body === 'object' ? (found.body as Record<string, unknown>) : {};
    for (const field of lookup.pick) {
      // A path through objects (`data.name`); only a scalar at its end is shown.
      const value = valueAtPath(record, field.split('.'));
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) values[field] = value;
    }
    return values;
  }

  return {
    // Enforced here as well as hidden from tools/list and refused by the HTTP layer: stdio has no HTTP layer.
    policy(call) {
      const missing = missingScopes(call.tool, call.context.caller);
      return missing.length > 0 ? refusal(toolMessages.missingScope(call.tool.name, missing), 'denied', null) : undefined;
    },

    async quota(call) {
      const decision = await deps.quotas.start(call.context.caller, call.tool);
      if (decision.ok) {
        call.release = decision.release;
        return undefined;
      }
      if (decision.quota === 'unavailable') return refusal(toolMessages.sharedStateUnavailable(call.tool.name), 'shared_state_unavailable', null);
      return refusal(toolMessages.quota(call.tool.name, decision), 'quota_exceeded', null);
    },

    input(call) {
      const parsed = call.entry.validate.safeParse(call.rawArgs);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`);
        // Invalid arguments are not logged: they may be huge or hostile. Their shape is enough.
        return refusal(toolMessages.invalidInput(problems), 'invalid_input', null);
      }
      call.args = parsed.data as Record<string, unknown>;
      call.approval = 'not_required';
      return undefined;
    },

    // After input, so a refusal is audited with its arguments; before approval, so no human is
    // asked to approve a call that would not be made.
    async fairShare(call) {
      if (!deps.fairShare) return undefined;
      let decision;
      try {
        // One user as the quotas count one (DEPUTY_QUOTA_KEY), hashed: no subject reaches a shared store.
        decision = await deps.fairShare.tryStart(callCredentials(call.tool, call.context.caller.tenant), deps.quotas.keyOf(call.context.caller));
      } catch (error) {
        // The backend still enforces its own limit: a counter store that fails holds nothing back.
        log.warn({ tool: call.tool.name, err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'fair-share counter unavailable; call let through');
        return undefined;
      }
      if (decision.ok) return undefined;
      return refusal(toolMessages.fairShare(decision.reason, decision.retryAfterSeconds), 'fair_share_exceeded', call.args);
    },

    async approval(call) {
      const { tool, context } = call;
      const args = call.args!;
      const approvalSpec = tool.approval;
      if (!approvalSpec) return undefined;
      const policy = approvalPolicyOf(tool);
      // No way to ask a human: refuse before the approval lookup, so nothing reaches the backend.
      if (!context.approver.supports(policy)) {
        return refusal(approvalSpec.withoutElicitation ?? toolMessages.approvalUnsupported(tool.name, policy.count), 'approval_declined', args, 'unsupported');
      }
      // The lookup is made only when a human is asked (a resumed call already carries the answer), once.
      let looked: Promise<Record<string, unknown>> | null = null;
      const lookupValues = () => (looked ??= lookupRecord(call, approvalSpec.lookup));
      // A human approving a rehearsal must know nothing will change, and still sees the whole action.
      const dryRunNote = tool.dryRun ? 'DRY RUN — nothing will be changed; Deputy will only show the request it would send.\n' : '';
      const form = async () => {
        const message = dryRunNote + renderApprovalMessage(approvalSpec.message, args, await lookupValues()) + describeConstants(tool.operation);
        return approvalForm(tool.title, message, args);
      };
      // The page: the message as the prompt renders it, and every raw value, whose hidden characters the page labels.
      const page = async () => {
        const lookup = await lookupValues();
        return {
          toolTitle: tool.title,
          message: dryRunNote + renderApprovalMessage(approvalSpec.message, args, lookup),
          args: { ...args },
          fixed: Object.fromEntries(tool.operation.fixed.map((f) => [f.name, f.value])),
          bodyTemplate: tool.operation.body?.template ?? null,
          lookup: approvalSpec.lookup ? lookup : null,
        };
      };
      let outcome: ApprovalOutcome;
      try {
        outcome = await context.approver.decide({ tool: tool.name, args, form, page, policy, correlationId: call.correlationId, signal: context.signal });
      } catch (error) {
        // Shown in full or not at all: a prompt too long to read goes to the page where one exists
        // (routedApprover), and is refused, never cut, where none does.
        if (!(error instanceof PromptTooLong)) throw error;
        return refusal(toolMessages.approvalTooLong(tool.name, error.characters, MAX_PROMPT_CHARACTERS, error.longestArgument), 'approval_declined', args, 'unsupported');
      }
      if ('ask' in outcome) {
        call.approvalId = outcome.approvalId;
        return { result: outcome.ask, outcome: { outcome: 'approval_requested', approval: 'requested', backend: null, result: null }, args };
      }
      if (outcome.decision === 'pending') {
        call.approvalId = outcome.approvalId;
        return refusal(toolMessages.approvalPending(tool.name, outcome.url, outcome.expiresAt), 'approval_requested', args, 'requested');
      }
      call.approval = outcome.decision;
      if (outcome.decision !== 'accepted') {
        const text =
          outcome.decision === 'declined'
            ? toolMessages.approvalDeclined(tool.name)
            : outcome.decision === 'cancelled'
              ? toolMessages.approvalCancelled(tool.name)
              : outcome.decision === 'expired'
                ? toolMessages.approvalExpired(tool.name)
                : approvalMessages[outcome.decision](tool.name);
        return refusal(text, 'approval_declined', args, outcome.decision);
      }
      call.approvalId = outcome.approvalId;
      return undefined;
    },

    async backend(call) {
      const { tool } = call;
      const args = call.args!;
      const options = {
        ...backendOptions(call),
        ...(tool.risk !== 'read' && tool.operation.idempotencyKeyHeader
          ? { idempotencyKey: call.approvalId ? approvalIdempotencyKey(call.approvalId) : idempotencyKey(call.context.caller, tool.name, args) }
          : {}),
      };
      if (tool.dryRun) {
        call.rehearsal = await rehearse(call, backend, options, backendOptions(call));
      } else {
        call.backendStarted = performance.now();
        call.response = await backend.call(tool.operation, args, options);
      }
      if (call.response) call.backendStatus = { status: call.response.status, durationMs: backendMs(call), errorCode: null };
      return undefined;
    },

    async output(call) {
      const { tool } = call;
      if (call.rehearsal !== null && !previewConfirmed(call)) {
        log.error({ tool: tool.name, status: call.response?.status }, 'dry-run preview header not confirmed by the backend (no Preference-Applied): the write may have been performed');
        return unconfirmedPreview(call);
      }
      const shaped = call.rehearsal !== null ? await dryRunOutput(call, call.rehearsal, redactor) : await shapeOutput(call.entry, call.response!.body, redactor);
      if (shaped instanceof ContractViolation) {
        log.warn({ tool: tool.name, status: call.response?.status, at: shaped.at, expected: shaped.expected, got: shaped.got }, 'backend answer contradicts the spec');
        return {
          result: errorResult(toolMessages.contractViolation(tool.name, tool.risk !== 'read' && !tool.dryRun, shaped)),
          outcome: { outcome: 'backend_contract_violation', approval: call.approval, backend: call.backendStatus, result: null },
          args: call.args,
        };
      }
      if ('result' in shaped) return shaped;
      const { projected, redacted, fitted } = shaped;
      const facts = { truncated: projected.truncated, shrunk: fitted.shrunk, redactions: redacted.redactions };
      const items = Array.isArray((fitted.value as { items?: unknown }).items) ? (fitted.value as { items: unknown[] }).items.length : null;
      return {
        result: { content: [{ type: 'text', text: presentResult(tool, fitted.value, facts, fitted.json) }], structuredContent: fitted.value as Record<string, unknown> },
        outcome: {
          outcome: 'ok',
          approval: call.approval,
          backend: call.backendStatus,
          result: { bytes: fitted.bytes, items, redactions: redacted.redactions, truncated: fitted.shrunk || Object.keys(projected.truncated).length > 0 },
        },
        args: call.args,
      };
    },
  };
}

/**
 * The Idempotency-Key of a write, derived from the approved action itself (who, which tool,
 * which arguments): a retried call — by the SDK, the agent or a proxy — reaches the backend
 * with the same key and can never act twice (src/README.md D20).
 */
export function idempotencyKey(caller: Pick<Caller, 'subject' | 'tenant'>, tool: string, args: unknown): string {
  // The same subject name in two tenants is two people (D41): their actions get different keys.
  // Without tenants the key is as it always was.
  const who = caller.tenant === null ? caller.subject : `${caller.tenant}\u0000${caller.subject}`;
  const digest = createHash('sha256').update(`${who}\n${tool}\n${canonicalJson(args)}`).digest('base64url');
  return `deputy-${digest.slice(0, 43)}`;
}

/**
 * Backend body → structuredContent: the pick projection, secret redaction, the size cap, then
 * Deputy's check of its own result against the advertised outputSchema. Any step that finds the
 * answer contradicting the spec yields the ContractViolation instead.
 */
async function shapeOutput(entry: CatalogEntry, body: unknown, redactor: Redactor) {
  const tool = entry.definition;
  try {
    if (tool.output.rootArray && !Array.isArray(body)) throw new ContractViolation('(the answer)', 'a list', kindOf(body));
    const projected = projectOutput(tool.output.rootArray ? { items: body } : body, entry.pick, tool.output.listCaps);
    const redacted = await redactor.redactSecrets(projected.value);
    const fitted = fitToBytes(redacted.value, tool.output.maxBytes);
    return entry.checkOutput(fitted.value) ?? { projected, redacted, fitted };
  } catch (error) {
    if (error instanceof ContractViolation) return error;
    throw error;
  }
}
