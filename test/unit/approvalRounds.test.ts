import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createRequestStateSeal, randomStateKey } from '../../src/server/requestState.ts';
import { approvalIdempotencyKey, approvalRounds, argumentsDigest, InMemoryConsumedApprovals, type ApprovalClaim } from '../../src/tools/approvalRounds.ts';

const claim = (overrides: Partial<ApprovalClaim> = {}): ApprovalClaim => ({
  approvalId: 'a1',
  subject: 'dev',
  clientId: 'agent',
  tool: 'publishDraft',
  argsSha256: argumentsDigest({ filename: 'x.md' }),
  expiresAt: Date.now() + 60_000,
  ...overrides,
});

describe('request-state seal', () => {
  it('opens what it sealed', async () => {
    const seal = createRequestStateSeal([randomStateKey()], 60_000);
    const sealed = claim();
    expect(await seal.open(await seal.seal(sealed))).toEqual(sealed);
  });

  it('rotation: a state sealed by the previous key opens while that key is still listed, and not after', async () => {
    const [oldKey, newKey] = [randomStateKey(), randomStateKey()];
    const before = createRequestStateSeal([oldKey], 60_000);
    const state = await before.seal(claim());
    expect(await createRequestStateSeal([newKey, oldKey], 60_000).open(state)).toMatchObject({ approvalId: 'a1' });
    await expect(createRequestStateSeal([newKey], 60_000).open(state)).rejects.toThrow('mac');
  });

  it('refuses a changed payload and garbage', async () => {
    const seal = createRequestStateSeal([randomStateKey()], 60_000);
    const [v, body, mac] = (await seal.seal(claim())).split('.');
    const changed = Buffer.from(Buffer.from(body!, 'base64url').toString().replace('"dev"', '"eve"')).toString('base64url');
    await expect(seal.open([v, changed, mac].join('.'))).rejects.toThrow();
    await expect(seal.open('garbage')).rejects.toThrow();
  });

  describe('tells its listener why it refused a state', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('expired, once the TTL has passed', async () => {
      const reasons: string[] = [];
      const seal = createRequestStateSeal([randomStateKey()], 30_000, (reason) => reasons.push(reason));
      const state = await seal.seal(claim());
      expect(await seal.open(state)).toMatchObject({ approvalId: 'a1' });
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
      await expect(seal.open(state)).rejects.toThrow('expired');
      expect(reasons).toEqual(['expired']);
    });

    it('invalid, for another key or garbage, after every key was tried', async () => {
      const reasons: string[] = [];
      const state = await createRequestStateSeal([randomStateKey()], 60_000).seal(claim());
      const seal = createRequestStateSeal([randomStateKey(), randomStateKey()], 60_000, (reason) => reasons.push(reason));
      await expect(seal.open(state)).rejects.toThrow('mac');
      await expect(seal.open('garbage')).rejects.toThrow();
      expect(reasons).toEqual(['invalid', 'invalid']);
    });
  });

  it('needs keys of 256 bits', () => {
    expect(() => createRequestStateSeal(['short'], 60_000)).toThrow();
    expect(() => createRequestStateSeal([], 60_000)).toThrow();
  });
});

describe('consumed approvals', () => {
  it('an id is consumed once until it expires', async () => {
    let now = 1_000;
    const consumed = new InMemoryConsumedApprovals(() => now);
    expect(await consumed.consume('a', 2_000)).toBe(true);
    expect(await consumed.consume('a', 2_000)).toBe(false);
    expect(await consumed.consume('b', 2_000)).toBe(true);
    now = 2_001;
    expect(await consumed.consume('a', 3_000)).toBe(true);
  });
});

