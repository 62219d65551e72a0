/**
 * Approval by multi-round-trip (MCP 2026-07-28, "Multi round-trip requests"). The first call
 * of a write answers input-required: the approval form, plus a `requestState` that names the
 * exact action. The client shows the form and calls again with the human's answer and the
 * state, echoed. The state is sealed by the server layer (requestState.ts: HMAC, expiry), so
 * here it is already known to be Deputy's own and fresh; what this module checks is that it
 * fits the resumed call — same subject and client, same tool, same canonical arguments — and
 * that it is used once: a consumed approval id is remembered until the state expires.
 */
import { createHash, randomBytes } from 'node:crypto';
import { inputRequired, inputResponse, type InputResponses } from '@modelcontextprotocol/server';
import { decisionOf, type Approver } from './approval.ts';
import { canonicalJson } from './audit.ts';
import { MemorySingleUse, type SingleUseIds } from '../state/singleUse.ts';
import type { Caller } from './caller.ts';
import { sameTenant } from './approvalPolicy.ts';

/** What a sealed `requestState` carries: the action one human approval is for. */
export interface ApprovalClaim {
  /** Unique per approval request; names the approval in the audit trail and the Idempotency-Key. */
  approvalId: string;
  subject: string;
  clientId: string;
  /** The caller's tenant (src/README.md D41); absent on states sealed before tenants, which count as null. */
  tenant?: string | null;
  tool: string;
  /** SHA-256 of the canonical JSON of the validated arguments. */
  argsSha256: string;
  /** Milliseconds since the epoch; the seal expires with it. */
  expiresAt: number;
  /** The approval is decided on the approval page (outOfBand.ts); `approvalId` names the pending approval. */
  outOfBand?: true;
}

/**
 * Approval ids already used, each kept until its approval expires (after that the seal
 * refuses the state anyway): in memory by default (one replica), on Redis with
 * DEPUTY_REDIS_URL, where every replica sees an id the moment one consumed it.
 */
export type ConsumedApprovals = SingleUseIds;
export const InMemoryConsumedApprovals = MemorySingleUse;

/** Refusals of a resumed call whose approval does not fit it; both name the way out. */
export const approvalMessages = {
  mismatch: (tool: string) =>
    `This approval was given for another action or caller, not this ${tool} call. Nothing was done; call ${tool} again with the arguments you mean, and the user will be asked to approve them.`,
  replayed: (tool: string) =>
    `This approval for ${tool} was already used; an approval allows exactly one action. Nothing more was done; call ${tool} again if the user wants the action repeated.`,
} as const;

/** The key the form's answer travels under in `inputRequests` / `inputResponses`. */
export const APPROVAL_INPUT_KEY = 'approval';

export function argumentsDigest(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args)).digest('base64url');
}

/**
 * The Idempotency-Key of a write approved by multi-round-trip: derived from the approval id, so
 * two deliberately approved identical writes are two writes, and a retried or replayed
 * approval reaches the backend with the same key and acts once.
 */
export function approvalIdempotencyKey(approvalId: string): string {
  return `deputy-approval-${createHash('sha256').update(approvalId).digest('base64url').slice(0, 43)}`;
}

export interface ApprovalRoundsOptions {
  caller: Caller;
  /** Whether this request declared form elicitation in its client capabilities. */
  supported: boolean;
  /** The claim of a verified `requestState` the client echoed, or undefined on a first call. */
  resumed: ApprovalClaim | undefined;
  /** The client's answers (untrusted) of a resumed call. */
  responses: InputResponses | Record<string, unknown> | undefined;
  /** Seals a claim into a `requestState` (requestState.ts). */
  seal: (claim: ApprovalClaim) => Promise<string>;
  consumed: ConsumedApprovals;
  ttlMs: number;
  now?: () => number;
}

export function approvalRounds(options: ApprovalRoundsOptions): Approver {
  const now = options.now ?? Date.now;
  const { caller, resumed } = options;
  return {
    supports: () => options.supported,
    async decide(request) {
      const argsSha256 = argumentsDigest(request.args);
      const answer = inputResponse(options.responses, APPROVAL_INPUT_KEY);
      if (resumed && answer.kind === 'elicit') {
        const fits =
          resumed.subject === caller.subject && resumed.clientId === caller.clientId && sameTenant(resumed, caller) && resumed.tool === request.tool && resumed.argsSha256 === argsSha256;
        if (!fits) return { decision: 'mismatch' };
        const decision = decisionOf(answer);
        if (decision !== 'accepted') return { decision };
        // Consumed only on an accept: a decline costs nothing and cannot be turned into an accept.
        if (!(await options.consumed.consume(resumed.approvalId, resumed.expiresAt))) return { decision: 'replayed' };
        return { decision, approvalId: resumed.approvalId };
      }
      // A first call, or a resumed one that carries no answer: ask (again), for this exact action.
      const form = await request.form();
      const claim: ApprovalClaim = {
        approvalId: randomBytes(16).toString('base64url'),
        subject: caller.subject,
        clientId: caller.clientId,
        tenant: caller.tenant,
        tool: request.tool,
        argsSha256,
        expiresAt: now() + options.ttlMs,
      };
      return {
        approvalId: claim.approvalId,
        ask: inputRequired({
          inputRequests: { [APPROVAL_INPUT_KEY]: inputRequired.elicit(form) },
          requestState: await options.seal(claim),
        }),
      };
    },
  };
}
