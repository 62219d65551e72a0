/**
 * The tool pipeline (src/README.md, "The flow of a call"), one fixed order for every call:
 *
 *   policy (caller scopes) → session budget → strict input validation → human approval
 *   (writes) → backend call with a per-operation token → projection to the pick allowlist →
 *   secret redaction → size cap → result → audit line
 *
 * Every outcome the model can act on is an `isError: true` result with a short message
 * (toolErrors.ts); a call that is refused before the backend call makes no backend request.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallToolResult, InputRequiredResult, Tool } from '@modelcontextprotocol/server';
import { isBackendError, type BackendClient } from '../backend/index.ts';
import type { CallContext, ToolService } from './toolContract.ts';
import { approvalForm, describeConstants, renderApprovalMessage, type ApprovalOutcome } from './approval.ts';
import { approvalIdempotencyKey, approvalMessages } from './approvalRounds.ts';
import { canonicalJson, type AuditEvent, type AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import { fitToBytes } from './fitOutput.ts';
import { missingScopes, visibleTools } from './policy.ts';
import { presentResult } from './presentResult.ts';
import { ContractViolation, kindOf, projectOutput } from './projectOutput.ts';
import { createRedactor, type Redactor } from './redactSecrets.ts';
import { SessionBudget, type BudgetLimits } from './sessionBudget.ts';
import type { CatalogEntry, ToolCatalog } from './toolCatalog.ts';
import { messageForBackendError, toolMessages, type ErrorContext } from './toolErrors.ts';

export interface ToolServiceOptions {
  catalog: ToolCatalog;
  backend: BackendClient;
  audit: AuditLog;
  /** Application log (operator detail). Never receives tokens or backend bodies. */
  log: Logger;
  budgets: BudgetLimits;
  /** Token exchange: the backend token is minted on behalf of the caller (RFC 8693). */
  onBehalfOfCaller: boolean;
  /** The backend's own secret formats (the server profile's `secretPatterns`), redacted from every result. */
  secretPatterns?: readonly string[];
}

export interface DeputyToolService extends ToolService {
  /** The caller scopes a tool needs, or undefined for an unknown tool (for the HTTP 403 pre-check). */
  toolScopes(name: string): readonly string[] | undefined;
  /** Every caller scope any tool needs (for Protected Resource Metadata). */
  allScopes(): string[];
  /** Audits a call refused before it reached the pipeline (HTTP scope check, unknown tool). */
  recordRefusal(tool: string, caller: Caller, sessionId: string | null, outcome: 'denied' | 'unknown_tool'): void;
}

type Outcome = Pick<AuditEvent, 'outcome' | 'approval' | 'backend' | 'result'>;

const errorResult = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

