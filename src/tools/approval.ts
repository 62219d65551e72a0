/**
 * Human approval for writes (src/README.md D6 and "Protocol eras"). A write does nothing until a person
 * confirms that exact action through an MCP elicitation form: the message names the tool, the
 * target and the effect, and lists every argument the call will send, so the approval covers
 * exactly what was shown. Nothing the model can put in its own arguments counts as approval.
 *
 * The form reaches the human one of two ways, behind one `Approver` seam:
 * - 2025 era: the server sends `elicitation/create` during the call and waits (`elicitingApprover`);
 * - 2026-07-28: the call answers input-required with the form and a sealed `requestState`, and
 *   the client calls again with the answer (approvalRounds.ts).
 */
import type { ElicitRequestFormParams, ElicitResult, InputRequiredResult } from '@modelcontextprotocol/server';
import type { OperationBinding } from '../generated/tools.ts';
import type { PendingView } from '../state/pendingApprovals.ts';
import type { ApprovalPolicy } from './approvalPolicy.ts';
import { showInvisible } from './displayText.ts';

export type ApprovalDecision = 'accepted' | 'declined' | 'cancelled' | 'unsupported';

/**
 * What one approval step ends in: a decision (with the approval id that names an accepted
 * multi-round-trip or out-of-band approval, which the write's Idempotency-Key derives from), a
 * refusal of a resumed call whose approval does not fit it (`mismatch`: another caller, tool or
 * arguments; `replayed`: already used), an out-of-band approval that `expired` undecided or is
 * still `pending` on the approval page, or — 2026-07-28 only — the input-required answer that asks.
 */
export type ApprovalOutcome =
  | { decision: 'accepted'; approvalId: string | null }
  | { decision: 'declined' | 'cancelled' }
  | { decision: 'mismatch' | 'replayed' | 'expired' }
  | { decision: 'pending'; approvalId: string; url: string; expiresAt: number }
  | { ask: InputRequiredResult; approvalId: string };

export interface ApprovalRequest {
  tool: string;
  args: Readonly<Record<string, unknown>>;
  /** Builds the form (may call the backend for the looked-up title); called only when asking. */
  form: () => Promise<ElicitRequestFormParams>;
  /** What the approval page shows (may call the backend for the lookup); called only when one is opened. */
  page: () => Promise<PendingView>;
  /** Who must approve and how many (approvalPolicy.ts). */
  policy: ApprovalPolicy;
  /** The call's correlation id, carried into every audit line of its approval. */
  correlationId: string;
  signal: AbortSignal;
}

/** How a write's approval reaches the human on this call. */
export interface Approver {
  /** Whether this approver can reach a human for an action with this policy on this connection. */
  supports(policy: ApprovalPolicy): boolean;
  decide(request: ApprovalRequest): Promise<ApprovalOutcome>;
}

/**
 * The approver of one call, by what the client declared: the form where one person approves
 * and the client shows forms; otherwise the approval page, by URL elicitation or, where the
 * manifest allows it, by a link in an error result. The two-person rule always needs the page,
 * and so does a form too long to show in full (`PromptTooLong`) where the page can be reached.
 */
export function routedApprover(channels: { form: Approver | null; page: Approver | null; link: Approver | null; resumedOnPage: boolean }): Approver {
  const pick = (policy: ApprovalPolicy): Approver | null => {
    if (channels.resumedOnPage && channels.page) return channels.page;
    if (policy.count === 1 && channels.form?.supports(policy)) return channels.form;
    if (channels.page?.supports(policy)) return channels.page;
    return channels.link?.supports(policy) ? channels.link : null;
  };
  const pageOrLink = (policy: ApprovalPolicy): Approver | null =>
    channels.page?.supports(policy) ? channels.page : channels.link?.supports(policy) ? channels.link : null;
  return {
    supports: (policy) => pick(policy) !== null,
    async decide(request) {
      const chosen = pick(request.policy)!;
      if (chosen !== channels.form) return chosen.decide(request);
      try {
        return await chosen.decide(request);
      } catch (error) {
        // A form too long to show in full is never sent; the page shows any length.
        const fallback = error instanceof PromptTooLong ? pageOrLink(request.policy) : null;
        if (!fallback) throw error;
        return fallback.decide(request);
      }
    },
  };
}

/** What the server can do to reach the human behind the client. */
export interface Elicitor {
  /** Whether the client declared the `elicitation` (form) capability at initialize. */
  supported: boolean;
  elicit(params: ElicitRequestFormParams, signal: AbortSignal): Promise<ElicitResult>;
}

const CONFIRM_FIELD = 'confirm';

/**
 * The longest approval prompt Deputy sends, in characters (code units) of the whole message.
 * Every value is shown in full, never cut — a human must not approve text they cannot see — so an
 * action too long to read in a client's dialog is refused instead (`PromptTooLong`). 8,000
 * characters is about 1,300 words, several screens of a dialog and minutes of careful reading:
 * past that a person skims rather than checks. It holds the longest argument the shipped
 * manifest allows (a 2,000-character note) with room for escapes and the looked-up record.
 */
export const MAX_PROMPT_CHARACTERS = 8_000;

