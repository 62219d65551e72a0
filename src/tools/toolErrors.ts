/**
 * Errors are answers (src/README.md D8): the one place where a failure becomes the short text
 * a model reads in an `isError: true` result. Messages say what happened and what to do next;
 * they never carry backend bodies, stack traces, URLs or tokens. Failures that only an
 * operator can fix (Deputy's own credential refused, token endpoint down) get a generic message
 * here and their detail goes to the log.
 */
import type { BackendError } from '../backend/backendError.ts';
import { displayText } from './displayText.ts';

export interface ErrorContext {
  tool: string;
  /** The target the call named, e.g. `{ name: 'filename', value: 'q3.md' }`, if any. */
  target: { name: string; value: string } | null;
  /** A read tool the model can call to find valid targets, e.g. `listDrafts`. */
  finder: string | null;
  /** Backend tokens are exchanged for the caller's (RFC 8693): a refusal is about the user. */
  onBehalfOfCaller: boolean;
}

function targetText(context: ErrorContext): string {
  return context.target ? ` ${context.target.name} '${displayText(context.target.value, 80)}'` : '';
}

export function messageForBackendError(error: BackendError, context: ErrorContext): string {
  const finder = context.finder ? ` Call ${context.finder} to find valid values.` : '';
  switch (error.code) {
    case 'INVALID_ARGUMENT':
      return `Invalid argument${error.argument ? ` '${error.argument}'` : ''}: it cannot be sent safely (path separators, dot segments or control characters are not allowed). Nothing was sent to the backend.`;
    case 'BACKEND_BAD_REQUEST':
    case 'BACKEND_UNPROCESSABLE':
      return `The admin backend rejected the request${error.fields?.length ? ` (fields: ${error.fields.join(', ')})` : ''}. Check the arguments against the tool's input schema and try again.`;
    case 'BACKEND_NOT_FOUND':
      return `Not found:${targetText(context) || ' the requested resource'} does not exist.${finder}`;
    case 'BACKEND_CONFLICT':
      return `Conflict:${targetText(context) || ' the resource'} is not in a state that allows ${context.tool} (for example, it was already done). Nothing was changed; check its current state before retrying.`;
    case 'BACKEND_RATE_LIMITED':
      return error.retryAfterSeconds !== undefined
        ? `The admin backend is rate limiting this operation; retry after ${error.retryAfterSeconds} s.`
        : 'The admin backend is rate limiting this operation; wait a little before retrying.';
    case 'BACKEND_UNAVAILABLE':
      return `The admin backend is unavailable right now${error.retryAfterSeconds !== undefined ? `; retry after ${error.retryAfterSeconds} s` : '; try again in a minute'}.`;
    case 'BACKEND_TIMEOUT':
      return 'The admin backend did not answer in time. It may be overloaded; try again later. If this was a write, check its result before retrying.';
    case 'BACKEND_CONNECTION':
      return 'The admin backend could not be reached (connection failed or was reset). Try again in a minute.';
    case 'BACKEND_MALFORMED_RESPONSE':
      return 'The admin backend sent a response that could not be read. Try again later; if it persists, report it to the operators.';
    case 'BACKEND_RESPONSE_TOO_LARGE':
      return 'The admin backend response was larger than this tool allows. Narrow the request (filters, a smaller limit) and try again.';
    case 'BACKEND_ABORTED':
      return 'The call was cancelled before it finished.';
    case 'BACKEND_TOKEN_UNAVAILABLE':
      // Token exchange refused with invalid_scope: this user may not do this (RFC 8693 §2.2.2).
      if (context.onBehalfOfCaller && error.causeCode === 'invalid_scope') {
        return `Not allowed: the authorization server does not let this user perform ${context.tool}. Nothing was done; the user can ask an administrator for access.`;
      }
      return toolMessages.operator();
    case 'BACKEND_UNAUTHORIZED':
    case 'BACKEND_FORBIDDEN':
    case 'BACKEND_EGRESS_DENIED':
    case 'BACKEND_UNEXPECTED_STATUS':
      return toolMessages.operator();
  }
}

