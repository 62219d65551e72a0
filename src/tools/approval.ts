/**
 * Human approval for writes (src/README.md D6). A write does nothing until a person confirms
 * that exact action through MCP elicitation (`elicitation/create`, form mode): the message
 * names the tool, the target and the effect, and lists every argument the call will send, so
 * the approval covers exactly what was shown. Nothing the model can put in its own arguments
 * counts as approval.
 */
import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { OperationBinding } from '../generated/tools.ts';
import { displayText } from './displayText.ts';

export type ApprovalDecision = 'accepted' | 'declined' | 'cancelled' | 'unsupported';

/** What the server can do to reach the human behind the client. */
export interface Elicitor {
  /** Whether the client declared the `elicitation` (form) capability at initialize. */
  supported: boolean;
  elicit(params: ElicitRequestFormParams, signal: AbortSignal): Promise<ElicitResult>;
}

const CONFIRM_FIELD = 'confirm';

/** Longest argument value shown verbatim; longer values are shown cut, with their length. */
const MAX_SHOWN_VALUE = 300;

/**
 * Fills `{arg}` and `{lookup.field}` placeholders. Values are shown as data: control characters
 * are removed and long values cut, so a crafted argument cannot restyle the prompt.
 */
export function renderApprovalMessage(
  template: string,
  args: Readonly<Record<string, unknown>>,
  lookup: Readonly<Record<string, unknown>>,
): string {
  return template.replace(/\{(lookup\.)?([A-Za-z0-9_]+)\}/g, (_match, fromLookup: string | undefined, key: string) => {
    const source = fromLookup ? lookup : args;
    return Object.hasOwn(source, key) ? showValue(source[key]) : '(unknown)';
  });
}

const showValue = (value: unknown) => displayText(value, MAX_SHOWN_VALUE);

/**
 * What the owners' manifest sends on every call, which the human approves along with the
 * arguments: fixed values, and the body template the arguments are filled into.
 */
export function describeConstants(operation: Pick<OperationBinding, 'fixed' | 'body'>): string {
  const fixed = operation.fixed.map((f) => `${f.name}=${JSON.stringify(f.value)}`).join(', ');
  const template = operation.body?.template;
  return (fixed ? `\nAlways sent by Deputy: ${fixed}.` : '') + (template !== undefined ? `\nBody built by Deputy, {arg} filled with the arguments: ${JSON.stringify(template)}` : '');
}

/** Every argument the backend call will carry, one per line, in a stable order. */
export function describeArguments(args: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(args).sort();
  if (keys.length === 0) return 'Arguments: none';
  return ['Arguments:', ...keys.map((key) => `  ${key}: ${showValue(args[key])}`)].join('\n');
}

export async function requestApproval(options: {
  toolTitle: string;
  message: string;
  args: Readonly<Record<string, unknown>>;
  elicitor: Elicitor;
  signal: AbortSignal;
}): Promise<ApprovalDecision> {
  if (!options.elicitor.supported) return 'unsupported';
  const result = await options.elicitor.elicit(
    {
      mode: 'form',
      message: `${options.message}\n\n${options.toolTitle} — requested by an AI agent.\n${describeArguments(options.args)}`,
      requestedSchema: {
        type: 'object',
        properties: {
          [CONFIRM_FIELD]: {
            type: 'boolean',
            title: 'Approve this action',
            description: 'Check to let the agent perform exactly the action above.',
          },
        },
        required: [CONFIRM_FIELD],
      },
    },
    options.signal,
  );
  if (result.action === 'accept') return result.content?.[CONFIRM_FIELD] === true ? 'accepted' : 'declined';
  return result.action === 'decline' ? 'declined' : 'cancelled';
}
