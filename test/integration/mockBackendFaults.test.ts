/**
 * Faults on demand, per operation, without a restart, through the programmatic API and the
 * `/__mock/faults` control endpoints: delay, hang, reset, 500/503, malformed JSON, oversized body.
 */
import { createServer } from 'node:net';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { startMockBackend } from '../../mock-backend/server.ts';
import { call, sleep, useMockBackend } from '../helpers/mockBackend.ts';
import { mintBackendToken } from '../helpers/tokens.ts';

const mock = useMockBackend();

async function waitFor(condition: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('fault kinds', () => {
  it('delay: the request is answered normally, late; other operations are not delayed', async () => {
    const token = await mock.token('drafts:read');
    mock.backend.faults.set('listDrafts', { kind: 'delay', ms: 400 });
    const started = Date.now();
    const res = await mock.call('GET', '/drafts', { token });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    const quick = Date.now();
    expect((await mock.call('GET', `/drafts/${FIXTURES.draftInReview}`, { token })).status).toBe(200);
    expect(Date.now() - quick).toBeLessThan(390);
    expect(mock.backend.requestLog.forOperation('listDrafts')).toMatchObject([{ status: 200, fault: 'delay', subject: 'deputy' }]);
  });

  it('hang: no answer until the client gives up; the hung request is then dropped and logged as 0', async () => {
    const token = await mock.token('drafts:read');
    mock.backend.faults.set('getDraft', { kind: 'hang' });
    const agent = new Agent({ headersTimeout: 300 });
    try {
      await expect(call(mock.url, 'GET', `/drafts/${FIXTURES.draftInReview}`, { token, dispatcher: agent })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    } finally {
      await agent.destroy();
    }
    await waitFor(() => mock.backend.faults.hungRequests === 0);
    await waitFor(() => mock.backend.requestLog.forOperation('getDraft').length === 1);
    expect(mock.backend.requestLog.forOperation('getDraft')).toMatchObject([{ status: 0, fault: 'hang' }]);
  });

  it('hang: clearing the fault (over HTTP) lets the held request through', async () => {
    const token = await mock.token('drafts:read');
    mock.backend.faults.set('getDraft', { kind: 'hang' });
    const pending = mock.call('GET', `/drafts/${FIXTURES.draftInReview}`, { token });
    await waitFor(() => mock.backend.faults.hungRequests === 1);
    expect((await mock.call('DELETE', '/__mock/faults/getDraft')).status).toBe(204);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.filename).toBe(FIXTURES.draftInReview);
    // The released request kept its own context: logged with its own subject.
    expect(mock.backend.requestLog.forOperation('getDraft')).toMatchObject([{ status: 200, fault: 'hang', subject: 'deputy' }]);
  });

  it('hang: close() does not wait for hung or kept-alive connections, and frees the port', async () => {
    const backend = await startMockBackend();
    const token = await mintBackendToken(backend.url, 'drafts:read'); // leaves a kept-alive connection
    backend.faults.set('listDrafts', { kind: 'hang' });
    const agent = new Agent();
    const pending = request(`${backend.url}/drafts`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent }).then(
      () => 'answered',
      () => 'dropped',
    );
    await waitFor(() => backend.faults.hungRequests === 1);
    const started = Date.now();
    await backend.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('dropped');
    await agent.destroy();
    // The port is free again.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(backend.port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  it('reset: the connection is reset without a response', async () => {
    mock.backend.faults.set('listPosts', { kind: 'reset' });
    const err = await call(mock.url, 'GET', '/posts', { token: await mock.token('posts:read') }).then(
      () => null,
      (e: { code?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(err!.code);
    expect(mock.backend.requestLog.forOperation('listPosts')).toMatchObject([{ status: 0, fault: 'reset' }]);
  });

  it('status: 500 and 503 problem+json, 503 with Retry-After; before auth, so even without a token', async () => {
    mock.backend.faults.set('searchCustomers', { kind: 'status', status: 500 });
    const five = await mock.call('GET', '/customers');
    expect(five.status).toBe(500);
    expect(five.contentType).toBe('application/problem+json');
    expect(five.body).toMatchObject({ status: 500, detail: expect.stringContaining('searchCustomers') });
    mock.backend.faults.set('searchCustomers', { kind: 'status', status: 503 });
    const unavailable = await mock.call('GET', '/customers', { token: await mock.token('customers:read') });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('1');
  });

  it('malformed: 200 application/json whose body is cut off', async () => {
    mock.backend.faults.set('listDrafts', { kind: 'malformed' });
    const res = await mock.call('GET', '/drafts', { token: await mock.token('drafts:read') });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/json');
    expect(res.text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(res.text)).toThrow(SyntaxError);
  });

  it('oversized: 200 with valid JSON of more than 5 MB (default), or the size asked for', async () => {
    mock.backend.faults.set('listDrafts', { kind: 'oversized' });
    const token = await mock.token('drafts:read');
    const res = await mock.call('GET', '/drafts', { token });
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(res.text)).toBeGreaterThan(5 * 1024 * 1024);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    expect(Array.isArray(JSON.parse(res.text).items)).toBe(true);
    mock.backend.faults.set('listDrafts', { kind: 'oversized', bytes: 100_000 });
    const sized = await mock.call('GET', '/drafts', { token });
    expect(Buffer.byteLength(sized.text)).toBe(100_000);
    expect(() => JSON.parse(sized.text)).not.toThrow();
  });

  it('count: applies to the next N requests, then clears itself', async () => {
    const token = await mock.token('drafts:read');
    mock.backend.faults.set('listDrafts', { kind: 'status', status: 503, count: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await mock.call('GET', '/drafts', { token })).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(mock.backend.faults.list()).toEqual({});
  });

  it('a fault on one operation leaves the others alone, and reset() clears it', async () => {
    const token = await mock.token(['drafts:read', 'posts:read']);
    mock.backend.faults.set('listDrafts', { kind: 'status', status: 500 });
    expect((await mock.call('GET', '/posts', { token })).status).toBe(200);
    mock.backend.reset();
    expect((await mock.call('GET', '/drafts', { token })).status).toBe(200);
  });
});

describe('control endpoints for faults', () => {
  it('PUT arms a fault, GET lists it, DELETE clears one or all', async () => {
    const armed = await mock.call('PUT', '/__mock/faults/listDrafts', { body: { kind: 'status', status: 503, count: 3 } });
    expect(armed.status).toBe(200);
    expect(armed.body).toEqual({ operationId: 'listDrafts', fault: { kind: 'status', status: 503, count: 3 } });
    await mock.call('PUT', '/__mock/faults/getDraft', { body: { kind: 'delay', ms: 10 } });
    expect((await mock.call('GET', '/__mock/faults')).body).toEqual({
      faults: { listDrafts: { kind: 'status', status: 503, count: 3 }, getDraft: { kind: 'delay', ms: 10 } },
    });
    expect((await mock.call('GET', '/drafts')).status).toBe(503);
    expect((await mock.call('DELETE', '/__mock/faults/listDrafts')).status).toBe(204);
    expect(Object.keys((await mock.call('GET', '/__mock/faults')).body.faults)).toEqual(['getDraft']);
    expect((await mock.call('DELETE', '/__mock/faults')).status).toBe(204);
    expect((await mock.call('GET', '/__mock/faults')).body).toEqual({ faults: {} });
  });

  it('refuses an unknown operation (404) and an invalid fault (400 listing the fields)', async () => {
    const unknown = await mock.call('PUT', '/__mock/faults/listWidgets', { body: { kind: 'hang' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toContain('listDrafts');
    const invalid = await mock.call('PUT', '/__mock/faults/listDrafts', { body: { kind: 'status', status: 418, extra: true } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['body.status']));
    const noKind = await mock.call('PUT', '/__mock/faults/listDrafts', { body: { ms: 5 } });
    expect(noKind.status).toBe(400);
    expect(mock.backend.faults.list()).toEqual({});
  });
});
