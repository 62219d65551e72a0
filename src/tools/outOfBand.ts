/**
 * Approval out of band (src/README.md, "Approval out of band"): a write waits as a pending
 * approval while a human decides on Deputy's approval page, which the agent's client shows as a
 * URL (URL-mode elicitation, 2025-11-25; its input-required equivalent, 2026-07-28) or, where the
 * manifest allows it, which the model passes on from an error result.
 *
 * This module holds both halves: what a call does (find the decision for its exact action, or
 * open a pending approval and ask) and what the page does (show it, decide on it, with the
 * two-person rule). Each step that must happen once — a decision, the write's release, expiry —
 * is one atomic transition of the store (src/state/pendingApprovals.ts), and is audited.
 */
import { randomBytes } from 'node:crypto';
import { inputRequired, inputResponse, type ElicitRequestURLParams, type ElicitResult, type InputResponses } from '@modelcontextprotocol/server';
import { bindingKey, type DecisionResult, type PendingApproval, type PendingApprovals } from '../state/pendingApprovals.ts';
import type { ApprovalOutcome, ApprovalRequest, Approver } from './approval.ts';
import { mayApprove, sameTenant, type ApproverIdentity } from './approvalPolicy.ts';
import { APPROVAL_INPUT_KEY, argumentsDigest, type ApprovalClaim } from './approvalRounds.ts';
import type { Caller } from './caller.ts';

export type ApprovalEventName = 'requested' | 'viewed' | 'approved' | 'rejected' | 'executed' | 'expired';

/** One step in an out-of-band approval's life, for the audit trail and /metrics. */
export interface ApprovalEvent {
  step: ApprovalEventName;
  approvalId: string;
  /** The correlation id of the call that opened the approval. */
  correlationId: string;
  tool: string;
  requester: { subject: string; clientId: string };
  /** The approval's tenant (src/README.md D41); null with tenants off. */
  tenant: string | null;
  /** Who viewed, approved or rejected; null for the other events. */
  by: string | null;
  approvals: number;
  required: number;
}

export interface OutOfBandOptions {
  store: PendingApprovals;
  /** The approval page of one pending approval: `DEPUTY_PUBLIC_URL` + `/approvals/<id>`. */
  pageUrl: (id: string) => string;
  ttlMs: number;
  /** Audits and counts one event. */
  record: (event: ApprovalEvent) => void;
  now?: () => number;
  /** Runs `check` after `ms` (default: an unref'd timer), so an approval nobody opens is still reported expired. */
  schedule?: (check: () => void, ms: number) => void;
}

/** Why the page refused a decision, in words for the person in front of it. */
export const decisionRefusals: Record<Exclude<DecisionResult['kind'], 'applied'> | 'not_an_approver', string> = {
  unknown: 'There is no such approval. Check the link; nothing was done.',
  expired: 'This approval has expired. Nothing was done; the agent has to ask again.',
  already_decided: 'This approval has already been decided. Nothing more was done.',
  already_approved_by_you: 'You have already approved this action; a second, different person must approve it too.',
  not_an_approver: 'You may not approve this action: you hold none of the scopes or roles its approvers need.',
  requester_second: 'You asked for this action, so you cannot be its second approver; another person must approve it.',
};

export interface OutOfBandApprovals {
  pageUrl(id: string): string;
  /** The record, with a pending one past its expiry reported as expired (once). */
  get(id: string): Promise<PendingApproval | undefined>;
  /** The page was shown to someone signed in. */
  viewed(record: PendingApproval, by: string): void;
  /** An approval or rejection from the page, within the rules (approvers, two-person rule). */
  decide(id: string, identity: ApproverIdentity, approve: boolean): Promise<{ ok: true; record: PendingApproval } | { ok: false; reason: keyof typeof decisionRefusals; record?: PendingApproval }>;
  /** An approver for one call: `wait` (2025 URL mode), `rounds` (2026-07-28) or `link` (an error carrying the page). */
  approver(options: OutOfBandApproverOptions): Approver;
}

export type OutOfBandApproverOptions =
  | { mode: 'wait'; caller: Caller; elicit: (params: ElicitRequestURLParams, signal: AbortSignal) => Promise<ElicitResult>; complete: (id: string) => Promise<void>; pollMs?: number }
  | {
      mode: 'rounds';
      caller: Caller;
      resumed: ApprovalClaim | undefined;
      responses: InputResponses | Record<string, unknown> | undefined;
      seal: (claim: ApprovalClaim) => Promise<string>;
    }
  | { mode: 'link'; caller: Caller };

