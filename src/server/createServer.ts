/**
 * One MCP server per session (or per request in stateless mode): the SDK's low-level `Server`
 * with two handlers, `tools/list` and `tools/call`, both answered by the tool service.
 *
 * The low-level server is used instead of `McpServer.registerTool` so that `tools/list` shows
 * exactly the generated, snapshot-tested JSON Schemas (no zod round trip) and so the list can be
 * filtered per caller on every request: a caller is read from each request's verified token,
 * never fixed when the session opened.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Elicitor } from '../tools/approval.ts';
import type { Caller } from '../tools/caller.ts';
import type { ToolService } from '../tools/toolContract.ts';

export interface ServerIdentity {
  name: string;
  version: string;
  instructions?: string;
}

/** Where the caller comes from when a transport carries no token (stdio). */
export type CallerSource = (authInfo: AuthInfo | undefined) => { caller: Caller; token: string | null } | null;

export interface ServerOptions {
  /**
   * Whether approval prompts can reach the client. False in stateless mode: the client's answer
   * would arrive on a new POST that a fresh per-request server cannot match, so writes are refused.
   */
  elicitation: boolean;
}

export function createServer(identity: ServerIdentity, tools: ToolService, callerOf: CallerSource, options: ServerOptions = { elicitation: true }): Server {
  const server = new Server(
    { name: identity.name, version: identity.version },
    { capabilities: { tools: { listChanged: false } }, ...(identity.instructions ? { instructions: identity.instructions } : {}) },
  );

  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => {
    const resolved = callerOf(extra.authInfo);
    if (!resolved) throw new McpError(ErrorCode.InvalidRequest, 'Unauthenticated request');
    return { tools: tools.list(resolved.caller) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const resolved = callerOf(extra.authInfo);
    if (!resolved) throw new McpError(ErrorCode.InvalidRequest, 'Unauthenticated request');
    const client = server.getClientVersion();
    const elicitor: Elicitor = {
      supported: options.elicitation && server.getClientCapabilities()?.elicitation !== undefined,
      // Sent as part of this tools/call (related request), so it travels on the call's own
      // response stream and needs no standalone GET stream.
      elicit: (params, signal) =>
        extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema, { signal }),
    };
    const pending = tools.call(request.params.name, request.params.arguments ?? {}, {
      caller: resolved.caller,
      callerToken: resolved.token,
      sessionId: extra.sessionId ?? null,
      client: client ? { name: client.name, version: client.version } : null,
      elicitor,
      signal: extra.signal,
    });
    if (!pending) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    return pending;
  });

  return server;
}
