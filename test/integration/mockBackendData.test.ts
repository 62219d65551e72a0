/**
 * The seed: deterministic (same records every run, no Math.random), big and realistic enough
 * (≥ 20 drafts, ≥ 50 customers with PII, tickets with notes for many customers), consistent
 * (published drafts have live posts), valid against the spec, and with the documented fixtures.
 */
import { describe, expect, it, vi } from 'vitest';
import { createSeed, FIXTURES, SEED_REFERENCE_DATE } from '../../mock-backend/seed.ts';
import { loadSpec } from '../../mock-backend/spec.ts';
import { MockStore } from '../../mock-backend/store.ts';

const spec = loadSpec();
const seed = createSeed();

describe('seed', () => {
  it('is deterministic and does not use Math.random', () => {
    const random = vi.spyOn(Math, 'random');
    try {
      expect(createSeed()).toEqual(seed);
      expect(random).not.toHaveBeenCalled();
    } finally {
      random.mockRestore();
    }
    expect(createSeed(1)).not.toEqual(seed);
  });

  it('has enough realistic records', () => {
    expect(seed.drafts.length).toBeGreaterThanOrEqual(20);
    expect(seed.customers.length).toBeGreaterThanOrEqual(50);
    expect(new Set(seed.tickets.map((t) => t.customerId)).size).toBeGreaterThanOrEqual(25);
    expect(seed.notes.length).toBeGreaterThan(seed.tickets.length / 2);
    expect(new Set(seed.drafts.map((d) => d.author)).size).toBeGreaterThanOrEqual(4);
    for (const status of ['draft', 'in_review', 'scheduled', 'published']) expect(seed.drafts.some((d) => d.status === status)).toBe(true);
    expect(seed.customers.some((c) => c.paymentMethod?.type === 'card')).toBe(true);
    expect(seed.customers.some((c) => c.paymentMethod?.type === 'sepa_debit')).toBe(true);
    expect(seed.customers.some((c) => c.riskFlags.length > 0)).toBe(true);
    expect(seed.customers.some((c) => c.apiKeys.length > 0)).toBe(true);
    expect(new Set(seed.customers.map((c) => c.id)).size).toBe(seed.customers.length);
    expect(new Set(seed.customers.map((c) => c.contact.email)).size).toBeGreaterThan(seed.customers.length * 0.9);
  });

  it('lies entirely before the reference date', () => {
    const times = [...seed.drafts.flatMap((d) => [d.createdAt, d.updatedAt]), ...seed.customers.map((c) => c.createdAt), ...seed.tickets.flatMap((t) => [t.createdAt, t.updatedAt])];
    expect(times.every((t) => Date.parse(t) <= SEED_REFERENCE_DATE.getTime())).toBe(true);
  });

  it('is consistent: published drafts have live posts, and nothing else does', () => {
    for (const draft of seed.drafts) {
      const live = seed.posts.filter((p) => p.sourceDraft === draft.filename && p.status === 'live');
      if (draft.status === 'published') {
        expect(live.map((p) => p.id), draft.filename).toEqual([draft.publishedPostId]);
      } else {
        expect(live, draft.filename).toEqual([]);
        expect(draft.publishedPostId).toBeNull();
      }
    }
    for (const ticket of seed.tickets) expect(seed.customers.some((c) => c.id === ticket.customerId)).toBe(true);
  });

  it('every record is valid against the spec', () => {
    const ok = (operationId: string, status: number, body: unknown) => expect(spec.validateResponse(operationId, { status, contentType: 'application/json', body }), operationId).toEqual({ ok: true });
    for (const d of seed.drafts) ok('getDraft', 200, d);
    for (const c of seed.customers) ok('getCustomer', 200, c);
    ok('listPosts', 200, { items: seed.posts, nextCursor: null });
    ok('listCustomerTickets', 200, { items: seed.tickets, nextCursor: null });
    for (const n of seed.notes) ok('addTicketNote', 201, n);
  });

  it('has the documented fixture records', () => {
    expect(seed.drafts.find((d) => d.filename === FIXTURES.draftInReview)).toMatchObject({ title: 'Q3 pricing update', status: 'in_review', author: 'mchen', publishedPostId: null });
    expect(seed.drafts.find((d) => d.filename === FIXTURES.draftPublished)).toMatchObject({ status: 'published', publishedPostId: FIXTURES.livePost });
    expect(seed.posts.find((p) => p.id === FIXTURES.unpublishedPost)).toMatchObject({ status: 'unpublished', sourceDraft: FIXTURES.draftUnpublished });
    expect(seed.customers.find((c) => c.id === FIXTURES.activeCustomer)).toMatchObject({
      name: 'Northwind Traders GmbH',
      status: 'active',
      plan: 'pro',
      seats: 25,
      contact: { name: 'Greta Lindqvist', email: 'greta.lindqvist@northwind-traders.example', phone: '+49 30 5550 1234' },
      paymentMethod: { type: 'card', brand: 'visa', last4: '4242' },
    });
    expect(seed.customers.find((c) => c.id === FIXTURES.cancelledCustomer)).toMatchObject({ name: 'Pebble & Twig Studio', status: 'cancelled', plan: 'free', paymentMethod: { type: 'sepa_debit' } });
    expect(seed.tickets.find((t) => t.id === FIXTURES.openTicket)).toMatchObject({ customerId: FIXTURES.activeCustomer, status: 'open' });
    expect(seed.tickets.find((t) => t.id === FIXTURES.closedTicket)).toMatchObject({ customerId: FIXTURES.activeCustomer, status: 'closed' });
  });
});

describe('store', () => {
  it('reset() restores the seed after changes, and new ids repeat', () => {
    const store = new MockStore();
    const firstId = store.newId('post_', 10);
    store.drafts.clear();
    store.deleteCustomer(FIXTURES.activeCustomer);
    store.customers.get(FIXTURES.cancelledCustomer)!.name = 'Changed';
    store.reset();
    expect([...store.drafts.values()]).toEqual(seed.drafts);
    expect(store.customers.get(FIXTURES.activeCustomer)).toEqual(seed.customers[0]);
    expect(store.customers.get(FIXTURES.cancelledCustomer)!.name).toBe('Pebble & Twig Studio');
    expect(store.tickets.get(FIXTURES.openTicket)).toBeDefined();
    expect(store.newId('post_', 10)).toBe(firstId);
  });

  it('two stores do not share records', () => {
    const a = new MockStore();
    const b = new MockStore();
    a.drafts.get(FIXTURES.draftInReview)!.title = 'Changed';
    expect(b.drafts.get(FIXTURES.draftInReview)!.title).toBe('Q3 pricing update');
  });
});