describe('approvalRounds', () => {
  const caller = { subject: 'dev', clientId: 'agent', scopes: [], tenant: null, expiresAt: 0 };
  const form = async () => ({ mode: 'form' as const, message: 'ok?', requestedSchema: { type: 'object' as const, properties: {} } });
  const request = {
    tool: 'publishDraft',
    args: { filename: 'x.md' },
    form,
    page: () => Promise.reject(new Error('the form approver never opens the page')),
    policy: { count: 1 as const, approvers: ['drafts:publish'], link: false },
    correlationId: 'c1',
    signal: new AbortController().signal,
  };
  const rounds = (resumed: ApprovalClaim | undefined, responses?: Record<string, unknown>, consumed = new InMemoryConsumedApprovals()) =>
    approvalRounds({ caller, supported: true, resumed, responses, seal: async (c) => `sealed:${c.approvalId}`, consumed, ttlMs: 60_000 });

  it('a first call asks, with the state naming a fresh approval id', async () => {
    const outcome = await rounds(undefined).decide(request);
    expect(outcome).toMatchObject({ ask: { resultType: 'input_required', requestState: expect.stringMatching(/^sealed:/) } });
    const other = await rounds(undefined).decide(request);
    expect((other as { approvalId: string }).approvalId).not.toBe((outcome as { approvalId: string }).approvalId);
  });

  it('accept of a fitting claim → accepted with its id; decline and cancel pass through', async () => {
    const accept = { approval: { action: 'accept', content: { confirm: true } } };
    expect(await rounds(claim(), accept).decide(request)).toEqual({ decision: 'accepted', approvalId: 'a1' });
    expect(await rounds(claim(), { approval: { action: 'decline' } }).decide(request)).toEqual({ decision: 'declined' });
    expect(await rounds(claim(), { approval: { action: 'cancel' } }).decide(request)).toEqual({ decision: 'cancelled' });
  });

  it.each([
    ['another subject', { subject: 'eve' }],
    ['another client', { clientId: 'other-agent' }],
    ['another tool', { tool: 'addTicketNote' }],
    ['other arguments', { argsSha256: argumentsDigest({ filename: 'y.md' }) }],
    ['another tenant (D41)', { tenant: 'globex' }],
  ])('%s → mismatch', async (_name, change) => {
    const outcome = await rounds(claim(change), { approval: { action: 'accept', content: { confirm: true } } }).decide(request);
    expect(outcome).toEqual({ decision: 'mismatch' });
  });

  it('the same approval accepted twice → replayed', async () => {
    const consumed = new InMemoryConsumedApprovals();
    const accept = { approval: { action: 'accept', content: { confirm: true } } };
    expect(await rounds(claim(), accept, consumed).decide(request)).toMatchObject({ decision: 'accepted' });
    expect(await rounds(claim(), accept, consumed).decide(request)).toEqual({ decision: 'replayed' });
  });
});

describe('approvalIdempotencyKey', () => {
  it('is stable per approval, differs between approvals, and fits the backend’s key pattern', () => {
    expect(approvalIdempotencyKey('a1')).toBe(approvalIdempotencyKey('a1'));
    expect(approvalIdempotencyKey('a1')).not.toBe(approvalIdempotencyKey('a2'));
    expect(approvalIdempotencyKey('a1')).toMatch(/^[A-Za-z0-9_.:-]{8,128}$/);
  });
});

describe('configuration', () => {
  const base = { DEPUTY_AUTH_ISSUER: 'http://127.0.0.1:4010', DEPUTY_BACKEND_URL: 'http://127.0.0.1:4010', DEPUTY_OAUTH_CLIENT_ID: 'd', DEPUTY_OAUTH_CLIENT_SECRET: 's' };
  const key = (c: string) => c.repeat(32);

  it('DEPUTY_STATE_KEYS: a comma list of keys of at least 32 characters; unset → null (a random key per process)', () => {
    expect(loadConfig(base).approvals).toEqual({ stateKeys: null, ttlMs: 600_000, clientId: null, clientSecret: null });
    expect(loadConfig({ ...base, DEPUTY_STATE_KEYS: `${key('a')}, ${key('b')}` }).approvals.stateKeys).toEqual([key('a'), key('b')]);
    expect(() => loadConfig({ ...base, DEPUTY_STATE_KEYS: `${key('a')},short` })).toThrow(/DEPUTY_STATE_KEYS.*32 characters/s);
  });

  it('DEPUTY_APPROVAL_CLIENT_ID / _SECRET: the approval page\'s OAuth client; unset → its metadata document URL', () => {
    expect(loadConfig({ ...base, DEPUTY_APPROVAL_CLIENT_ID: 'deputy-page', DEPUTY_APPROVAL_CLIENT_SECRET: 'page-secret' }).approvals).toMatchObject({ clientId: 'deputy-page', clientSecret: 'page-secret' });
    expect(() => loadConfig({ ...base, DEPUTY_APPROVAL_CLIENT_ID: '' })).toThrow(/DEPUTY_APPROVAL_CLIENT_ID/);
  });

  it('DEPUTY_APPROVAL_TTL_SECONDS: minutes, bounded', () => {
    expect(loadConfig({ ...base, DEPUTY_APPROVAL_TTL_SECONDS: '120' }).approvals.ttlMs).toBe(120_000);
    expect(() => loadConfig({ ...base, DEPUTY_APPROVAL_TTL_SECONDS: '5' })).toThrow(/DEPUTY_APPROVAL_TTL_SECONDS/);
  });
});
