/**
 * What the MCP server layer asks of the tools layer, declared here so imports go one way
 * (server → tools): the server hands each call a context and receives a result.
 */
import type { CallToolResult, InputRequiredResult, Tool } from '@modelcontextprotocol/server';
import type { Approver } from './approval.ts';
import type { Caller } from './caller.ts';

export interface CallContext {
  caller: Caller;
  /** The caller's own bearer token, only for RFC 8693 token exchange; never sent to the backend. */
  callerToken: string | null;
  sessionId: string | null;
  client: { name: string; version: string } | null;
  /** How a write's approval reaches the human on this call (approval.ts). */
  approver: Approver;
  signal: AbortSignal;
}

export interface ToolService {
  /** The `tools/list` entries this caller may see. */
  list(caller: Caller): Tool[];
  /**
   * `undefined` when no tool has this name (a protocol error, not a tool error). An
   * input-required result only where the approver asks by multi-round-trip (2026-07-28).
   */
  call(name: string, args: unknown, context: CallContext): Promise<CallToolResult | InputRequiredResult> | undefined;
}
