/**
 * One MCP server instance per serving unit — a 2025-era session, a 2025-era stateless POST, or
 * one 2026-07-28 request — on the official SDK v2's low-level `Server`, with two handlers,
 * `tools/list` and `tools/call`, both answered by the tool service. One factory serves both
 * protocol eras (src/README.md, "Protocol eras"); only the way a write's approval reaches the
 * human differs:
 * - legacy (2025-11-25, 2025-06-18, 2025-03-26): `elicitation/create` sent during the call;
 * - modern (2026-07-28): an input-required result with a sealed `requestState`, answered by
 *   the client's next call (approvalRounds.ts).
 *
 * The low-level server is used instead of `McpServer.registerTool` so that `tools/list` shows
 * exactly the generated, snapshot-tested JSON Schemas (no zod round trip) and so the list can be
 * filtered per caller on every request: a caller is read from each request's verified token,
 * never fixed when a session opened.
 */
import {
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type AuthInfo,
  type CallToolRequestParams,
  type CallToolResult,
  type InputRequiredResult,
  type ProtocolEra,
  type ServerContext,
  type StandardSchemaV1Sync,
} from '@modelcontextprotocol/server';
import { elicitingApprover, routedApprover, type Approver } from '../tools/approval.ts';
import { approvalRounds, type ApprovalClaim, type ConsumedApprovals } from '../tools/approvalRounds.ts';
import type { Caller } from '../tools/caller.ts';
import type { OutOfBandApprovals } from '../tools/outOfBand.ts';
import type { ToolService } from '../tools/toolContract.ts';
import type { RequestStateSeal } from './requestState.ts';

export interface ServerIdentity {
  name: string;
  version: string;
  instructions?: string;
}

/** Where the caller comes from when a transport carries no token (stdio). */
export type CallerSource = (authInfo: AuthInfo | undefined) => { caller: Caller; token: string | null } | null;

/** `legacy`: the 2025 revisions; `modern`: 2026-07-28. */
export type { ProtocolEra };

/** What multi-round-trip approvals (2026-07-28) need: the seal and the single-use memory. */
export interface ApprovalRoundsConfig {
  seal: RequestStateSeal;
  consumed: ConsumedApprovals;
}

export interface McpServerOptions {
  era: ProtocolEra;
  /**
   * Legacy era: whether approval prompts can reach the client. False in stateless mode: the
   * client's answer would arrive on a new POST that a fresh per-request server cannot match,
   * so writes are refused.
   */
  elicitation: boolean;
  approvals: ApprovalRoundsConfig;
  /** The approval page's pending approvals; null where no page is served (stdio). */
  outOfBand: OutOfBandApprovals | null;
  /** A 2025-era elicitation that failed (client gone, timeout): reported, counted as a dismissal. */
  onElicitationFailure: (tool: string, error: unknown) => void;
  /** How long a client may reuse a `tools/list` answer (2026-07-28 cache hint), in milliseconds. */
  toolsListTtlMs: number;
}

type Capabilities = { elicitation?: { form?: object; url?: object } } | undefined;

/** The form capability, as declared by the client (a bare `elicitation: {}` means form). */
function declaresFormElicitation(capabilities: Capabilities): boolean {
  const elicitation = capabilities?.elicitation;
  if (!elicitation) return false;
  return elicitation.form !== undefined || elicitation.url === undefined;
}

/** URL-mode elicitation (MCP 2025-11-25 and later): the client can show the human a link. */
const declaresUrlElicitation = (capabilities: Capabilities): boolean => capabilities?.elicitation?.url !== undefined;

/**
 * What the `tools/call` handler reads of a request's params. The SDK's `Server` checks every
 * `tools/call` request against the era's spec schema before any handler runs, and its 2-arg
 * `setRequestHandler` wrapper then checked the same request with the same schema again; this
 * params schema replaces only that repeat (src/README.md D49). It runs after the spec check, so
 * it narrows the type: a name, and arguments that are an object when present.
 */
export const CALL_PARAMS: StandardSchemaV1Sync<unknown, CallToolRequestParams> = {
  '~standard': {
    version: 1,
    vendor: 'deputy',
    validate: (value) => {
      const params = value as Partial<CallToolRequestParams> | null;
      const ok = typeof params?.name === 'string' && (params.arguments === undefined || (typeof params.arguments === 'object' && params.arguments !== null && !Array.isArray(params.arguments)));
      return ok ? { value: params as CallToolRequestParams } : { issues: [{ message: 'params must have a string name and object arguments' }] };
    },
  },
};

