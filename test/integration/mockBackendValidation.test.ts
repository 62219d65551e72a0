/**
 * Request validation against the spec: a 400 ValidationProblem listing every invalid field, after
 * auth and scopes and before any work is done.
 */
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { expectConforms, useMockBackend, type ApiResponse } from '../helpers/mockBackend.ts';

const mock = useMockBackend();

function fieldsOf(res: ApiResponse): string[] {
  expect(res.status, res.text).toBe(400);
  expect(res.contentType).toBe('application/problem+json');
  return (res.body.errors as { field: string; message: string }[]).map((e) => e.field).sort();
}

describe('400 ValidationProblem', () => {
  it('a filename that breaks the pattern', async () => {
    const res = await mock.call('GET', '/drafts/Q3_Pricing.MD', { token: await mock.token('drafts:read') });
    expect(fieldsOf(res)).toEqual(['path.filename']);
    expect(res.body.errors[0].message).toContain('pattern');
    expectConforms(mock.backend.spec, 'getDraft', res);
  });

  it('limit out of range or not an integer', async () => {
    const token = await mock.token('drafts:read');
    for (const limit of ['0', '101', 'ten', '2.5']) {
      const res = await mock.call('GET', `/drafts?limit=${limit}`, { token });
      expect(fieldsOf(res), limit).toEqual(['query.limit']);
      expectConforms(mock.backend.spec, 'listDrafts', res);
    }
  });

  it('an enum value that does not exist, and an unknown query parameter', async () => {
    const res = await mock.call('GET', '/drafts?status=archived&sort=title', { token: await mock.token('drafts:read') });
    expect(fieldsOf(res)).toEqual(['query.sort', 'query.status']);
  });

  it('an extra body property and wrong types, all listed at once; nothing changes', async () => {
    const res = await mock.call('PUT', `/customers/${FIXTURES.activeCustomer}/plan`, {
      token: await mock.token('customers:write'),
      body: { plan: 'platinum', seats: 'ten', discount: 50 },
    });
    expect(fieldsOf(res)).toEqual(['body.discount', 'body.plan', 'body.seats']);
    expect(res.body.errors.find((e: { field: string }) => e.field === 'body.discount').message).toBe('is not allowed');
    expectConforms(mock.backend.spec, 'updateCustomerPlan', res);
    expect(mock.backend.store.customers.get(FIXTURES.activeCustomer)).toMatchObject({ plan: 'pro', seats: 25 });
  });

  it('a missing required body or property', async () => {
    const token = await mock.token('tickets:write');
    expect(fieldsOf(await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token }))).toEqual(['body']);
    const empty = await mock.call('POST', `/tickets/${FIXTURES.openTicket}/notes`, { token, body: {} });
    expect(empty.body.errors).toEqual([{ field: 'body.body', message: 'is required' }]);
  });

  it('a body that is not JSON, or not declared as JSON', async () => {
    const token = await mock.token('tickets:write');
    const path = `/tickets/${FIXTURES.openTicket}/notes`;
    expect(fieldsOf(await mock.call('POST', path, { token, rawBody: '{"body": "unterminated', headers: { 'content-type': 'application/json' } }))).toEqual(['body']);
    expect(fieldsOf(await mock.call('POST', path, { token, rawBody: 'body=hello', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))).toEqual(['header.Content-Type']);
  });

  it('an Idempotency-Key that breaks its pattern', async () => {
    const res = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token: await mock.token('drafts:publish'), headers: { 'idempotency-key': 'bad key!' } });
    expect(fieldsOf(res)).toEqual(['header.Idempotency-Key']);
    expect(mock.backend.store.events.publications).toEqual([]);
  });

  it('nested and format errors are located precisely', async () => {
    const res = await mock.call('POST', '/admin/impersonations', {
      token: await mock.token('admin:impersonate'),
      body: { customerId: 'cus_short', userEmail: 'not-an-email', reason: 'too short' },
    });
    expect(fieldsOf(res)).toEqual(['body.customerId', 'body.reason', 'body.userEmail']);
  });

  it('validation comes after auth: an invalid request without a token is a 401', async () => {
    const res = await mock.call('GET', '/drafts/Q3_Pricing.MD');
    expect(res.status).toBe(401);
  });
});
