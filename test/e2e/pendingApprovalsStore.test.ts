/**
 * The store of pending approvals (src/README.md, "Approval out of band" and "Shared state"), the
 * same contract in memory and on a real redis-server (Debian's, installed when missing, on a free
 * loopback port, stopped by PID): a decision applies once and within the two-person rule, each
 * transition has exactly one winner even when many race, and two replicas sharing Redis release
 * one approved write once. A Redis that does not answer refuses (SharedStateUnavailable).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryPendingApprovals, redisPendingApprovals, type PendingApproval, type PendingApprovals } from '../../src/state/pendingApprovals.ts';
import { SharedStateUnavailable } from '../../src/state/singleUse.ts';
import type { ApprovalRequest } from '../../src/tools/approval.ts';
import { createOutOfBandApprovals, type ApprovalEvent } from '../../src/tools/outOfBand.ts';
import type { Caller } from '../../src/tools/caller.ts';
import { freePort } from '../helpers/debianPackages.ts';
import { ensureRedis, startRedis, type RedisServer } from '../helpers/redis.ts';

let redis: RedisServer;
let client: Redis;
const clock = Date.now();
const now = () => clock;

beforeAll(async () => {
  redis = await startRedis({ binary: await ensureRedis(), port: await freePort() });
  client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
}, 120_000);
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

let serial = 0;
function record(overrides: Partial<PendingApproval> = {}): PendingApproval {
  serial += 1;
  return {
    id: `id${String(serial).padStart(20, '0')}`,
    subject: 'dev',
    clientId: 'agent',
    tool: 'addTicketNote',
    argsSha256: `sha-${serial}`,
    correlationId: `corr-${serial}`,
    required: 1,
    approvers: ['tickets:write'],
    view: { toolTitle: 'Add note', message: 'Add?', args: { body: 'x\u{E0041}' }, fixed: {}, bodyTemplate: null, lookup: null },
    createdAt: clock,
    expiresAt: clock + 60_000,
    approvals: [],
    rejection: null,
    status: 'pending',
    ...overrides,
  };
}
const ok = () => 'ok' as const;

describe.each([
  ['memory', () => new InMemoryPendingApprovals(now) as PendingApprovals],
  ['redis', () => redisPendingApprovals(client, () => {}, now)],
])('pending approvals in %s', (_name, makeStore) => {
  it('keeps the record whole and finds it by its binding', async () => {
    const store = makeStore();
    const r = record();
    await store.open(r);
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.forBinding(JSON.stringify([r.subject, r.clientId, r.tool, r.argsSha256]))).toEqual(r);
    expect(await store.get('nope')).toBeUndefined();
  });

  it('two people approve a two-person action at once: both count, it is approved', async () => {
    const store = makeStore();
    const r = record({ required: 2 });
    await store.open(r);
    const results = await Promise.all(['sam', 'olivia'].map((subject) => store.decide(r.id, { subject, approve: true }, ok)));
    expect(results.map((x) => x.kind)).toEqual(['applied', 'applied']);
    const final = await store.get(r.id);
    expect(final?.status).toBe('approved');
    expect(final?.approvals.map((a) => a.subject).sort()).toEqual(['olivia', 'sam']);
  });

  it('the rule sees the record as it is: the same person twice at once counts once', async () => {
    const store = makeStore();
    const r = record({ required: 2 });
    await store.open(r);
    const rule = (current: PendingApproval) => (current.approvals.some((a) => a.subject === 'sam') ? 'already_approved_by_you' : 'ok');
    const results = await Promise.all([1, 2, 3].map(() => store.decide(r.id, { subject: 'sam', approve: true }, rule)));
    expect(results.filter((x) => x.kind === 'applied')).toHaveLength(1);
    expect((await store.get(r.id))?.approvals).toHaveLength(1);
  });

  it('each transition has one winner among many', async () => {
    const store = makeStore();
    const r = record();
    await store.open(r);
    await store.decide(r.id, { subject: 'sam', approve: true }, ok);
    const wins = await Promise.all(Array.from({ length: 10 }, () => store.transition(r.id, 'approved', 'executed')));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await store.transition(r.id, 'pending', 'expired')).toBe(false);
    expect((await store.decide(r.id, { subject: 'olivia', approve: false }, ok)).kind).toBe('already_decided');
  });

  it('refuses a decision past the expiry', async () => {
    const store = makeStore();
    const r = record({ expiresAt: clock - 1 });
    await store.open(r);
    expect((await store.decide(r.id, { subject: 'sam', approve: true }, ok)).kind).toBe('expired');
    expect((await store.decide('nope', { subject: 'sam', approve: true }, ok)).kind).toBe('unknown');
  });
});

describe('pending approvals on Redis', () => {
  it('expire from Redis a while after the approval does', async () => {
    const r = record();
    await redisPendingApprovals(client, () => {}, now).open(r);
    const ttl = await client.pttl(`deputy:pending:${r.id}`);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(60_000 + 10 * 60_000);
  });

  it('two replicas: decided on one, released once however many retries race on both', async () => {
    const events: ApprovalEvent[] = [];
    const caller: Caller = { subject: 'dev', clientId: 'agent', scopes: ['drafts:publish'], tenant: null, expiresAt: 0 };
    const replica = () =>
      createOutOfBandApprovals({ store: redisPendingApprovals(client, () => {}, now), pageUrl: (id) => `https://deputy.example/approvals/${id}`, ttlMs: 60_000, record: (e) => events.push(e), now, schedule: () => {} });
    const [a, b] = [replica(), replica()];
    const request = (): ApprovalRequest => ({
      tool: 'publishDraft',
      args: { filename: `replicas-${serial++}.md` },
      form: async () => ({ mode: 'form', message: '', requestedSchema: { type: 'object', properties: {} } }),
      page: async () => ({ toolTitle: 'Publish draft', message: 'Publish?', args: {}, fixed: {}, bodyTemplate: null, lookup: null }),
      policy: { count: 1, approvers: ['drafts:publish'], link: true },
      correlationId: 'corr-replicas',
      signal: new AbortController().signal,
    });
    const req = request();
    const first = await a.approver({ mode: 'link', caller }).decide(req);
    expect(first).toMatchObject({ decision: 'pending' });
    const id = (first as { approvalId: string }).approvalId;
    expect((await b.decide(id, { subject: 'alice', scopes: ['drafts:publish'], roles: [] }, true)).ok).toBe(true);
    const retries = await Promise.all([a, b, a, b].map((r) => r.approver({ mode: 'link', caller }).decide(req)));
    expect(retries.filter((o) => 'decision' in o && o.decision === 'accepted')).toHaveLength(1);
    expect(events.filter((e) => e.approvalId === id && e.step === 'executed')).toHaveLength(1);
  });

  it('a Redis that does not answer refuses, and says so', async () => {
    let errors = 0;
    const gone = new Redis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const store = redisPendingApprovals(gone, () => (errors += 1), now);
    await expect(store.get('x')).rejects.toBeInstanceOf(SharedStateUnavailable);
    await expect(store.open(record())).rejects.toBeInstanceOf(SharedStateUnavailable);
    expect(errors).toBe(2);
    gone.disconnect();
  });
});
