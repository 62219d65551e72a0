/**
 * What the MCP server layer asks of the tools layer, declared here so imports go one way
 * (server → tools): the server hands each call a context and receives a result.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Elicitor } from './approval.ts';
import type { Caller } from './caller.ts';

export interface CallContext {
  caller: Caller;
  /** The caller's own bearer token, only for RFC 8693 token exchange; never sent to the backend. */
  callerToken: string | null;
  sessionId: string | null;
  client: { name: string; version: string } | null;
  elicitor: Elicitor;
  signal: AbortSignal;
}

export interface ToolService {
  /** The `tools/list` entries this caller may see. */
  list(caller: Caller): Tool[];
  /** `undefined` when no tool has this name (a protocol error, not a tool error). */
  call(name: string, args: unknown, context: CallContext): Promise<CallToolResult> | undefined;
}