/** Where the settle step of a call ended. */
type Decided = { kind: 'approved'; id: string } | { kind: 'rejected' } | { kind: 'expired' };
type Settled = Decided | { kind: 'open'; record: PendingApproval };

export function createOutOfBandApprovals(options: OutOfBandOptions): OutOfBandApprovals {
  const { store } = options;
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? ((check: () => void, ms: number) => setTimeout(check, ms).unref());
  const emit = (step: ApprovalEventName, record: PendingApproval, by: string | null = null) =>
    options.record({
      step,
      approvalId: record.id,
      correlationId: record.correlationId,
      tool: record.tool,
      requester: { subject: record.subject, clientId: record.clientId },
      tenant: record.tenant ?? null,
      by,
      approvals: record.approvals.length,
      required: record.required,
    });

  /** A pending (or approved but unused) record past its expiry becomes expired, reported once. */
  async function expireIfDue(record: PendingApproval): Promise<PendingApproval> {
    if (record.expiresAt > now() || (record.status !== 'pending' && record.status !== 'approved')) return record;
    if (await store.transition(record.id, record.status, 'expired')) emit('expired', record);
    return { ...record, status: 'expired' };
  }

  async function get(id: string): Promise<PendingApproval | undefined> {
    const record = await store.get(id);
    return record ? expireIfDue(record) : undefined;
  }

  /** The write is released once: approved → executed. */
  async function release(record: PendingApproval): Promise<boolean> {
    if (!(await store.transition(record.id, 'approved', 'executed'))) return false;
    emit('executed', record);
    return true;
  }

  async function open(request: ApprovalRequest, caller: Caller): Promise<PendingApproval> {
    const created = now();
    const record: PendingApproval = {
      id: randomBytes(16).toString('base64url'),
      subject: caller.subject,
      clientId: caller.clientId,
      tenant: caller.tenant,
      tool: request.tool,
      argsSha256: argumentsDigest(request.args),
      correlationId: request.correlationId,
      required: request.policy.count,
      approvers: [...request.policy.approvers],
      view: await request.page(),
      createdAt: created,
      expiresAt: created + options.ttlMs,
      approvals: [],
      rejection: null,
      status: 'pending',
    };
    await store.open(record);
    emit('requested', record);
    // The transition is atomic, so with a shared store only one replica reports the expiry.
    schedule(() => void get(record.id).catch(() => undefined), options.ttlMs + 1_000);
    return record;
  }

  /** What a decided record means for the call that finds it; undefined while still pending. */
  async function outcomeOf(record: PendingApproval): Promise<Decided | undefined> {
    const current = await expireIfDue(record);
    switch (current.status) {
      case 'pending':
        return undefined;
      case 'approved':
        return (await release(current)) ? { kind: 'approved', id: current.id } : { kind: 'expired' };
      case 'rejected':
        // The rejection answers one call; a later call for the same action asks anew.
        return (await store.transition(current.id, 'rejected', 'closed')) ? { kind: 'rejected' } : { kind: 'expired' };
      default:
        return { kind: 'expired' };
    }
  }

  /** A call finds the decision on its exact action, or the pending approval to wait on, or opens one. */
  async function settle(request: ApprovalRequest, caller: Caller): Promise<Settled> {
    const binding = bindingKey({ subject: caller.subject, clientId: caller.clientId, tenant: caller.tenant, tool: request.tool, argsSha256: argumentsDigest(request.args) });
    const existing = await store.forBinding(binding);
    if (existing && existing.status !== 'executed' && existing.status !== 'closed' && existing.status !== 'expired') {
      const decided = await outcomeOf(existing);
      if (decided === undefined) return { kind: 'open', record: existing };
      if (decided.kind !== 'expired') return decided;
    }
    return { kind: 'open', record: await open(request, caller) };
  }

  const urlMessage = (record: PendingApproval) =>
    `${record.view.toolTitle}: an AI agent asks to do this, and a person must approve it on Deputy's approval page${record.required > 1 ? ` (${record.required} different people)` : ''}. Open the link, sign in, review every detail, then approve or reject.`;

  const outcomeFor = (settled: Decided): ApprovalOutcome =>
    settled.kind === 'approved' ? { decision: 'accepted', approvalId: settled.id } : settled.kind === 'rejected' ? { decision: 'declined' } : { decision: 'expired' };

  const pendingOutcome = (record: PendingApproval): ApprovalOutcome => ({ decision: 'pending', approvalId: record.id, url: options.pageUrl(record.id), expiresAt: record.expiresAt });

  function approver(o: OutOfBandApproverOptions): Approver {
    const { caller } = o;
    // Every channel here reaches the page, which serves any policy; `link` only where the manifest allows it.
    const supports = o.mode === 'link' ? (policy: { link: boolean }) => policy.link : () => true;
    return {
      supports,
      async decide(request) {
        if (o.mode === 'rounds' && o.resumed?.outOfBand) {
          const claim = o.resumed;
          const fits = claim.subject === caller.subject && claim.clientId === caller.clientId && sameTenant(claim, caller) && claim.tool === request.tool && claim.argsSha256 === argumentsDigest(request.args);
          if (!fits) return { decision: 'mismatch' };
          const answer = inputResponse(o.responses, APPROVAL_INPUT_KEY);
          if (answer.kind === 'elicit' && answer.action !== 'accept') return { decision: answer.action === 'decline' ? 'declined' : 'cancelled' };
          const record = await get(claim.approvalId);
          if (!record) return { decision: 'expired' };
          const decided = await outcomeOf(record);
          if (decided) return decided.kind === 'expired' && record.status === 'executed' ? { decision: 'replayed' } : outcomeFor(decided);
          return askByRounds(o, record);
        }
        const settled = await settle(request, caller);
        if (settled.kind !== 'open') return outcomeFor(settled);
        const record = settled.record;
        if (o.mode === 'link') return pendingOutcome(record);
        if (o.mode === 'rounds') return askByRounds(o, record);
        return waitForDecision(o, record, request.signal);
      },
    };
  }

  async function askByRounds(o: Extract<OutOfBandApproverOptions, { mode: 'rounds' }>, record: PendingApproval): Promise<ApprovalOutcome> {
    const claim: ApprovalClaim = {
      approvalId: record.id,
      subject: record.subject,
      clientId: record.clientId,
      tenant: record.tenant ?? null,
      tool: record.tool,
      argsSha256: record.argsSha256,
      expiresAt: record.expiresAt,
      outOfBand: true,
    };
    return {
      approvalId: record.id,
      ask: inputRequired({
        inputRequests: { [APPROVAL_INPUT_KEY]: inputRequired.elicitUrl({ message: urlMessage(record), url: options.pageUrl(record.id) }) },
        requestState: await o.seal(claim),
      }),
    };
  }

  /** 2025 URL mode: show the URL, then hold the call until the page decides, it expires, or the client goes. */
  async function waitForDecision(o: Extract<OutOfBandApproverOptions, { mode: 'wait' }>, record: PendingApproval, signal: AbortSignal): Promise<ApprovalOutcome> {
    let answer: ElicitResult;
    try {
      answer = await o.elicit({ mode: 'url', message: urlMessage(record), url: options.pageUrl(record.id), elicitationId: record.id }, signal);
    } catch {
      // The client could not show the URL (gone, timed out): the call can still find the decision on a retry.
      return pendingOutcome(record);
    }
    if (answer.action !== 'accept') return { decision: answer.action === 'decline' ? 'declined' : 'cancelled' };
    const pollMs = o.pollMs ?? 250;
    while (!signal.aborted) {
      const current = await store.get(record.id);
      const decided = current ? await outcomeOf(current) : { kind: 'expired' as const };
      if (decided) {
        await o.complete(record.id).catch(() => undefined);
        return outcomeFor(decided);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return pendingOutcome(record);
  }

  async function decide(id: string, identity: ApproverIdentity, approve: boolean) {
    const record = await get(id);
    // Another tenant's approval does not exist for this person (src/README.md D41).
    if (!record || !sameTenant(record, identity)) return { ok: false as const, reason: 'unknown' as const };
    if (record.status === 'expired') return { ok: false as const, reason: 'expired' as const, record };
    if (!mayApprove(identity, record.approvers)) return { ok: false as const, reason: 'not_an_approver' as const, record };
    const result = await store.decide(id, { subject: identity.subject, approve }, (current) => {
      if (!approve) return 'ok';
      if (current.approvals.some((a) => a.subject === identity.subject)) return 'already_approved_by_you';
      // The two-person rule: the one who asked may approve first, never complete the approval as the second person.
      if (current.required > 1 && current.approvals.length + 1 >= current.required && identity.subject === current.subject) return 'requester_second';
      return 'ok';
    });
    if (result.kind !== 'applied') return { ok: false as const, reason: result.kind, ...(result.record ? { record: result.record } : {}) };
    emit(approve ? 'approved' : 'rejected', result.record, identity.subject);
    return { ok: true as const, record: result.record };
  }

  return {
    pageUrl: options.pageUrl,
    get,
    viewed: (record, by) => emit('viewed', record, by),
    decide,
    approver,
  };
}
