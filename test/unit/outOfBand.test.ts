/**
 * Out-of-band approvals without a browser: the pending store, a retried call finding the
 * decision exactly once, the two-person rule, expiry, and a resumed 2026-07-28 call.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryPendingApprovals } from '../../src/state/pendingApprovals.ts';
import { PromptTooLong, routedApprover, type ApprovalRequest, type Approver } from '../../src/tools/approval.ts';
import type { ApprovalClaim } from '../../src/tools/approvalRounds.ts';
import type { Caller } from '../../src/tools/caller.ts';
import { approvalPolicyOf, mayApprove } from '../../src/tools/approvalPolicy.ts';
import { createOutOfBandApprovals, type ApprovalEvent } from '../../src/tools/outOfBand.ts';

const requester: Caller = { subject: 'dev', clientId: 'agent', scopes: ['drafts:publish'], tenant: null, expiresAt: 0 };
const alice = { subject: 'alice', scopes: ['drafts:publish'], roles: [] };
const olivia = { subject: 'olivia', scopes: [], roles: ['publisher'] };
const dana = { subject: 'dana', scopes: ['drafts:read'], roles: [] };
const dev = { subject: 'dev', scopes: ['drafts:publish'], roles: [] };

function harness(count: 1 | 2 = 1) {
  let clock = 1_000_000;
  const events: ApprovalEvent[] = [];
  const store = new InMemoryPendingApprovals(() => clock);
  const timers: (() => void)[] = [];
  const oob = createOutOfBandApprovals({
    store,
    pageUrl: (id) => `https://deputy.example/approvals/${id}`,
    ttlMs: 60_000,
    record: (e) => events.push(e),
    now: () => clock,
    schedule: (check) => timers.push(check),
  });
  let pages = 0;
  const request = (args: Record<string, unknown> = { filename: 'q3.md' }): ApprovalRequest => ({
    tool: 'publishDraft',
    args,
    form: () => Promise.reject(new Error('no form here')),
    page: async () => {
      pages += 1;
      return { toolTitle: 'Publish a draft', message: 'Publish?', args, fixed: { notifySubscribers: false }, bodyTemplate: null, lookup: { title: 'Q3' } };
    },
    policy: { count, approvers: ['drafts:publish', 'publisher'], link: true },
    correlationId: 'corr-1',
    signal: new AbortController().signal,
  });
  const link = oob.approver({ mode: 'link', caller: requester });
  return { oob, store, events, request, link, timers, advance: (ms: number) => (clock += ms), pages: () => pages };
}

describe('out-of-band approvals', () => {
  it('binds an approval to its tenant: another tenant’s approver cannot decide it, nor its caller use it (D41)', async () => {
    const h = harness();
    const acmeDev: Caller = { ...requester, tenant: 'acme' };
    const acmeLink = h.oob.approver({ mode: 'link', caller: acmeDev });
    const { approvalId } = (await acmeLink.decide(h.request())) as { approvalId: string };
    expect(h.events[0]).toMatchObject({ step: 'requested', tenant: 'acme' });
    // Same subject, same scopes, other tenant (or none): as if the approval did not exist.
    expect(await h.oob.decide(approvalId, { ...alice, tenant: 'globex' }, true)).toEqual({ ok: false, reason: 'unknown' });
    expect(await h.oob.decide(approvalId, alice, true)).toEqual({ ok: false, reason: 'unknown' });
    // The same subject in another tenant asking for the same action gets an approval of its own.
    const globexLink = h.oob.approver({ mode: 'link', caller: { ...requester, tenant: 'globex' } });
    const theirs = (await globexLink.decide(h.request())) as { approvalId: string };
    expect(theirs.approvalId).not.toBe(approvalId);
    expect(await h.oob.decide(approvalId, { ...alice, tenant: 'acme' }, true)).toMatchObject({ ok: true, record: { status: 'approved', tenant: 'acme' } });
    expect(await globexLink.decide(h.request())).toMatchObject({ decision: 'pending', approvalId: theirs.approvalId });
    expect(await acmeLink.decide(h.request())).toEqual({ decision: 'accepted', approvalId });
  });

  it('a first call opens one pending approval (128-bit id, page URL) and a retry reuses it', async () => {
    const h = harness();
    const first = await h.link.decide(h.request());
    expect(first).toMatchObject({ decision: 'pending', url: expect.stringMatching(/^https:\/\/deputy\.example\/approvals\/[A-Za-z0-9_-]{22}$/) });
    const again = await h.link.decide(h.request());
    expect(again).toEqual(first);
    expect(h.pages()).toBe(1);
    // Other arguments are another action: another approval.
    const other = await h.link.decide(h.request({ filename: 'q4.md' }));
    expect((other as { approvalId: string }).approvalId).not.toBe((first as { approvalId: string }).approvalId);
    expect(h.events.filter((e) => e.step === 'requested')).toHaveLength(2);
  });

  it('an approval on the page lets the retry run exactly once', async () => {
    const h = harness();
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    expect(await h.oob.decide(approvalId, alice, true)).toMatchObject({ ok: true, record: { status: 'approved' } });
    expect(await h.link.decide(h.request())).toEqual({ decision: 'accepted', approvalId });
    // The next identical call is a new action and needs a new approval.
    const next = await h.link.decide(h.request());
    expect(next).toMatchObject({ decision: 'pending' });
    expect((next as { approvalId: string }).approvalId).not.toBe(approvalId);
    expect(h.events.map((e) => [e.step, e.by])).toEqual([
      ['requested', null],
      ['approved', 'alice'],
      ['executed', null],
      ['requested', null],
    ]);
    expect(h.events[1]).toMatchObject({ correlationId: 'corr-1', requester: { subject: 'dev', clientId: 'agent' } });
  });

  it('a rejection answers the retry once; a decided approval cannot be decided again', async () => {
    const h = harness();
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    expect(await h.oob.decide(approvalId, alice, false)).toMatchObject({ ok: true, record: { status: 'rejected', rejection: { subject: 'alice' } } });
    expect(await h.oob.decide(approvalId, olivia, true)).toMatchObject({ ok: false, reason: 'already_decided' });
    expect(await h.link.decide(h.request())).toEqual({ decision: 'declined' });
  });

  it('only a holder of an approvers scope or role may decide', async () => {
    const h = harness();
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    expect(await h.oob.decide(approvalId, dana, true)).toMatchObject({ ok: false, reason: 'not_an_approver' });
    expect(await h.oob.decide(approvalId, dana, false)).toMatchObject({ ok: false, reason: 'not_an_approver' });
    expect(await h.oob.decide(approvalId, olivia, true)).toMatchObject({ ok: true });
  });

  it('two-person rule: two different people, and the requester never as the second', async () => {
    const h = harness(2);
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    expect(await h.oob.decide(approvalId, alice, true)).toMatchObject({ ok: true, record: { status: 'pending', approvals: [{ subject: 'alice' }] } });
    expect(await h.oob.decide(approvalId, alice, true)).toMatchObject({ ok: false, reason: 'already_approved_by_you' });
    expect(await h.oob.decide(approvalId, dev, true)).toMatchObject({ ok: false, reason: 'requester_second' });
    expect(await h.link.decide(h.request())).toMatchObject({ decision: 'pending', approvalId });
    expect(await h.oob.decide(approvalId, olivia, true)).toMatchObject({ ok: true, record: { status: 'approved' } });
    expect(await h.link.decide(h.request())).toEqual({ decision: 'accepted', approvalId });
  });

  it('the requester may approve first; the second must be someone else', async () => {
    const h = harness(2);
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    expect(await h.oob.decide(approvalId, dev, true)).toMatchObject({ ok: true });
    expect(await h.oob.decide(approvalId, dev, true)).toMatchObject({ ok: false, reason: 'already_approved_by_you' });
    expect(await h.oob.decide(approvalId, alice, true)).toMatchObject({ ok: true, record: { status: 'approved' } });
  });

  it('expiry: no decision after it, reported once, and the retry asks anew', async () => {
    const h = harness();
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    h.advance(60_001);
    expect(await h.oob.decide(approvalId, alice, true)).toMatchObject({ ok: false, reason: 'expired' });
    expect((await h.oob.get(approvalId))?.status).toBe('expired');
    const retry = await h.link.decide(h.request());
    expect((retry as { approvalId: string }).approvalId).not.toBe(approvalId);
    expect(h.events.filter((e) => e.step === 'expired')).toHaveLength(1);
  });

  it('an approval nobody opens is reported expired when its time is up', async () => {
    const h = harness();
    await h.link.decide(h.request());
    expect(h.timers).toHaveLength(1);
    h.advance(61_000);
    h.timers[0]!();
    await expect.poll(() => h.events.map((e) => e.step)).toEqual(['requested', 'expired']);
  });

  it('an approval that expires unused does not run', async () => {
    const h = harness();
    const { approvalId } = (await h.link.decide(h.request())) as { approvalId: string };
    await h.oob.decide(approvalId, alice, true);
    h.advance(60_001);
    expect(await h.link.decide(h.request())).toMatchObject({ decision: 'pending' });
  });

  it('an unknown id is refused', async () => {
    const h = harness();
    expect(await h.oob.decide('AAAAAAAAAAAAAAAAAAAAAA', alice, true)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('2026-07-28: asks by URL with a sealed claim; the resumed call runs once, and only for its own action', async () => {
    const h = harness();
    const sealed: ApprovalClaim[] = [];
    const rounds = (resumed?: ApprovalClaim, caller: Caller = requester) =>
      h.oob.approver({ mode: 'rounds', caller, resumed, responses: { approval: { action: 'accept' } }, seal: async (c) => (sealed.push(c), 'sealed') });
    const first = await rounds().decide(h.request());
    expect(first).toMatchObject({ ask: { resultType: 'input_required', inputRequests: { approval: { method: 'elicitation/create', params: { mode: 'url', url: expect.stringContaining('/approvals/') } } } } });
    const claim = sealed[0]!;
    expect(claim).toMatchObject({ outOfBand: true, subject: 'dev', tool: 'publishDraft' });
    // Not decided yet: asked again for the same approval.
    expect(await rounds(claim).decide(h.request())).toMatchObject({ approvalId: claim.approvalId, ask: expect.anything() });
    await h.oob.decide(claim.approvalId, alice, true);
    expect(await rounds(claim, { ...requester, subject: 'mallory' }).decide(h.request())).toEqual({ decision: 'mismatch' });
    expect(await rounds(claim).decide(h.request({ filename: 'other.md' }))).toEqual({ decision: 'mismatch' });
    expect(await rounds(claim).decide(h.request())).toEqual({ decision: 'accepted', approvalId: claim.approvalId });
    expect(await rounds(claim).decide(h.request())).toEqual({ decision: 'replayed' });
  });
});

describe('routedApprover: which channel reaches the human', () => {
  const channel = (name: string, supported: boolean | ((policy: { link: boolean }) => boolean)): Approver => ({
    supports: typeof supported === 'function' ? supported : () => supported,
    decide: async () => ({ decision: 'accepted', approvalId: name }),
  });
  const one = { count: 1 as const, approvers: ['x'], link: false };
  const two = { count: 2 as const, approvers: ['x'], link: false };
  const chosen = async (approver: Approver, policy: typeof one | typeof two) =>
    approver.supports(policy) ? ((await approver.decide({ policy } as ApprovalRequest)) as { approvalId: string }).approvalId : 'refused';
  const link = channel('link', (policy) => policy.link);

  it.each([
    ['form and page: the form for one approver, the page for two', { form: true, page: true }, ['form', 'page', 'form']],
    ['form only: two approvers need the page or a link', { form: true, page: false }, ['form', 'refused', 'form']],
    ['page only', { form: false, page: true }, ['page', 'page', 'page']],
    ['neither: only where the manifest allows a link', { form: false, page: false }, ['refused', 'refused', 'link']],
  ])('%s', async (_name, has, want) => {
    const approver = routedApprover({ form: channel('form', has.form), page: has.page ? channel('page', true) : null, link, resumedOnPage: false });
    expect([await chosen(approver, one), await chosen(approver, two), await chosen(approver, { ...one, link: true })]).toEqual(want);
  });

  it('two approvers with a link allowed and no page channel: the link', async () => {
    const approver = routedApprover({ form: channel('form', true), page: null, link, resumedOnPage: false });
    expect(await chosen(approver, { ...two, link: true })).toBe('link');
  });

  it('a form too long to show in full goes to the page, or the link; with neither it is refused', async () => {
    const tooLong: Approver = {
      supports: () => true,
      decide: async () => {
        throw new PromptTooLong(9_000, 'body');
      },
    };
    expect(await chosen(routedApprover({ form: tooLong, page: channel('page', true), link, resumedOnPage: false }), one)).toBe('page');
    expect(await chosen(routedApprover({ form: tooLong, page: null, link, resumedOnPage: false }), { ...one, link: true })).toBe('link');
    await expect(chosen(routedApprover({ form: tooLong, page: null, link, resumedOnPage: false }), one)).rejects.toBeInstanceOf(PromptTooLong);
  });

  it('a call resumed from the page stays with the page', async () => {
    const approver = routedApprover({ form: channel('form', true), page: channel('page', true), link, resumedOnPage: true });
    expect(await chosen(approver, one)).toBe('page');
  });
});

describe('approvalPolicyOf: who approves, and how many', () => {
  const tool = (risk: 'write' | 'destructive', approval: Record<string, unknown> = {}) => ({ risk, callerScopes: ['drafts:publish'], approval: { message: 'Do it?', ...approval } }) as Parameters<typeof approvalPolicyOf>[0];

  it('a destructive tool needs two people unless the manifest says otherwise; a write tool one', () => {
    expect(approvalPolicyOf(tool('destructive'))).toEqual({ count: 2, approvers: ['drafts:publish'], link: false });
    expect(approvalPolicyOf(tool('write'))).toEqual({ count: 1, approvers: ['drafts:publish'], link: false });
    expect(approvalPolicyOf(tool('write', { count: 2, approvers: ['editor-in-chief'], link: true }))).toEqual({ count: 2, approvers: ['editor-in-chief'], link: true });
  });

  it('an approver holds one of the approvers as a scope or as a role', () => {
    expect(mayApprove({ subject: 'a', scopes: ['drafts:publish'], roles: [] }, ['drafts:publish'])).toBe(true);
    expect(mayApprove({ subject: 'a', scopes: [], roles: ['editor-in-chief'] }, ['editor-in-chief'])).toBe(true);
    expect(mayApprove({ subject: 'a', scopes: ['drafts:read'], roles: ['writer'] }, ['drafts:publish', 'editor-in-chief'])).toBe(false);
  });
});
