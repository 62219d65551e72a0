/**
 * Every operation of the contract over real HTTP: a handler exists for each (no 501), each
 * enforces exactly the scopes of its `security`, each happy path answers what the spec documents,
 * and the business rules (pagination, filters, 404/409/422) hold. Every response is checked
 * against the spec.
 */
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { expectConforms, useMockBackend, type ApiResponse } from '../helpers/mockBackend.ts';

const mock = useMockBackend();

interface Sample {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  status: number;
}

/** One valid request per operation; the method and path come from the spec. */
const SAMPLES: Record<string, Sample> = {
  listDrafts: { query: 'status=in_review&limit=5', status: 200 },
  getDraft: { params: { filename: FIXTURES.draftInReview }, status: 200 },
  deleteDraft: { params: { filename: 'markdown-tips-for-editors.md' }, status: 204 },
  publishDraft: { params: { filename: FIXTURES.draftInReview }, body: { notifySubscribers: true }, status: 200 },
  listPosts: { status: 200 },
  unpublishPost: { params: { postId: FIXTURES.livePost }, body: { reason: 'Contains an outdated price' }, status: 200 },
  searchCustomers: { query: 'q=northwind', status: 200 },
  getCustomer: { params: { customerId: FIXTURES.activeCustomer }, status: 200 },
  deleteCustomer: { params: { customerId: FIXTURES.cancelledCustomer }, status: 204 },
  updateCustomerPlan: { params: { customerId: FIXTURES.activeCustomer }, body: { plan: 'enterprise', seats: 150 }, status: 200 },
  listCustomerTickets: { params: { customerId: FIXTURES.activeCustomer }, status: 200 },
  addTicketNote: { params: { ticketId: FIXTURES.openTicket }, body: { body: 'Called the customer; fix deployed.' }, status: 201 },
  validateTicketNote: { params: { ticketId: FIXTURES.openTicket }, body: { body: 'Called the customer; fix deployed.' }, status: 200 },
  runSqlReport: { body: { sql: 'SELECT plan, COUNT(*) FROM customers GROUP BY plan' }, status: 200 },
  impersonateUser: { body: { customerId: FIXTURES.activeCustomer, userEmail: 'jonas.weber@northwind-traders.example', reason: 'Reproduce the scheduled post bug' }, status: 201 },
  rotateApiKeys: { body: { customerId: FIXTURES.activeCustomer }, status: 200 },
};

function pathOf(template: string, params: Record<string, string> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`sample has no value for path parameter ${name}`);
    return encodeURIComponent(value);
  });
}

const allScopes = (): string[] => {
  const schemes = (mock.backend.spec.document['components'] as { securitySchemes: Record<string, { flows: Record<string, { scopes: Record<string, string> }> }> }).securitySchemes;
  return [...new Set(Object.values(schemes).flatMap((s) => Object.values(s.flows).flatMap((f) => Object.keys(f.scopes))))];
};

async function callSample(operationId: string, token: string): Promise<ApiResponse> {
  const op = mock.backend.spec.getOperation(operationId);
  const sample = SAMPLES[operationId];
  if (!sample) throw new Error(`add a sample request for ${operationId} to SAMPLES`);
  const path = pathOf(op.path, sample.params) + (sample.query ? `?${sample.query}` : '');
  return mock.call(op.method, path, { token, ...(sample.body !== undefined ? { body: sample.body } : {}) });
}