/** An approval prompt that would be longer than `MAX_PROMPT_CHARACTERS`; nothing is sent. */
export class PromptTooLong extends Error {
  override readonly name = 'PromptTooLong';
  constructor(
    readonly characters: number,
    /** The argument whose shown value is longest: the one to shorten. */
    readonly longestArgument: string | null,
  ) {
    super(`approval prompt of ${characters} characters`);
  }
}

/** Quote pairs a message template may put around a placeholder: `'{title}'`, `"{title}"`, `‘{title}’`… */
const QUOTE_PAIRS: Readonly<Record<string, string>> = { "'": "'", '"': '"', '`': '`', '‘': '’', '“': '”', '«': '»', '‹': '›' };

/**
 * Fills `{arg}` and `{lookup.field}` placeholders. Values are shown as data that cannot leave
 * their place: every invisible character is shown (`showInvisible`), line breaks are escaped, and
 * the quote that closes the placeholder is escaped inside the value, so a title cannot end its
 * quotes and add a line of its own. A string the template does not quote is quoted here.
 */
export function renderApprovalMessage(
  template: string,
  args: Readonly<Record<string, unknown>>,
  lookup: Readonly<Record<string, unknown>>,
): string {
  return template.replace(/\{(lookup\.)?([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)\}/g, (match, fromLookup: string | undefined, key: string, at: number) => {
    const source = fromLookup ? lookup : args;
    if (!Object.hasOwn(source, key)) return '(unknown)';
    const before = template[at - 1] ?? '';
    const closing = QUOTE_PAIRS[before];
    const quoted = closing !== undefined && template[at + match.length] === closing;
    return quoted ? inQuotes(source[key]) : quotedValue(source[key]);
  });
}

/**
 * A value as a literal: strings in double quotes with JSON's escapes (`\n`, `\"`, `\\`),
 * other values as JSON, then every invisible character shown. Nothing inside can pass for the
 * text around it.
 */
function quotedValue(value: unknown): string {
  return showInvisible(JSON.stringify(value) ?? 'null');
}

/**
 * Quote marks and their look-alikes (primes, modifier letters, fullwidth forms): any of them could
 * pass for the quote that closes a placeholder. `"` is not here: JSON already escapes it.
 */
const QUOTE_LIKE = /['`\u2018-\u201f\u2032-\u2037\u00ab\u00bb\u2039\u203a\u02b9-\u02bd\u02c8\uff02\uff07]/g;

/**
 * A value inside the template's own quotes: the same escapes, and every quote-like character
 * escaped with a backslash, so none of them can be read as the closing quote.
 */
function inQuotes(value: unknown): string {
  const literal = JSON.stringify(value) ?? 'null';
  const text = typeof value === 'string' ? literal.slice(1, -1) : literal;
  return showInvisible(text.replace(QUOTE_LIKE, (quote) => `\\${quote}`));
}

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
  return ['Arguments:', ...keys.map((key) => `  ${key}: ${quotedValue(args[key])}`)].join('\n');
}

/**
 * The approval form: the rendered message, the tool, every argument in full, and one checkbox.
 * Throws `PromptTooLong` rather than send a prompt longer than `MAX_PROMPT_CHARACTERS`.
 */
export function approvalForm(toolTitle: string, message: string, args: Readonly<Record<string, unknown>>): ElicitRequestFormParams {
  const prompt = `${message}\n\n${toolTitle} — requested by an AI agent.\n${describeArguments(args)}`;
  if (prompt.length > MAX_PROMPT_CHARACTERS) throw new PromptTooLong(prompt.length, longestArgument(args));
  return {
    mode: 'form',
    message: prompt,
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
  };
}

function longestArgument(args: Readonly<Record<string, unknown>>): string | null {
  let longest: { key: string; length: number } | null = null;
  for (const key of Object.keys(args).sort()) {
    const length = quotedValue(args[key]).length;
    if (!longest || length > longest.length) longest = { key, length };
  }
  return longest?.key ?? null;
}

/** The decision an elicitation answer carries: only a checked box is an accept. */
export function decisionOf(answer: { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> | undefined }): 'accepted' | 'declined' | 'cancelled' {
  if (answer.action === 'accept') return answer.content?.[CONFIRM_FIELD] === true ? 'accepted' : 'declined';
  return answer.action === 'decline' ? 'declined' : 'cancelled';
}

/**
 * The 2025-era approver: asks during the call with `elicitation/create` and waits. A failed
 * elicitation (client gone, timeout) is a dismissal; `onFailure` hears why.
 */
export function elicitingApprover(elicitor: Elicitor, onFailure: (error: unknown) => void): Approver {
  return {
    supports: () => elicitor.supported,
    async decide(request) {
      const form = await request.form();
      try {
        const decision = decisionOf(await elicitor.elicit(form, request.signal));
        return decision === 'accepted' ? { decision, approvalId: null } : { decision };
      } catch (error) {
        onFailure(error);
        return { decision: 'cancelled' };
      }
    },
  };
}

export async function requestApproval(options: {
  toolTitle: string;
  message: string;
  args: Readonly<Record<string, unknown>>;
  elicitor: Elicitor;
  signal: AbortSignal;
}): Promise<ApprovalDecision> {
  if (!options.elicitor.supported) return 'unsupported';
  const result = await options.elicitor.elicit(approvalForm(options.toolTitle, options.message, options.args), options.signal);
  return decisionOf(result);
}
