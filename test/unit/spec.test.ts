/**
 * mock-backend/spec.ts: what it reads from the contract, and how its request and response
 * validators judge concrete requests. Expectations come from the YAML itself, never a copy.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileSpec, DEFAULT_SPEC_PATH, loadSpec } from '../../mock-backend/spec.ts';

const spec = loadSpec();
const yaml = parse(readFileSync(DEFAULT_SPEC_PATH, 'utf8')) as {
  paths: Record<string, Record<string, { operationId?: string; security?: Record<string, string[]>[] }>>;
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const fromYaml = Object.entries(yaml.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((m) => ({ operationId: item[m]!.operationId!, method: m, path, scopes: Object.values(item[m]!.security![0]!).flat() })),
);

const noParts = { params: {}, query: new URLSearchParams(), headers: new Headers(), body: undefined };

describe('operations', () => {
  it('lists every operation of the YAML with its method, path and security scopes', () => {
    expect(fromYaml.length).toBeGreaterThanOrEqual(15);
    expect(spec.operations.map((o) => ({ operationId: o.operationId, method: o.method, path: o.path, scopes: o.requiredScopes }))).toEqual(fromYaml);
  });

  it('marks exactly the operations with an Idempotency-Key header as idempotent', () => {
    const idempotent = spec.operations.filter((o) => o.idempotent).map((o) => o.operationId);
    expect(idempotent).toEqual(spec.operations.filter((o) => o.parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key')).map((o) => o.operationId));
    expect(idempotent).toContain('publishDraft');
    expect(idempotent).not.toContain('listDrafts');
  });

  it('merges path-level parameters into each operation', () => {
    expect(spec.getOperation('publishDraft').parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:filename', 'header:Idempotency-Key', 'header:Prefer']);
  });

  it('routes concrete paths to operations, decoding parameters', () => {
    expect(spec.matchOperation('GET', '/drafts/q3-pricing-update.md')).toMatchObject({ operation: { operationId: 'getDraft' }, params: { filename: 'q3-pricing-update.md' } });
    expect(spec.matchOperation('DELETE', '/drafts/q3-pricing-update.md')?.operation.operationId).toBe('deleteDraft');
    expect(spec.matchOperation('POST', '/drafts/a%20b.md/publish')?.params).toEqual({ filename: 'a b.md' });
    expect(spec.matchOperation('GET', '/customers/cus_Northwind001/tickets')?.operation.operationId).toBe('listCustomerTickets');
    expect(spec.matchOperation('PATCH', '/drafts')).toBeNull();
    expect(spec.matchOperation('GET', '/drafts/a/b')).toBeNull();
  });

  it('refuses a spec it cannot enforce faithfully', () => {
    const doc = (security: unknown) => ({
      openapi: '3.1.0',
      paths: { '/x': { get: { operationId: 'x', security, responses: { '200': { description: 'ok' } } } } },
    });
    expect(() => compileSpec(doc([{ a: ['s1'] }, { b: ['s2'] }]))).toThrow(/security alternatives/);
    expect(compileSpec(doc([])).getOperation('x').requiredScopes).toBeNull();
    expect(() =>
      compileSpec({ openapi: '3.1.0', paths: { '/x': { get: { operationId: 'x' } }, '/y': { get: { operationId: 'x' } } } }),
    ).toThrow(/duplicate operationId/);
  });
});

describe('request validation', () => {
  it('coerces query strings to their types and applies defaults', () => {
    const result = spec.validateRequest('listDrafts', { ...noParts, query: new URLSearchParams('status=in_review') });
    expect(result).toEqual({ ok: true, value: expect.objectContaining({ query: { status: 'in_review', limit: 20 } }) });
    const limited = spec.validateRequest('listDrafts', { ...noParts, query: new URLSearchParams('limit=5') });
    expect(limited.ok && limited.value.query['limit']).toBe(5);
  });

  it('lists every invalid field with its location', () => {
    const result = spec.validateRequest('publishDraft', {
      params: { filename: 'Q3 Pricing.MD' },
      query: new URLSearchParams('limit=0'),
      headers: new Headers({ 'idempotency-key': 'short' }),
      body: { notifySubscribers: 'yes', extra: 1 },
    });
    expect(result.ok).toBe(false);
    const fields = !result.ok ? result.errors.map((e) => e.field).sort() : [];
    expect(fields).toEqual(['body.extra', 'body.notifySubscribers', 'header.Idempotency-Key', 'path.filename', 'query.limit'].sort());
  });

  it('names missing required properties and wrong types in the body', () => {
    const result = spec.validateRequest('updateCustomerPlan', { ...noParts, params: { customerId: 'cus_Northwind001' }, body: { seats: '3' } });
    expect(result).toEqual({
      ok: false,
      errors: expect.arrayContaining([
        { field: 'body.plan', message: 'is required' },
        { field: 'body.seats', message: 'must be integer' },
      ]),
    });
  });

  it('refuses unknown query parameters, a missing required body and a body where none is taken', () => {
    const unknown = spec.validateRequest('listDrafts', { ...noParts, query: new URLSearchParams('sort=title') });
    expect(unknown).toEqual({ ok: false, errors: [{ field: 'query.sort', message: 'unknown query parameter' }] });
    expect(spec.validateRequest('addTicketNote', { ...noParts, params: { ticketId: 'tkt_100001' } })).toEqual({ ok: false, errors: [{ field: 'body', message: 'is required' }] });
    expect(spec.validateRequest('listPosts', { ...noParts, body: {} })).toMatchObject({ ok: false, errors: [{ field: 'body' }] });
  });

  it('accepts an absent optional body', () => {
    expect(spec.validateRequest('publishDraft', { ...noParts, params: { filename: 'q3-pricing-update.md' } }).ok).toBe(true);
  });
});

describe('response validation', () => {
  const summary = { filename: 'a.md', title: 'A', author: 'mchen', status: 'draft', wordCount: 1, updatedAt: '2025-01-01T00:00:00Z' };

  it('accepts a documented status with a valid body', () => {
    expect(spec.validateResponse('listDrafts', { status: 200, contentType: 'application/json; charset=utf-8', body: { items: [summary], nextCursor: null } })).toEqual({ ok: true });
    expect(spec.validateResponse('deleteDraft', { status: 204, contentType: null, body: undefined })).toEqual({ ok: true });
  });

  it('refuses an undocumented status, a wrong media type and an invalid body', () => {
    expect(spec.validateResponse('listDrafts', { status: 404, contentType: 'application/problem+json', body: {} })).toMatchObject({ ok: false, errors: [expect.stringMatching(/status 404 is not documented/)] });
    expect(spec.validateResponse('listDrafts', { status: 200, contentType: 'text/plain', body: 'x' })).toMatchObject({ ok: false });
    const bad = spec.validateResponse('listDrafts', { status: 200, contentType: 'application/json', body: { items: [{ ...summary, status: 'gone' }], nextCursor: null } });
    expect(bad).toMatchObject({ ok: false, errors: [expect.stringContaining('/items/0/status')] });
    expect(spec.validateResponse('deleteDraft', { status: 204, contentType: 'application/json', body: {} })).toMatchObject({ ok: false });
  });

  it('checks problem bodies too (a 403 must name missingScopes)', () => {
    const problem = { type: 'https://acme-press.example/problems/insufficient-scope', title: 'Forbidden', status: 403 };
    expect(spec.validateResponse('getDraft', { status: 403, contentType: 'application/problem+json', body: problem })).toMatchObject({ ok: false });
    expect(spec.validateResponse('getDraft', { status: 403, contentType: 'application/problem+json', body: { ...problem, missingScopes: ['drafts:read'] } })).toEqual({ ok: true });
  });
});
