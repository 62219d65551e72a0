/**
 * Calls refused before the pipeline are audited too, and a token-exchange refusal for the user
 * reads as a permission answer, not as an operator problem.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { setup, textOf, type Harness } from '../helpers/deputy.ts';

describe('refusals leave an audit line', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup();
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('a tools/call refused with 403 insufficient_scope is audited as denied', async () => {
    const token = await h.agentToken(['drafts:read'], 'dana');
    const session = await h.openSession(token);
    const before = h.auditLines().length;
    const response = await h.post(
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'getCustomerSummary', arguments: { customerId: 'cus_000000000001' } } },
      { token, sessionId: session },
    );
    expect(response.status).toBe(403);
    const lines = h.auditLines().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ tool: 'getCustomerSummary', outcome: 'denied', caller: { subject: 'dana' }, sessionId: session, approval: 'not_reached', backend: null });
  });

  it('an unknown tool is a protocol error and is audited as unknown_tool', async () => {
    const client = await h.connect();
    const before = h.auditLines().length;
    await expect(client.callTool({ name: 'runSqlReport', arguments: { sql: 'select 1' } })).rejects.toBeInstanceOf(McpError);
    const lines = h.auditLines().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ tool: 'runSqlReport', outcome: 'unknown_tool', risk: 'unknown', arguments: null });
  });
});

describe('token exchange refused for the user', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup({ env: { DEPUTY_TOKEN_PROVIDER: 'token_exchange' } });
  });
  afterEach(() => h.backend.requestLog.clear());
  afterAll(async () => {
    await h?.teardown();
  });

  it('tells the model the user lacks permission, and makes no API request', async () => {
    // dana's agent token claims customers:read, but the authorization server knows dana may only
    // read drafts: the exchange is refused with invalid_scope (RFC 8693 §2.2.2).
    const client = await h.connect({ scopes: ['customers:read'], subject: 'dana' });
    const result = await h.callTool(client, 'getCustomerSummary', { customerId: 'cus_000000000001' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      'Not allowed: the authorization server does not let this user perform getCustomerSummary. Nothing was done; the user can ask an administrator for access.',
    );
    expect(h.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
  });
});

describe('health probes', () => {
  it('answer whatever the Host header, while /mcp keeps the Host check', async () => {
    const h = await setup();
    try {
      const { port } = new URL(h.deputy.url);
      const { request } = await import('undici');
      const probe = await request(`http://127.0.0.1:${port}/healthz`, { headers: { host: '10.1.2.3:3000' } });
      expect(probe.statusCode).toBe(200);
      await probe.body.dump();
      const mcp = await request(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { host: '10.1.2.3:3000' }, body: '{}' });
      expect(mcp.statusCode).toBe(403);
      await mcp.body.dump();
    } finally {
      await h.teardown();
    }
  });
});