export function createMcpServer(identity: ServerIdentity, tools: ToolService, callerOf: CallerSource, options: McpServerOptions): Server {
  const { approvals } = options;
  const server = new Server(
    { name: identity.name, version: identity.version },
    {
      capabilities: { tools: { listChanged: false } },
      ...(identity.instructions ? { instructions: identity.instructions } : {}),
      // The list depends on the caller's scopes: only the caller's own client may reuse it.
      cacheHints: { 'tools/list': { ttlMs: options.toolsListTtlMs, cacheScope: 'private' } },
      // Runs before the handler on every resumed 2026-07-28 call: a state that Deputy did not
      // seal, or that expired, is answered with the spec's -32602 before any tool code runs.
      requestState: { verify: (state: string) => approvals.seal.open(state) },
    },
  );

  const callerFor = (ctx: ServerContext) => {
    const resolved = callerOf(ctx.http?.authInfo);
    if (!resolved) throw new ProtocolError(ProtocolErrorCode.InvalidRequest, 'Unauthenticated request');
    return resolved;
  };

  server.setRequestHandler('tools/list', (_request, ctx) => ({ tools: tools.list(callerFor(ctx).caller) }));

  // The 3-arg form: the SDK's tools/call wrapper (spec check, input-required seam, result check)
  // runs as before; CALL_PARAMS replaces the 2-arg form's second spec check of the same request.
  server.setRequestHandler('tools/call', { params: CALL_PARAMS }, async (callParams, ctx): Promise<CallToolResult | InputRequiredResult> => {
    const resolved = callerFor(ctx);
    // Per request on 2026-07-28 (the SDK fills these from the validated `_meta` envelope);
    // from initialize on a 2025-era session.
    const client = server.getClientVersion();
    const capabilities = server.getClientCapabilities();
    const caller = resolved.caller;
    const resumed = options.era === 'modern' ? ctx.mcpReq.requestState<ApprovalClaim>() : undefined;
    const { outOfBand } = options;
    // Built when the approval step first asks (a write's call): a read never needs one (src/README.md D46).
    const buildApprover = (): Approver => {
      let form: Approver;
      let page: Approver | null = null;
      if (options.era === 'modern') {
        form = approvalRounds({
          caller,
          supported: declaresFormElicitation(capabilities),
          resumed,
          responses: ctx.mcpReq.inputResponses,
          seal: (claim) => approvals.seal.seal(claim),
          consumed: approvals.consumed,
          ttlMs: approvals.seal.ttlMs,
        });
        if (outOfBand && (declaresUrlElicitation(capabilities) || resumed?.outOfBand)) {
          page = outOfBand.approver({ mode: 'rounds', caller, resumed, responses: ctx.mcpReq.inputResponses, seal: (claim) => approvals.seal.seal(claim) });
        }
      } else {
        form = elicitingApprover(
          {
            supported: options.elicitation && declaresFormElicitation(capabilities),
            // Sent as part of this tools/call (related request), so it travels on the call's own
            // response stream and needs no standalone GET stream.
            elicit: (params, signal) => ctx.mcpReq.elicitInput(params, { signal }),
          },
          (error) => options.onElicitationFailure(callParams.name, error),
        );
        if (outOfBand && options.elicitation && declaresUrlElicitation(capabilities)) {
          page = outOfBand.approver({
            mode: 'wait',
            caller,
            elicit: (params, signal) => ctx.mcpReq.elicitInput(params, { signal }),
            complete: (id) => server.createElicitationCompletionNotifier(id)(),
          });
        }
      }
      return routedApprover({ form, page, link: outOfBand ? outOfBand.approver({ mode: 'link', caller }) : null, resumedOnPage: resumed?.outOfBand === true });
    };
    let approver: Approver | undefined;
    const pending = tools.call(callParams.name, callParams.arguments ?? {}, {
      caller: resolved.caller,
      callerToken: resolved.token,
      sessionId: ctx.sessionId ?? null,
      client: client ? { name: client.name, version: client.version } : null,
      get approver() {
        return (approver ??= buildApprover());
      },
      signal: ctx.mcpReq.signal,
    });
    if (!pending) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${callParams.name}`);
    return pending;
  });

  return server;
}
