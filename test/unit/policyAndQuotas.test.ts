import { describe, expect, it, vi } from 'vitest';
import { mayUse, missingScopes, visibleTools } from '../../src/tools/policy.ts';
import type { ToolDefinition } from '../../src/generated/tools.ts';
import { memoryLimiters, type LimiterFactory } from '../../src/state/limiters.ts';
import { IN_FLIGHT_HOLD_SECONDS, quotaKeyOf, UserQuotas, type QuotaLimits } from '../../src/tools/userQuotas.ts';

const tools = [
  { name: 'listDrafts', callerScopes: ['drafts:read'] },
  { name: 'publishDraft', callerScopes: ['drafts:publish'] },
  { name: 'both', callerScopes: ['drafts:read', 'tickets:write'] },
];

describe('policy', () => {
  it('shows only the tools every needed scope allows', () => {
    expect(visibleTools(tools, { scopes: ['drafts:read'] }).map((t) => t.name)).toEqual(['listDrafts']);
    expect(visibleTools(tools, { scopes: ['drafts:read', 'tickets:write'] }).map((t) => t.name)).toEqual(['listDrafts', 'both']);
    expect(visibleTools(tools, { scopes: [] })).toEqual([]);
  });

  it('names what is missing', () => {
    expect(missingScopes(tools[2]!, { scopes: ['drafts:read'] })).toEqual(['tickets:write']);
    expect(mayUse(tools[1]!, { scopes: ['drafts:read'] })).toBe(false);
  });
});