describe('every operation in the spec', () => {
  it('has a sample here, and no sample names an unknown operation', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(mock.backend.spec.operations.map((o) => o.operationId).sort());
  });

  it('has a handler: its happy path answers the documented status with a valid body, never 501', async () => {
    for (const op of mock.backend.spec.operations) {
      mock.backend.reset();
      const res = await callSample(op.operationId, await mock.token(op.requiredScopes!));
      expect(res.status, `${op.operationId}: ${res.text}`).toBe(SAMPLES[op.operationId]!.status);
      expectConforms(mock.backend.spec, op.operationId, res);
      expect(mock.backend.requestLog.entries().at(-1)).toMatchObject({ operationId: op.operationId, status: res.status });
    }
  });

  it("enforces exactly the scopes of its security requirement: all other scopes together get 403 naming the missing ones", async () => {
    const scopes = allScopes();
    for (const op of mock.backend.spec.operations) {
      const required = op.requiredScopes!;
      const others = scopes.filter((s) => !required.includes(s));
      const res = await callSample(op.operationId, await mock.token(others));
      expect(res.status, op.operationId).toBe(403);
      expect(res.body.missingScopes).toEqual(required);
      expect(res.headers['www-authenticate']).toBe(
        `Bearer realm="acme-press-admin", error="insufficient_scope", error_description="missing scope ${required.join(' ')}", scope="${required.join(' ')}"`,
      );
      expectConforms(mock.backend.spec, op.operationId, res);
    }
    // Nothing was done on the way.
    expect(mock.backend.store.events.publications).toEqual([]);
    expect(mock.backend.store.drafts.has('markdown-tips-for-editors.md')).toBe(true);
  });
});