/** For calls that never reached the backend. */
export const toolMessages = {
  invalidInput: (problems: readonly string[]) =>
    `Invalid arguments: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}. Fix them and call again; nothing was sent to the backend.`,
  missingScope: (tool: string, scopes: readonly string[]) =>
    `Not allowed: ${tool} needs the scope ${scopes.join(' ')}, which this connection's token does not carry.`,
  quota: (tool: string, q: { quota: 'calls' | 'tool_calls' | 'in_flight'; limit: number; windowSeconds: number; retryAfterSeconds: number }) =>
    q.quota === 'in_flight'
      ? `Quota reached (calls in flight): this user already has ${q.limit} tool calls running, across all sessions. Nothing was done; wait for one to finish, then retry.`
      : q.quota === 'tool_calls'
        ? `Quota reached (${tool} calls): this user may start ${tool} ${q.limit} times per ${q.windowSeconds} s. Nothing was done; retry after ${q.retryAfterSeconds} s.`
        : `Quota reached (calls): this user may start ${q.limit} tool calls per ${q.windowSeconds} s, all tools and sessions together. Nothing was done; retry after ${q.retryAfterSeconds} s.`,
  sharedStateUnavailable: (tool: string) =>
    `${tool} changes data, and Deputy cannot reach its shared state right now to check this user's limits and approvals, so it refuses rather than guess. Nothing was done; read tools still work. Retry in a minute.`,
  fairShare: (reason: 'share' | 'exhausted', retryAfterSeconds: number) =>
    reason === 'share'
      ? `The admin backend's rate limit is shared by every user, and this call would take more than your fair share of what is left in its current window; retry after ${retryAfterSeconds} s. Other users draw on the same limit, so this is not your usage alone.`
      : `The admin backend's rate limit, shared by every user, is used up for its current window; retry after ${retryAfterSeconds} s. Other users draw on the same limit, so this is not your usage alone.`,
  approvalDeclined: (tool: string) => `The user declined ${tool}. Nothing was done. Do not retry unless the user asks again.`,
  approvalCancelled: (tool: string) => `The approval request for ${tool} was dismissed. Nothing was done.`,
  approvalUnsupported: (tool: string, approvers: number = 1) =>
    approvers > 1
      ? `${tool} needs the approval of ${approvers} different people on Deputy's approval page, and this client cannot show its link (MCP URL elicitation). Nothing was done; ask the user to perform this action with a client that supports URL elicitation.`
      : `${tool} changes data and needs a human's approval, but no approval prompt (MCP elicitation) can be shown on this connection: the client does not declare form or URL elicitation, or it speaks a 2025 protocol revision to a stateless Deputy. Nothing was done; ask the user to perform this action with a client that supports elicitation (MCP 2026-07-28, or a 2025 revision on a stateful Deputy).`,
  approvalPending: (tool: string, url: string, expiresAt: number) =>
    `${tool} is waiting for a person's approval; nothing was done yet. Give the user this link to review and approve or reject it: ${url} (it expires at ${new Date(expiresAt).toISOString().slice(11, 16)} UTC). Once they have decided, call ${tool} again with exactly the same arguments: the call then runs once, or reports the rejection.`,
  approvalExpired: (tool: string) =>
    `The approval for ${tool} expired before it was used or decided. Nothing was done; call ${tool} again to ask for a new approval.`,
  approvalTooLong: (tool: string, characters: number, limit: number, longestArgument: string | null) =>
    `${tool} was not done: its approval prompt would be ${characters} characters, more than the ${limit} a prompt shows in full, and a person must see the whole action before approving it. ${longestArgument ? `Shorten '${longestArgument}' (invisible characters count several times, as they are shown by code point) and call again` : 'Call again with shorter arguments'}, or ask the user to do it another way.`,
  operator: () =>
    'Deputy could not complete this call because of a server-side configuration problem. The operators have been notified in the logs; do not retry.',
  contractViolation: (tool: string, wrote: boolean, v: { at: string; expected: string; got: string }) =>
    `${wrote ? `${tool} was carried out (the admin backend accepted it), but its answer` : `The admin backend's answer to ${tool}`} does not match its API description (${v.at}: expected ${v.expected}, got ${v.got}), so no result can be shown. ${wrote ? 'Do not repeat the call; read the current state with a read tool instead.' : "Retrying is unlikely to help; the operators can see this in Deputy's logs."}`,
  previewUnconfirmed: (tool: string) =>
    `${tool} is in dry-run mode, but the admin backend did not confirm that it only previewed the request (no Preference-Applied answer), so it may have carried it out. Do not retry; ask the user to check the current state with a read tool.`,
  internal: () => 'Deputy hit an internal error. Nothing more is known to the agent; the operators have the details in the logs.',
} as const;
