/**
 * The tool service: the catalogue, `tools/list` for a caller, and `run`, which takes every call
 * through the pipeline's steps in the one order `CALL_STEPS` lists (callSteps.ts; src/README.md,
 * "The flow of a call"):
 *
 *   policy (caller scopes) → quota (per user) → input validation → fair share (of the backend's
 *   rate limit) → approval (writes) → backend call → output (projection, secret redaction, size
 *   cap, output check) → result and audit line
 *
 * Every outcome the model can act on is an `isError: true` result with a short message
 * (toolErrors.ts); a call that is refused before the backend step makes no backend request. The
 * user's in-flight slot is given back however the call ends.
 */
import type { Logger } from 'pino';
import type { CallToolResult, InputRequiredResult, Tool } from '@modelcontextprotocol/server';
import { isBackendError, type BackendClient } from '../backend/index.ts';
import type { AuditLog } from './audit.ts';
import type { Caller } from './caller.ts';
import type { FairShareGate } from './fairShare.ts';
import { backendMs, CALL_STEPS, callSteps, errorResult, refusal, type CallEnd, type ToolCall } from './callSteps.ts';
import { visibleTools } from './policy.ts';
import { createRedactor } from './redactSecrets.ts';
import type { CatalogEntry, ToolCatalog } from './toolCatalog.ts';
import type { CallContext, ToolService } from './toolContract.ts';
import { messageForBackendError, toolMessages, type ErrorContext } from './toolErrors.ts';
import { newTrace, randomHex } from './traceIds.ts';
import { UserQuotas, type QuotaLimits } from './userQuotas.ts';
import type { LimiterFactory } from '../state/limiters.ts';
import { SharedStateUnavailable } from '../state/singleUse.ts';

export interface ToolServiceOptions {
  catalog: ToolCatalog;
  backend: BackendClient;
  audit: AuditLog;
  /** Application log (operator detail). Never receives tokens or backend bodies. */
  log: Logger;
  quotas: QuotaLimits;
  /** Where the quota counters live: this process's memory or the shared store. */
  limiters: LimiterFactory;
  /** Token exchange: the backend token is minted on behalf of the caller (RFC 8693). */
  onBehalfOfCaller: boolean;
  /** The backend's own secret formats (the server profile's `secretPatterns`), redacted from every result. */
  secretPatterns?: readonly string[];
  /** Keeps one caller to a share of the backend's rate limit (fairShare.ts); absent, the gate is off. */
  fairShare?: FairShareGate;
  /**
   * The manifest surface this service serves (src/README.md D42), written on its audit lines;
   * absent for the single `/mcp`.
   */
  surface?: string;
  /**
   * The per-user quotas, shared by every surface's service so one user has one budget; absent,
   * the service counts its own over its catalogue.
   */
  userQuotas?: UserQuotas;
}

export interface DeputyToolService extends ToolService {
  /** The caller scopes a tool needs, or undefined for an unknown tool (for the HTTP 403 pre-check). */
  toolScopes(name: string): readonly string[] | undefined;
  /** Every caller scope any tool needs (for Protected Resource Metadata). */
  allScopes(): string[];
  /** Audits a call refused before it reached the pipeline (HTTP scope check, unknown tool). */
  recordRefusal(tool: string, caller: Caller, sessionId: string | null, outcome: 'denied' | 'unknown_tool'): void;
}

export function createToolService(options: ToolServiceOptions): DeputyToolService {
  const { catalog, backend, audit, log } = options;
  const redactor = createRedactor(options.secretPatterns);
  const entries = [...catalog.values()];
  const quotas = options.userQuotas ?? new UserQuotas(options.quotas, options.limiters, entries.map((e) => e.definition));
  const surface = options.surface !== undefined ? { surface: options.surface } : {};
  const steps = callSteps({ backend, log, redactor, quotas, onBehalfOfCaller: options.onBehalfOfCaller, ...(options.fairShare ? { fairShare: options.fairShare } : {}) });
  const pipeline = CALL_STEPS.map((name) => steps[name]);

  async function run(entry: CatalogEntry, rawArgs: unknown, context: CallContext): Promise<CallToolResult | InputRequiredResult> {
    const tool = entry.definition;
    const started = performance.now();
    const { traceId, traceparent } = newTrace();
    const call: ToolCall = {
      entry,
      tool,
      context,
      rawArgs,
      correlationId: traceId,
      traceparent,
      args: null,
      approval: 'not_reached',
      approvalId: null,
      backendStarted: null,
      backendStatus: null,
      response: null,
      rehearsal: null,
      release: null,
    };
    const finish = ({ result, outcome, args }: CallEnd) => {
      audit.record({
        correlationId: traceId,
        ...surface,
        caller: { subject: context.caller.subject, clientId: context.caller.clientId },
        tenant: context.caller.tenant,
        sessionId: context.sessionId,
        tool: tool.name,
        risk: tool.risk,
        arguments: args,
        ...outcome,
        ...(call.approvalId ? { approvalId: call.approvalId } : {}),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
      return result;
    };

    try {
      for (const step of pipeline) {
        const end = await step(call);
        if (end) return finish(end);
      }
      throw new Error('the pipeline ended without a result');
    } catch (error) {
      if (isBackendError(error) && call.args !== null) {
        if (error.operatorProblem) log.error({ tool: tool.name, error: error.toJSON() }, 'backend call failed: operator action needed');
        else log.info({ tool: tool.name, code: error.code, status: error.status }, 'backend call failed');
        const errorContext: ErrorContext = {
          tool: tool.name,
          target: entry.targetArg && typeof call.args[entry.targetArg] === 'string' ? { name: entry.targetArg, value: call.args[entry.targetArg] as string } : null,
          finder: entry.finder,
          onBehalfOfCaller: options.onBehalfOfCaller,
        };
        return finish({
          result: errorResult(messageForBackendError(error, errorContext)),
          outcome: { outcome: 'tool_error', approval: call.approval, backend: { status: error.status ?? null, durationMs: backendMs(call), errorCode: error.code }, result: null },
          args: call.args,
        });
      }
      // A single-use approval could not be recorded in the shared store: refused, never done twice.
      if (error instanceof SharedStateUnavailable) return finish(refusal(toolMessages.sharedStateUnavailable(tool.name), 'shared_state_unavailable', call.args, call.approval));
      // Anything unexpected: the model gets a generic answer, the log gets the class and message (no stack, no values).
      log.error({ tool: tool.name, err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'tool call failed unexpectedly');
      return finish(refusal(toolMessages.internal(), 'tool_error', null));
    } finally {
      call.release?.();
    }
  }

  function recordRefusal(tool: string, caller: Caller, sessionId: string | null, outcome: 'denied' | 'unknown_tool'): void {
    audit.record({
      correlationId: randomHex(16),
      ...surface,
      caller: { subject: caller.subject, clientId: caller.clientId },
      tenant: caller.tenant,
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