export function createToolService(options: ToolServiceOptions): DeputyToolService {
  const { catalog, backend, audit, log } = options;
  const redactor = createRedactor(options.secretPatterns);
  const entries = [...catalog.values()];
  const budgets = new Map<string, SessionBudget>();

  function budgetFor(key: string): SessionBudget {
    let budget = budgets.get(key);
    if (!budget) {
      // Bounded: budgets of sessions gone quiet are dropped once the map grows large.
      if (budgets.size > 10_000) for (const [k, b] of budgets) if (b.idle()) budgets.delete(k);
      budget = new SessionBudget(options.budgets);
      budgets.set(key, budget);
    }
    return budget;
  }

  async function run(entry: CatalogEntry, rawArgs: unknown, context: CallContext): Promise<CallToolResult | InputRequiredResult> {
    const tool = entry.definition;
    const started = performance.now();
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const caller = context.caller;
    let approvalId: string | null = null;
    const finish = <R extends CallToolResult | InputRequiredResult>(result: R, outcome: Outcome, args: unknown): R => {
      audit.record({
        correlationId: traceId,
        caller: { subject: caller.subject, clientId: caller.clientId },
        sessionId: context.sessionId,
        tool: tool.name,
        risk: tool.risk,
        arguments: args,
        ...outcome,
        ...(approvalId ? { approvalId } : {}),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
      return result;
    };
    const refused = (text: string, outcome: AuditEvent['outcome'], args: unknown, approval: AuditEvent['approval'] = 'not_reached') =>
      finish(errorResult(text), { outcome, approval, backend: null, result: null }, args);

    // Enforced here as well as hidden from tools/list and refused by the HTTP layer: stdio has no HTTP layer.
    const missing = missingScopes(tool, caller);
    if (missing.length > 0) return refused(toolMessages.missingScope(tool.name, missing), 'denied', null);

    const budget = budgetFor(context.sessionId ?? `subject:${caller.subject}`).tryStart();
    if (!budget.ok) return refused(toolMessages.budget(budget.reason, budget.retryAfterSeconds), 'budget_exceeded', null);
    try {
      const parsed = entry.validate.safeParse(rawArgs);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`);
        // Invalid arguments are not logged: they may be huge or hostile. Their shape is enough.
        return refused(toolMessages.invalidInput(problems), 'invalid_input', null);
      }
      const args = parsed.data as Record<string, unknown>;
      const errorContext: ErrorContext = {
        tool: tool.name,
        target: entry.targetArg && typeof args[entry.targetArg] === 'string' ? { name: entry.targetArg, value: args[entry.targetArg] as string } : null,
        finder: entry.finder,
        onBehalfOfCaller: options.onBehalfOfCaller,
      };
      const backendCaller = options.onBehalfOfCaller && context.callerToken ? { token: context.callerToken, subject: caller.subject } : undefined;
      let approval: AuditEvent['approval'] = 'not_required';
      let backendStatus: AuditEvent['backend'] = null;
      /** When the operation's own backend call started (the approval lookup is not counted). */
      let backendStarted: number | null = null;
      const backendMs = () => (backendStarted === null ? null : Math.round((performance.now() - backendStarted) * 100) / 100);

      try {
        if (tool.approval) {
          // No way to ask a human: refuse before the approval lookup, so nothing reaches the backend.
          if (!context.approver.supported) {
            return refused(tool.approval.withoutElicitation ?? toolMessages.approvalUnsupported(tool.name), 'approval_declined', args, 'unsupported');
          }
          const approvalSpec = tool.approval;
          // The form is built only when the approver asks (a resumed 2026-07-28 call already carries the answer).
          const form = async () => {
            const lookupValues: Record<string, unknown> = {};
            const lookup = approvalSpec.lookup;
            if (lookup) {
              const found = await backend.call(lookup.operation, args, {
                timeoutMs: tool.timeoutMs,
                traceparent,
                signal: context.signal,
                ...(backendCaller ? { caller: backendCaller } : {}),
              });
              const record = found.body !== null && typeof found.body === 'object' ? (found.body as Record<string, unknown>) : {};
              for (const field of lookup.pick) {
                // A path through objects (`data.name`); only a scalar at its end is shown.
                const value = field.split('.').reduce<unknown>((node, key) => (node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined), record);
                if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) lookupValues[field] = value;
              }
            }
            const message = renderApprovalMessage(approvalSpec.message, args, lookupValues) + describeConstants(tool.operation);
            return approvalForm(tool.title, message, args);
          };
          const outcome: ApprovalOutcome = await context.approver.decide({ tool: tool.name, args, form, signal: context.signal });
          if ('ask' in outcome) {
            approvalId = outcome.approvalId;
            return finish(outcome.ask, { outcome: 'approval_requested', approval: 'requested', backend: null, result: null }, args);
          }
          approval = outcome.decision;
          if (outcome.decision !== 'accepted') {
            const text =
              outcome.decision === 'declined'
                ? toolMessages.approvalDeclined(tool.name)
                : outcome.decision === 'cancelled'
                  ? toolMessages.approvalCancelled(tool.name)
                  : approvalMessages[outcome.decision](tool.name);
            return refused(text, 'approval_declined', args, outcome.decision);
          }
          approvalId = outcome.approvalId;
        }

        backendStarted = performance.now();
        const response = await backend.call(tool.operation, args, {
          timeoutMs: tool.timeoutMs,
          traceparent,
          signal: context.signal,
          ...(tool.risk !== 'read' && tool.operation.idempotencyKeyHeader
            ? { idempotencyKey: approvalId ? approvalIdempotencyKey(approvalId) : idempotencyKey(caller, tool.name, args) }
            : {}),
          ...(backendCaller ? { caller: backendCaller } : {}),
        });
        backendStatus = { status: response.status, durationMs: backendMs(), errorCode: null };

        const shaped = shapeOutput(entry, response.body, redactor);
        if (shaped instanceof ContractViolation) {
          log.warn({ tool: tool.name, status: response.status, at: shaped.at, expected: shaped.expected, got: shaped.got }, 'backend answer contradicts the spec');
          return finish(errorResult(toolMessages.contractViolation(tool.name, tool.risk !== 'read', shaped)), { outcome: 'backend_contract_violation', approval, backend: backendStatus, result: null }, args);
        }
        const { projected, redacted, fitted } = shaped;
        const facts = { truncated: projected.truncated, shrunk: fitted.shrunk, redactions: redacted.redactions };
        const items = Array.isArray((fitted.value as { items?: unknown }).items) ? (fitted.value as { items: unknown[] }).items.length : null;
        return finish(
          { content: [{ type: 'text', text: presentResult(tool, fitted.value, facts) }], structuredContent: fitted.value as Record<string, unknown> },
          {
            outcome: 'ok',
            approval,
            backend: backendStatus,
            result: { bytes: fitted.bytes, items, redactions: redacted.redactions, truncated: fitted.shrunk || Object.keys(projected.truncated).length > 0 },
          },
          args,
        );
      } catch (error) {
        if (!isBackendError(error)) throw error;
        if (error.operatorProblem) log.error({ tool: tool.name, error: error.toJSON() }, 'backend call failed: operator action needed');
        else log.info({ tool: tool.name, code: error.code, status: error.status }, 'backend call failed');
        return finish(
          errorResult(messageForBackendError(error, errorContext)),
          { outcome: 'tool_error', approval, backend: { status: error.status ?? null, durationMs: backendMs(), errorCode: error.code }, result: null },
          args,
        );
      }
    } catch (error) {
      // Anything unexpected: the model gets a generic answer, the log gets the class and message (no stack, no values).
      log.error({ tool: tool.name, err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'tool call failed unexpectedly');
      return refused(toolMessages.internal(), 'tool_error', null);
    } finally {
      budget.release();
    }
  }

  function recordRefusal(tool: string, caller: Caller, sessionId: string | null, outcome: 'denied' | 'unknown_tool'): void {
    audit.record({
      correlationId: randomBytes(16).toString('hex'),
      caller: { subject: caller.subject, clientId: caller.clientId },
      sessionId,
      // An unknown name is the caller's text: recorded only if it looks like a tool name.
      tool: /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(tool) ? tool : '(invalid name)',
      risk: catalog.get(tool)?.definition.risk ?? 'unknown',
      arguments: null,
      approval: 'not_reached',
      backend: null,
      result: null,
      outcome,
      durationMs: 0,
    });
  }

  return {
    recordRefusal,
    // The one policy decides (policy.ts); the catalogue holds each tool's tools/list entry.
    list: (caller: Caller): Tool[] => visibleTools(entries.map((e) => e.definition), caller).map((d) => catalog.get(d.name)!.listing),
    call: (name, args, context) => {
      const entry = catalog.get(name);
      if (!entry) {
        recordRefusal(name, context.caller, context.sessionId, 'unknown_tool');
        return undefined;
      }
      return run(entry, args, context);
    },
    toolScopes: (name) => catalog.get(name)?.definition.callerScopes,
    allScopes: () => [...new Set(entries.flatMap((e) => e.definition.callerScopes))].sort(),
  };
}

/**
 * The Idempotency-Key of a write, derived from the approved action itself (who, which tool,
 * which arguments): a retried call — by the SDK, the agent or a proxy — reaches the backend
 * with the same key and can never act twice (src/README.md D20).
 */
export function idempotencyKey(caller: Pick<Caller, 'subject'>, tool: string, args: unknown): string {
  const digest = createHash('sha256').update(`${caller.subject}\n${tool}\n${canonicalJson(args)}`).digest('base64url');
  return `deputy-${digest.slice(0, 43)}`;
}

/**
 * Backend body → structuredContent: the pick projection, secret redaction, the size cap, then
 * Deputy's check of its own result against the advertised outputSchema. Any step that finds the
 * answer contradicting the spec yields the ContractViolation instead.
 */
function shapeOutput(entry: CatalogEntry, body: unknown, redactor: Redactor) {
  const tool = entry.definition;
  try {
    if (tool.output.rootArray && !Array.isArray(body)) throw new ContractViolation('(the answer)', 'a list', kindOf(body));
    const projected = projectOutput(tool.output.rootArray ? { items: body } : body, entry.pick, tool.output.listCaps);
    const redacted = redactor.redactSecrets(projected.value);
    const fitted = fitToBytes(redacted.value, tool.output.maxBytes);
    return entry.checkOutput(fitted.value) ?? { projected, redacted, fitted };
  } catch (error) {
    if (error instanceof ContractViolation) return error;
    throw error;
  }
}