describe('drafts', () => {
  it('listDrafts pages through every draft, most recently updated first, with stable cursors', async () => {
    const token = await mock.token('drafts:read');
    const seen: { filename: string; updatedAt: string }[] = [];
    let cursor: string | null = null;
    do {
      const res = await mock.call('GET', `/drafts?limit=7${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expectConforms(mock.backend.spec, 'listDrafts', res);
      expect(res.body.items.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(mock.backend.store.drafts.size);
    expect(seen.length).toBeGreaterThanOrEqual(20);
    expect(new Set(seen.map((d) => d.filename)).size).toBe(seen.length);
    const times = seen.map((d) => d.updatedAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('listDrafts filters by status and author', async () => {
    const token = await mock.token('drafts:read');
    const res = await mock.call('GET', '/drafts?status=in_review&author=mchen&limit=100', { token });
    expectConforms(mock.backend.spec, 'listDrafts', res);
    const expected = [...mock.backend.store.drafts.values()].filter((d) => d.status === 'in_review' && d.author === 'mchen').map((d) => d.filename);
    expect(res.body.items.map((d: { filename: string }) => d.filename).sort()).toEqual(expected.sort());
    expect(expected).toContain(FIXTURES.draftInReview);
  });

  it('listDrafts refuses a cursor it did not issue', async () => {
    const res = await mock.call('GET', '/drafts?cursor=not-a-cursor', { token: await mock.token('drafts:read') });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'query.cursor', message: expect.any(String) }]);
    expectConforms(mock.backend.spec, 'listDrafts', res);
  });

  it('getDraft returns the fixture draft and 404s an unknown one', async () => {
    const token = await mock.token('drafts:read');
    const res = await mock.call('GET', `/drafts/${FIXTURES.draftInReview}`, { token });
    expect(res.body).toMatchObject({ filename: 'q3-pricing-update.md', title: 'Q3 pricing update', status: 'in_review', publishedPostId: null });
    const missing = await mock.call('GET', '/drafts/no-such-draft.md', { token });
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toContain('no-such-draft.md');
    expectConforms(mock.backend.spec, 'getDraft', missing);
  });

  it('publishDraft with `Prefer: dry-run` checks everything, answers the post it would create and changes nothing', async () => {
    const token = await mock.token('drafts:publish');
    const posts = mock.backend.store.posts.size;
    const headers = { prefer: 'dry-run', 'idempotency-key': 'dry-run-key-0001' };
    const res = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token, headers });
    expect(res.status).toBe(200);
    expect(res.headers['preference-applied']).toBe('dry-run');
    expect(res.body).toMatchObject({ status: 'live', slug: 'q3-pricing-update' });
    expect(mock.backend.store.drafts.get(FIXTURES.draftInReview)!.status).not.toBe('published');
    expect(mock.backend.store.posts.size).toBe(posts);
    expect(mock.backend.store.events.publications).toEqual([]);
    // The rehearsal was not stored under its key: the real request with that key publishes.
    const real = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token, headers: { 'idempotency-key': 'dry-run-key-0001' } });
    expect(real.status).toBe(200);
    expect(real.headers['preference-applied']).toBeUndefined();
    expect(mock.backend.store.drafts.get(FIXTURES.draftInReview)!.status).toBe('published');
    const gone = await mock.call('POST', '/drafts/no-such-draft.md/publish', { token, headers: { prefer: 'dry-run' } });
    expect(gone.status).toBe(404);
  });

  it('publishDraft creates a live post, and a second publish is a 409', async () => {
    const token = await mock.token('drafts:publish');
    const res = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'live', sourceDraft: FIXTURES.draftInReview, slug: 'q3-pricing-update', title: 'Q3 pricing update' });
    expect(mock.backend.store.drafts.get(FIXTURES.draftInReview)).toMatchObject({ status: 'published', publishedPostId: res.body.id });
    const posts = await mock.call('GET', '/posts?limit=100', { token: await mock.token('posts:read') });
    expect(posts.body.items[0].id).toBe(res.body.id);

    const again = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token });
    expect(again.status).toBe(409);
    expectConforms(mock.backend.spec, 'publishDraft', again);
    expect(mock.backend.store.events.publications).toHaveLength(1);

    expect((await mock.call('POST', '/drafts/no-such-draft.md/publish', { token })).status).toBe(404);
  });

  it('deleteDraft refuses a published draft (409) and deletes an unpublished one', async () => {
    const token = await mock.token('drafts:delete');
    const published = await mock.call('DELETE', `/drafts/${FIXTURES.draftPublished}`, { token });
    expect(published.status).toBe(409);
    expect(published.body.detail).toContain('unpublish');
    expectConforms(mock.backend.spec, 'deleteDraft', published);
    expect(mock.backend.store.drafts.has(FIXTURES.draftPublished)).toBe(true);

    expect((await mock.call('DELETE', `/drafts/${FIXTURES.draftUnpublished}`, { token })).status).toBe(204);
    expect(mock.backend.store.drafts.has(FIXTURES.draftUnpublished)).toBe(false);
    expect((await mock.call('DELETE', `/drafts/${FIXTURES.draftUnpublished}`, { token })).status).toBe(404);
  });
});

describe('posts', () => {
  it('listPosts lists only live posts, newest first, filtered by author', async () => {
    const token = await mock.token('posts:read');
    const res = await mock.call('GET', '/posts?limit=100', { token });
    expectConforms(mock.backend.spec, 'listPosts', res);
    const live = [...mock.backend.store.posts.values()].filter((p) => p.status === 'live');
    expect(res.body.items.map((p: { id: string }) => p.id).sort()).toEqual(live.map((p) => p.id).sort());
    expect(res.body.items.map((p: { id: string }) => p.id)).not.toContain(FIXTURES.unpublishedPost);
    const byAuthor = await mock.call('GET', '/posts?author=jkowalski', { token });
    expect(byAuthor.body.items.length).toBeGreaterThan(0);
    expect(byAuthor.body.items.every((p: { author: string }) => p.author === 'jkowalski')).toBe(true);
  });

  it('unpublishPost takes a post down once, returns its draft to draft, and 409s the second time', async () => {
    const token = await mock.token('posts:write');
    const body = { reason: 'Pricing changed' };
    const res = await mock.call('POST', `/posts/${FIXTURES.livePost}/unpublish`, { token, body });
    expect(res.body).toMatchObject({ id: FIXTURES.livePost, status: 'unpublished' });
    expect(mock.backend.store.drafts.get(FIXTURES.draftPublished)).toMatchObject({ status: 'draft', publishedPostId: null });
    const again = await mock.call('POST', `/posts/${FIXTURES.livePost}/unpublish`, { token, body });
    expect(again.status).toBe(409);
    expectConforms(mock.backend.spec, 'unpublishPost', again);
    expect((await mock.call('POST', `/posts/${FIXTURES.unpublishedPost}/unpublish`, { token, body })).status).toBe(409);
    expect((await mock.call('POST', '/posts/post_0000000000/unpublish', { token, body })).status).toBe(404);
  });
});

describe('customers', () => {
  it('searchCustomers matches name or id case-insensitively and filters by status and plan', async () => {
    const token = await mock.token('customers:read');
    const byName = await mock.call('GET', '/customers?q=NORTHWIND', { token });
    expectConforms(mock.backend.spec, 'searchCustomers', byName);
    expect(byName.body.items).toEqual([{ id: FIXTURES.activeCustomer, name: 'Northwind Traders GmbH', status: 'active', plan: 'pro', seats: 25, renewalDate: '2025-09-01' }]);
    const byId = await mock.call('GET', '/customers?q=pebbletwig', { token });
    expect(byId.body.items.map((c: { id: string }) => c.id)).toEqual([FIXTURES.cancelledCustomer]);

    const filtered = await mock.call('GET', '/customers?status=active&plan=pro&limit=100', { token });
    const expected = [...mock.backend.store.customers.values()].filter((c) => c.status === 'active' && c.plan === 'pro');
    expect(filtered.body.items.map((c: { id: string }) => c.id).sort()).toEqual(expected.map((c) => c.id).sort());
    expect(filtered.body.items.length).toBeGreaterThan(1);
  });

  it('searchCustomers pages through at least 50 customers', async () => {
    const token = await mock.token('customers:read');
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await mock.call('GET', `/customers?limit=20${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expectConforms(mock.backend.spec, 'searchCustomers', res);
      ids.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(ids.length).toBe(mock.backend.store.customers.size);
    expect(new Set(ids).size).toBeGreaterThanOrEqual(50);
  });

  it('getCustomer returns the full record with PII and 404s an unknown id', async () => {
    const token = await mock.token('customers:read');
    const res = await mock.call('GET', `/customers/${FIXTURES.activeCustomer}`, { token });
    expect(res.body).toMatchObject({
      contact: { name: 'Greta Lindqvist', email: 'greta.lindqvist@northwind-traders.example' },
      billingAddress: { city: 'Berlin', country: 'DE' },
      paymentMethod: { type: 'card', brand: 'visa', last4: '4242' },
      riskFlags: ['vip'],
    });
    const missing = await mock.call('GET', '/customers/cus_000000000000', { token });
    expect(missing.status).toBe(404);
    expectConforms(mock.backend.spec, 'getCustomer', missing);
  });

  it('updateCustomerPlan enforces seats per plan (422) and refuses cancelled accounts (409)', async () => {
    const token = await mock.token('customers:write');
    const path = `/customers/${FIXTURES.activeCustomer}/plan`;
    for (const body of [{ plan: 'starter', seats: 11 }, { plan: 'free', seats: 2 }, { plan: 'pro', seats: 101 }]) {
      const res = await mock.call('PUT', path, { token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expectConforms(mock.backend.spec, 'updateCustomerPlan', res);
    }
    expect(mock.backend.store.customers.get(FIXTURES.activeCustomer)).toMatchObject({ plan: 'pro', seats: 25 });

    const ok = await mock.call('PUT', path, { token, body: { plan: 'starter', seats: 10 } });
    expect(ok.body).toMatchObject({ id: FIXTURES.activeCustomer, plan: 'starter', seats: 10 });
    const free = await mock.call('PUT', path, { token, body: { plan: 'free', seats: 1 } });
    expect(free.body).toMatchObject({ plan: 'free', seats: 1, renewalDate: null });

    const cancelled = await mock.call('PUT', `/customers/${FIXTURES.cancelledCustomer}/plan`, { token, body: { plan: 'pro', seats: 5 } });
    expect(cancelled.status).toBe(409);
    expect((await mock.call('PUT', '/customers/cus_000000000000/plan', { token, body: { plan: 'pro', seats: 5 } })).status).toBe(404);
  });

  it('deleteCustomer refuses an active paid plan (409) and deletes a cancelled account with its tickets', async () => {
    const token = await mock.token('customers:delete');
    const refused = await mock.call('DELETE', `/customers/${FIXTURES.activeCustomer}`, { token });
    expect(refused.status).toBe(409);
    expectConforms(mock.backend.spec, 'deleteCustomer', refused);
    expect(mock.backend.store.customers.has(FIXTURES.activeCustomer)).toBe(true);

    const ticketsBefore = [...mock.backend.store.tickets.values()].filter((t) => t.customerId === FIXTURES.cancelledCustomer).length;
    expect(ticketsBefore).toBeGreaterThanOrEqual(1);
    expect((await mock.call('DELETE', `/customers/${FIXTURES.cancelledCustomer}`, { token })).status).toBe(204);
    expect(mock.backend.store.customers.has(FIXTURES.cancelledCustomer)).toBe(false);
    expect([...mock.backend.store.tickets.values()].some((t) => t.customerId === FIXTURES.cancelledCustomer)).toBe(false);
    expect((await mock.call('DELETE', `/customers/${FIXTURES.cancelledCustomer}`, { token })).status).toBe(404);
  });
});

describe('tickets', () => {
  it("listCustomerTickets lists a customer's tickets newest first, filters by status, 404s an unknown customer", async () => {
    const token = await mock.token('tickets:read');
    const res = await mock.call('GET', `/customers/${FIXTURES.activeCustomer}/tickets`, { token });
    expectConforms(mock.backend.spec, 'listCustomerTickets', res);
    const ids = res.body.items.map((t: { id: string }) => t.id);
    expect(ids).toEqual(expect.arrayContaining([FIXTURES.openTicket, FIXTURES.closedTicket]));
    const times = res.body.items.map((t: { updatedAt: string }) => t.updatedAt);
    expect(times).toEqual([...times].sort().reverse());
    const closed = await mock.call('GET', `/customers/${FIXTURES.activeCustomer}/tickets?status=closed`, { token });
    expect(closed.body.items.map((t: { id: string }) => t.id)).toEqual([FIXTURES.closedTicket]);
    const missing = await mock.call('GET', '/customers/cus_000000000000/tickets', { token });
    expect(missing.status).toBe(404);
    expectConforms(mock.backend.spec, 'listCustomerTickets', missing);
  });

  it('addTicketNote adds a note by the token subject and refuses a closed ticket (409)', async () => {
    const token = await mock.token('tickets:write');
    const res = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token, body: { body: 'Escalated.', visibility: 'public' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ticketId: FIXTURES.openTicket, author: 'deputy', body: 'Escalated.', visibility: 'public' });
    expect(mock.backend.store.notes.get(FIXTURES.openTicket)?.at(-1)).toEqual(res.body);
    const defaulted = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token, body: { body: 'Internal only.' } });
    expect(defaulted.body.visibility).toBe('internal');

    const closed = await mock.call('POST', `/tickets/${FIXTURES.closedTicket}/notes`, { token, body: { body: 'Too late.' } });
    expect(closed.status).toBe(409);
    expectConforms(mock.backend.spec, 'addTicketNote', closed);
    expect((await mock.call('POST', '/tickets/tkt_999999/notes', { token, body: { body: 'x' } })).status).toBe(404);
  });

  it('validateTicketNote runs the checks of addTicketNote and adds nothing', async () => {
    const token = await mock.token('tickets:write');
    const before = mock.backend.store.notes.get(FIXTURES.openTicket)?.length ?? 0;
    const res = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes/validate`, { token, body: { body: 'Escalated.', visibility: 'public' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ticketId: FIXTURES.openTicket, ticketStatus: 'open', visibility: 'public', emailsCustomer: true });
    expect(mock.backend.store.notes.get(FIXTURES.openTicket)?.length ?? 0).toBe(before);
    const closed = await mock.call('POST', `/tickets/${FIXTURES.closedTicket}/notes/validate`, { token, body: { body: 'Too late.' } });
    expect(closed.status).toBe(409);
    expectConforms(mock.backend.spec, 'validateTicketNote', closed);
    expect((await mock.call('POST', '/tickets/tkt_999999/notes/validate', { token, body: { body: 'x' } })).status).toBe(404);
  });
});

describe('admin', () => {
  it('runSqlReport answers counts computed from the store and refuses what it does not understand', async () => {
    const token = await mock.token('admin:sql');
    const grouped = await mock.call('POST', '/admin/sql-reports', { token, body: { sql: 'select plan, count(*) as n from customers group by plan;' } });
    expectConforms(mock.backend.spec, 'runSqlReport', grouped);
    const counts = new Map<string, number>();
    for (const c of mock.backend.store.customers.values()) counts.set(c.plan, (counts.get(c.plan) ?? 0) + 1);
    expect(grouped.body.columns).toEqual(['plan', 'n']);
    expect(Object.fromEntries(grouped.body.rows)).toEqual(Object.fromEntries(counts));

    const where = await mock.call('POST', '/admin/sql-reports', { token, body: { sql: "SELECT COUNT(*) FROM drafts WHERE status = 'published'" } });
    expect(where.body.rows).toEqual([[[...mock.backend.store.drafts.values()].filter((d) => d.status === 'published').length]]);

    const limited = await mock.call('POST', '/admin/sql-reports', { token, body: { sql: 'SELECT status, COUNT(*) FROM tickets GROUP BY status', maxRows: 2 } });
    expect(limited.body.rows).toHaveLength(2);

    for (const sql of ['DELETE FROM customers', 'SELECT * FROM customers', 'SELECT COUNT(*) FROM invoices', 'SELECT 1; DROP TABLE drafts']) {
      const res = await mock.call('POST', '/admin/sql-reports', { token, body: { sql } });
      expect(res.status, sql).toBe(422);
      expectConforms(mock.backend.spec, 'runSqlReport', res);
    }
  });

  it('impersonateUser starts a 15-minute session for a user of the customer, refusing others', async () => {
    const token = await mock.token('admin:impersonate');
    const before = Date.now();
    const body = { customerId: FIXTURES.activeCustomer, userEmail: 'greta.lindqvist@northwind-traders.example', reason: 'Reproduce ticket tkt_100001' };
    const res = await mock.call('POST', '/admin/impersonations', { token, body });
    expect(res.status).toBe(201);
    const expires = Date.parse(res.body.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 15 * 60_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 1000);
    expect(mock.backend.store.events.impersonations).toMatchObject([{ id: res.body.id, reason: body.reason, by: 'deputy' }]);

    const stranger = await mock.call('POST', '/admin/impersonations', { token, body: { ...body, userEmail: 'someone@elsewhere.example' } });
    expect(stranger.status).toBe(404);
    expectConforms(mock.backend.spec, 'impersonateUser', stranger);
    const cancelled = await mock.call('POST', '/admin/impersonations', { token, body: { ...body, customerId: FIXTURES.cancelledCustomer, userEmail: 'tomas@pebble-and-twig.example' } });
    expect(cancelled.status).toBe(422);
  });

  it('rotateApiKeys replaces the keys (or adds to them) and reports how many were revoked', async () => {
    const token = await mock.token('admin:keys');
    const oldIds = mock.backend.store.customers.get(FIXTURES.activeCustomer)!.apiKeys.map((k) => k.id);
    expect(oldIds).toHaveLength(2);
    const res = await mock.call('POST', '/admin/api-keys/rotate', { token, body: { customerId: FIXTURES.activeCustomer } });
    expect(res.body.revoked).toBe(2);
    expect(res.body.keys).toHaveLength(2);
    expect(res.body.keys.map((k: { id: string }) => k.id).some((id: string) => oldIds.includes(id))).toBe(false);

    const kept = await mock.call('POST', '/admin/api-keys/rotate', { token, body: { customerId: FIXTURES.activeCustomer, revokeExisting: false } });
    expect(kept.body.revoked).toBe(0);
    expect(kept.body.keys).toHaveLength(4);
    expectConforms(mock.backend.spec, 'rotateApiKeys', kept);
    expect((await mock.call('POST', '/admin/api-keys/rotate', { token, body: { customerId: 'cus_000000000000' } })).status).toBe(404);
  });
});
