/**
 * `Idempotency-Key` on POST: a repeat replays the first response and does the work once; the same
 * key with a different request is a 422; keys are scoped per token subject and operation.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { expectConforms, useMockBackend } from '../helpers/mockBackend.ts';

const mock = useMockBackend();
const publishPath = `/drafts/${FIXTURES.draftInReview}/publish`;

describe('Idempotency-Key', () => {
  it('a repeated publish replays the first response and publishes once', async () => {
    const token = await mock.token('drafts:publish');
    const headers = { 'idempotency-key': 'publish-q3-0001' };
    const first = await mock.call('POST', publishPath, { token, headers, body: { notifySubscribers: true } });
    const second = await mock.call('POST', publishPath, { token, headers, body: { notifySubscribers: true } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expectConforms(mock.backend.spec, 'publishDraft', second);
    expect(mock.backend.store.events.publications).toHaveLength(1);
    expect([...mock.backend.store.posts.values()].filter((p) => p.sourceDraft === FIXTURES.draftInReview)).toHaveLength(1);
    expect(mock.backend.requestLog.forOperation('publishDraft')).toMatchObject([
      { status: 200, idempotencyKey: 'publish-q3-0001' },
      { status: 200, idempotencyKey: 'publish-q3-0001', idempotentReplay: true },
    ]);
  });

  it('without a key, a repeat is a new request (and here a 409)', async () => {
    const token = await mock.token('drafts:publish');
    expect((await mock.call('POST', publishPath, { token })).status).toBe(200);
    expect((await mock.call('POST', publishPath, { token })).status).toBe(409);
  });

  it('concurrent repeats wait for the first and publish once', async () => {
    const token = await mock.token('drafts:publish');
    const headers = { 'idempotency-key': 'publish-q3-concurrent' };
    const results = await Promise.all(Array.from({ length: 5 }, () => mock.call('POST', publishPath, { token, headers })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(mock.backend.store.events.publications).toHaveLength(1);
  });

  it('the same key with a different body or another target is refused with 422, doing nothing', async () => {
    const token = await mock.token('drafts:publish');
    const headers = { 'idempotency-key': 'publish-q3-0002' };
    await mock.call('POST', publishPath, { token, headers, body: { notifySubscribers: false } });
    const differentBody = await mock.call('POST', publishPath, { token, headers, body: { notifySubscribers: true } });
    expect(differentBody.status).toBe(422);
    expect(differentBody.body.detail).toContain('publish-q3-0002');
    expectConforms(mock.backend.spec, 'publishDraft', differentBody);
    const otherDraft = await mock.call('POST', '/drafts/seo-checklist-2025.md/publish', { token, headers, body: { notifySubscribers: false } });
    expect(otherDraft.status).toBe(422);
    expect(mock.backend.store.drafts.get('seo-checklist-2025.md')?.status).toBe('in_review');
    expect(mock.backend.store.events.publications).toHaveLength(1);
  });

  it('an error reply is replayed too: the retry of a 409 is the same 409', async () => {
    const token = await mock.token('drafts:publish');
    const headers = { 'idempotency-key': 'publish-launch-week' };
    const first = await mock.call('POST', `/drafts/${FIXTURES.draftPublished}/publish`, { token, headers });
    const again = await mock.call('POST', `/drafts/${FIXTURES.draftPublished}/publish`, { token, headers });
    expect([first.status, again.status]).toEqual([409, 409]);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('keys are scoped per subject and per operation', async () => {
    const jwt = await mock.token(['drafts:publish', 'tickets:write']);
    const staticKey = (parse(readFileSync(fileURLToPath(new URL('../../mock-backend/fixtures/static-tokens.yaml', import.meta.url)), 'utf8')) as { tokens: { id: string; token: string }[] }).tokens.find(
      (t) => t.id === 'key-drafts-publish',
    )!.token;
    const headers = { 'idempotency-key': 'shared-key-0001' };
    const mine = await mock.call('POST', publishPath, { token: jwt, headers });
    // Another subject (svc-deputy) using the same key on another draft: its own request, not a 422.
    const theirs = await mock.call('POST', '/drafts/seo-checklist-2025.md/publish', { token: staticKey, headers });
    // The same subject using the same key on another operation: also its own request.
    const note = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token: jwt, headers, body: { body: 'Published the fix.' } });
    expect([mine.status, theirs.status, note.status]).toEqual([200, 200, 201]);
    expect(mock.backend.store.events.publications.map((p) => [p.filename, p.by])).toEqual([
      [FIXTURES.draftInReview, 'deputy'],
      ['seo-checklist-2025.md', 'svc-deputy'],
    ]);
  });

  it('every POST operation with the header in the spec honours it (a note is added once)', async () => {
    const token = await mock.token('tickets:write');
    const headers = { 'idempotency-key': 'note-once-0001' };
    const before = mock.backend.store.notes.get(FIXTURES.openTicket)!.length;
    const a = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token, headers, body: { body: 'Once.' } });
    const b = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token, headers, body: { body: 'Once.' } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body).toEqual(a.body);
    expect(mock.backend.store.notes.get(FIXTURES.openTicket)!.length).toBe(before + 1);
  });
});