describe('UserQuotas', () => {
  const limits: QuotaLimits = { windowSeconds: 10, calls: 100, readToolCalls: 100, writeToolCalls: 100, inFlight: 100, key: 'subject' };
  const alice = { subject: 'alice', clientId: 'agent-a', tenant: null };
  const bob = { subject: 'bob', clientId: 'agent-a', tenant: null };
  const read = { ...tools[0]!, risk: 'read' } as unknown as ToolDefinition;
  const write = { ...tools[1]!, risk: 'write' } as unknown as ToolDefinition;
  const quotas = (overrides: Partial<QuotaLimits>, defs: ToolDefinition[] = [read, write]) => new UserQuotas({ ...limits, ...overrides }, memoryLimiters, defs);

  it('limits calls in flight per user and frees a slot on release (once)', async () => {
    const q = quotas({ inFlight: 2 });
    const a = await q.start(alice, read);
    const b = await q.start(alice, write);
    expect(a.ok && b.ok).toBe(true);
    expect(await q.start(alice, read)).toMatchObject({ ok: false, quota: 'in_flight', limit: 2 });
    expect((await q.start(bob, read)).ok).toBe(true); // another user has slots of their own
    if (a.ok) {
      a.release();
      a.release();
    }
    expect((await q.start(alice, read)).ok).toBe(true);
    expect(await q.start(alice, read)).toMatchObject({ ok: false, quota: 'in_flight' });
  });

  it('a slot counted before the in-flight count restarted is not given back to the new count', async () => {
    vi.useFakeTimers();
    try {
      const q = quotas({ inFlight: 1 });
      const early = await q.start(alice, read);
      expect(early.ok).toBe(true);
      vi.advanceTimersByTime((IN_FLIGHT_HOLD_SECONDS + 1) * 1000); // the count restarts: a long call is still running
      const later = await q.start(alice, read);
      expect(later.ok).toBe(true);
      if (early.ok) early.release(); // must not free the slot `later` holds
      expect(await q.start(alice, read)).toMatchObject({ ok: false, quota: 'in_flight' });
      if (later.ok) later.release();
      expect((await q.start(alice, read)).ok).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('limits calls per window over all tools, and says when to retry', async () => {
    const q = quotas({ calls: 3, windowSeconds: 10 });
    for (const tool of [read, write, read]) {
      const started = await q.start(alice, tool);
      expect(started.ok).toBe(true);
      if (started.ok) started.release();
    }
    const refused = await q.start(alice, write);
    expect(refused).toMatchObject({ ok: false, quota: 'calls', limit: 3, windowSeconds: 10 });
    expect(refused.ok === false && refused.quota !== 'unavailable' && refused.retryAfterSeconds).toBeGreaterThanOrEqual(9);
    expect((await q.start(bob, read)).ok).toBe(true);
  });

  it('limits calls per tool: writes tighter than reads by default; the manifest quota wins', async () => {
    const q = quotas({ readToolCalls: 3, writeToolCalls: 1 }, [read, write, { ...read, name: 'searchAll', quota: { calls: 2, windowSeconds: 60 } }]);
    expect((await q.start(alice, write)).ok).toBe(true);
    expect(await q.start(alice, write)).toMatchObject({ ok: false, quota: 'tool_calls', limit: 1, windowSeconds: 10 });
    for (let i = 0; i < 3; i++) expect((await q.start(alice, read)).ok).toBe(true);
    expect(await q.start(alice, read)).toMatchObject({ ok: false, quota: 'tool_calls', limit: 3 });
    const searchAll = { ...read, name: 'searchAll' };
    expect((await q.start(alice, searchAll)).ok).toBe(true);
    expect((await q.start(alice, searchAll)).ok).toBe(true);
    expect(await q.start(alice, searchAll)).toMatchObject({ ok: false, quota: 'tool_calls', limit: 2, windowSeconds: 60 });
  });

  it('a refusal by one quota does not spend the others', async () => {
    const q = quotas({ calls: 2, writeToolCalls: 1, inFlight: 5 });
    expect((await q.start(alice, write)).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect(await q.start(alice, write)).toMatchObject({ ok: false, quota: 'tool_calls' });
    expect((await q.start(alice, read)).ok).toBe(true); // the refused writes took no overall call and no slot
  });

  it('counts per subject, or per subject and client when configured', async () => {
    const bySubject = quotas({ calls: 1 });
    expect((await bySubject.start(alice, read)).ok).toBe(true);
    expect((await bySubject.start({ ...alice, clientId: 'agent-b' }, read)).ok).toBe(false);
    const byClient = quotas({ calls: 1, key: 'subject,client' });
    expect((await byClient.start(alice, read)).ok).toBe(true);
    expect((await byClient.start({ ...alice, clientId: 'agent-b' }, read)).ok).toBe(true);
    expect(quotaKeyOf(alice, 'subject')).not.toContain('alice'); // stores see a hash, not the subject
  });

  it('counts the same subject in two tenants as two users (src/README.md D41)', async () => {
    const q = quotas({ calls: 1 });
    const inAcme = { ...alice, tenant: 'acme' };
    const inGlobex = { ...alice, tenant: 'globex' };
    expect((await q.start(inAcme, read)).ok).toBe(true);
    expect((await q.start(inAcme, read)).ok).toBe(false);
    expect((await q.start(inGlobex, read)).ok).toBe(true); // acme's alice used nothing of globex's
    expect((await q.start(alice, read)).ok).toBe(true); // nor of a tenant-less alice
    for (const by of ['subject', 'subject,client'] as const) {
      const keys = new Set([quotaKeyOf(inAcme, by), quotaKeyOf(inGlobex, by), quotaKeyOf(alice, by)]);
      expect(keys.size).toBe(3);
    }
  });

  it('a write fails closed when the store cannot answer; a read counts in memory instead', async () => {
    const broken: LimiterFactory = (options) => {
      const limiter = memoryLimiters(options);
      if (options.failClosed) limiter.consume = () => Promise.reject(new Error('ECONNREFUSED'));
      return limiter;
    };
    const q = new UserQuotas(limits, broken, [read, write]);
    expect(await q.start(alice, write)).toEqual({ ok: false, quota: 'unavailable' });
    expect((await q.start(alice, read)).ok).toBe(true);
  });
});
