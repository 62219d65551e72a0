/**
 * The 501 catch-all, the request log, `/__mock/` control endpoints, reset, close, and
 * `npm run mock-backend` as a process.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { startMockBackend } from '../../mock-backend/server.ts';
import { call, useMockBackend } from '../helpers/mockBackend.ts';

const mock = useMockBackend();
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('501 catch-all', () => {
  it('answers an unknown path, with or without a token, as an unmocked route', async () => {
    const res = await mock.call('GET', '/invoices/inv_1', { token: await mock.token('drafts:read') });
    expect(res.status).toBe(501);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 501, title: 'Not Implemented', detail: expect.stringContaining('unmocked route: GET /invoices/inv_1') });
    expect((await mock.call('POST', '/nothing/here')).status).toBe(501);
  });

  it('answers a method the path does not have', async () => {
    for (const [method, path] of [
      ['PATCH', '/drafts'],
      ['PUT', `/drafts/${FIXTURES.draftInReview}`],
      ['GET', `/drafts/${FIXTURES.draftInReview}/publish`],
      ['DELETE', '/posts'],
    ] as const) {
      const res = await mock.call(method, path, { token: await mock.token('drafts:read') });
      expect(res.status, `${method} ${path}`).toBe(501);
      expect(res.body.detail).toContain(`unmocked route: ${method} ${path}`);
    }
  });

  it('answers a request msw would pass through, too', async () => {
    const res = await mock.call('GET', '/drafts', { headers: { accept: 'msw/passthrough' } });
    expect(res.status).toBe(501);
  });
});

describe('request log', () => {
  it('records operation, caller, scopes, status and idempotency key — never the token', async () => {
    const token = await mock.token(['drafts:read', 'drafts:publish']);
    mock.backend.requestLog.clear();
    await mock.call('GET', '/drafts?limit=2', { token });
    await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token, headers: { 'idempotency-key': 'log-test-0001' } });
    await mock.call('GET', '/drafts');
    await mock.call('GET', '/unknown');
    await mock.call('GET', '/__mock/health');
    const entries = mock.backend.requestLog.entries();
    expect(entries).toHaveLength(4);
    expect(entries[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      operationId: 'listDrafts',
      method: 'GET',
      path: '/drafts',
      query: 'limit=2',
      status: 200,
      subject: 'deputy',
      clientId: 'deputy',
      scopes: ['drafts:read', 'drafts:publish'],
      tokenKind: 'jwt',
      durationMs: expect.any(Number),
    });
    expect(entries[1]).toMatchObject({ operationId: 'publishDraft', method: 'POST', status: 200, idempotencyKey: 'log-test-0001' });
    expect(entries[2]).toMatchObject({ operationId: 'listDrafts', status: 401, subject: null, clientId: null, scopes: null, tokenKind: null });
    expect(entries[3]).toMatchObject({ operationId: null, path: '/unknown', status: 501 });
    expect(JSON.stringify(entries)).not.toContain(token);
  });

  it('is readable and clearable over HTTP, filtered by operation', async () => {
    const token = await mock.token(['drafts:read', 'posts:read']);
    mock.backend.requestLog.clear(); // minting the token was logged (POST /oauth/token)
    await mock.call('GET', '/drafts', { token });
    await mock.call('GET', '/posts', { token });
    const all = await mock.call('GET', '/__mock/requests');
    expect(all.body.entries.map((e: { operationId: string }) => e.operationId)).toEqual(['listDrafts', 'listPosts']);
    const filtered = await mock.call('GET', '/__mock/requests?operationId=listPosts');
    expect(filtered.body.entries).toHaveLength(1);
    expect(all.text).not.toContain(token);
    expect((await mock.call('DELETE', '/__mock/requests')).status).toBe(204);
    expect((await mock.call('GET', '/__mock/requests')).body.entries).toEqual([]);
  });
});

describe('reset', () => {
  it('POST /__mock/reset restores the seed, the next ids, and clears the log and rate limits', async () => {
    const token = await mock.token(['drafts:publish', 'drafts:delete']);
    const first = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token });
    await mock.call('DELETE', `/drafts/${FIXTURES.draftUnpublished}`, { token });
    expect(mock.backend.store.drafts.has(FIXTURES.draftUnpublished)).toBe(false);
    expect((await mock.call('POST', '/__mock/reset')).status).toBe(204);
    expect(mock.backend.store.drafts.has(FIXTURES.draftUnpublished)).toBe(true);
    expect(mock.backend.store.drafts.get(FIXTURES.draftInReview)?.status).toBe('in_review');
    expect(mock.backend.requestLog.entries()).toEqual([]);
    const again = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token });
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['ratelimit-remaining']).toBe(String(mock.backend.rateLimiter.config.limit - 1));
  });
});

describe('server lifecycle', () => {
  it('close() frees the port even with kept-alive connections open', async () => {
    const backend = await startMockBackend();
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    expect((await call(backend.url, 'GET', '/__mock/health', { dispatcher: agent })).status).toBe(200);
    await backend.close();
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(backend.port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await agent.destroy();
  });

  it('npm run mock-backend prints one line with the URL, serves, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'mock-backend/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, MOCK_BACKEND_PORT: '0', MOCK_BACKEND_RATE_LIMIT: '7' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const m = /^mock-backend listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const res = await call(url, 'GET', '/drafts', { token: 'acme_dev_drafts_read_7f3c9a1e5b2d4f60' });
    expect(res.status).toBe(200);
    expect(res.headers['ratelimit-limit']).toBe('7');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });

  it('main refuses a bad environment variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'mock-backend/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, MOCK_BACKEND_PORT: '0', MOCK_BACKEND_RATE_LIMIT: 'lots' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('MOCK_BACKEND_RATE_LIMIT');
  });
});
