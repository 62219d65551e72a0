/**
 * MCP 2026-07-28 through the front door, with the official v2 client pinned to that revision
 * (`@modelcontextprotocol/client`): no initialize, no session; list, call, bad input, scope
 * filtering, 401/403 challenges; and the revision's own rules answered with its codes, raw.
 */
import { SdkHttpError, type Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOL_SCOPES, findLeaks, jsonRpcMessages, MODERN_REVISION, setup, type Harness } from '../helpers/deputy.ts';

let h: Harness;
let agent: Client;

beforeAll(async () => {
  h = await setup();
  agent = await h.connectModern();
});
afterAll(async () => {
  await h?.teardown();
});

const textOf = (result: { content: unknown[] }) => {
  const first = result.content[0] as { type?: string; text?: string } | undefined;
  return first?.type === 'text' ? (first.text ?? '') : '';
};

describe('a v2 client pinned to 2026-07-28', () => {
  it('negotiated the modern revision and holds no session', () => {
    expect(agent.getNegotiatedProtocolVersion()).toBe(MODERN_REVISION);
    expect(h.deputy.sessions.size).toBe(0);
  });

  it('lists the tools its scopes allow', async () => {
    const { tools } = await agent.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['addTicketNote', 'getCustomerSummary', 'getDraft', 'listCustomerTickets', 'listDrafts', 'publishDraft', 'searchCustomers'].sort(),
    );
  });

  it('calls a read tool and gets structured content', async () => {
    const result = await agent.callTool({ name: 'getDraft', arguments: { filename: 'q3-pricing-update.md' } });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ filename: 'q3-pricing-update.md', title: 'Q3 pricing update' });
  });

  it('bad input is a tool error naming the field, and reaches no backend', async () => {
    h.backend.reset();
    const result = await agent.callTool({ name: 'getDraft', arguments: { filename: '../etc/passwd' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('filename');
    expect(h.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
  });

  it('an unknown tool is a protocol error', async () => {
    await expect(agent.callTool({ name: 'dropDatabase', arguments: {} })).rejects.toThrow(/Unknown tool: dropDatabase/);
  });

  it('a caller with fewer scopes sees fewer tools, and a call beyond them is 403 insufficient_scope with a challenge', async () => {
    const reader = await h.connectModern({ scopes: ['drafts:read'] });
    const { tools } = await reader.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['getDraft', 'listDrafts']);

    const token = await h.agentToken(['drafts:read']);
    const res = await h.postModern(7, 'tools/call', { name: 'getCustomerSummary', arguments: { customerId: 'cus_A1b2C3d4E5f6' } }, { token });
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('customers:read');
    expect(challenge).toContain('resource_metadata="');
  });

  it('no token is 401 with a challenge naming the metadata; the client surfaces it', async () => {
    const res = await h.postModern(1, 'tools/list', {}, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"$/);
    await expect(h.connectModern({ token: 'not-a-token' }).then((c) => c.listTools())).rejects.toSatisfy(
      (error: unknown) => error instanceof SdkHttpError || (error instanceof Error && /401|nauthorized/.test(error.message)),
    );
  });
});

describe('the revision’s own rules, raw', () => {
  let token: string;
  beforeAll(async () => {
    token = await h.agentToken(ALL_TOOL_SCOPES);
  });

  it('server/discover names 2026-07-28 and the tools capability', async () => {
    const res = await h.postModern('d-1', 'server/discover', {}, { token });
    const [message] = await jsonRpcMessages(res);
    expect(message).toMatchObject({ id: 'd-1', result: { supportedVersions: [MODERN_REVISION], capabilities: { tools: {} } } });
  });

  it('tools/list carries a private cache hint: the list depends on the caller’s scopes', async () => {
    const [message] = await jsonRpcMessages(await h.postModern(2, 'tools/list', {}, { token }));
    const result = (message as { result: { ttlMs: number; cacheScope: string } }).result;
    expect(result.cacheScope).toBe('private');
    expect(result.ttlMs).toBeGreaterThan(0);
  });

  it('an Mcp-Name header that disagrees with the body → the spec’s -32020, echoing the request id', async () => {
    const res = await h.postModern(41, 'tools/call', { name: 'listDrafts', arguments: {} }, { token, headers: { 'mcp-name': 'getDraft' } });
    expect(res.status).toBe(400);
    const [message] = await jsonRpcMessages(res);
    expect(message).toMatchObject({ id: 41, error: { code: -32020 } });
  });

  it('an Mcp-Method header that disagrees with the body → -32020 with the id', async () => {
    const res = await h.postModern(42, 'tools/list', {}, { token, headers: { 'mcp-method': 'tools/call' } });
    const [message] = await jsonRpcMessages(res);
    expect(message).toMatchObject({ id: 42, error: { code: -32020 } });
  });

  it('a malformed _meta envelope → -32602 with the id', async () => {
    const res = await h.post(
      { jsonrpc: '2.0', id: 43, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN_REVISION, 'io.modelcontextprotocol/clientInfo': 'nope' } } },
      { token, headers: { 'mcp-protocol-version': MODERN_REVISION, 'mcp-method': 'tools/list' } },
    );
    const [message] = await jsonRpcMessages(res);
    expect(message).toMatchObject({ id: 43, error: { code: -32602 } });
  });

  it('an unsupported revision → -32022 naming the supported ones', async () => {
    const res = await h.post(
      { jsonrpc: '2.0', id: 44, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01', 'io.modelcontextprotocol/clientInfo': { name: 'x', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } } },
      { token, headers: { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' } },
    );
    const [message] = await jsonRpcMessages(res);
    expect(message).toMatchObject({ id: 44, error: { code: -32022 } });
    expect(JSON.stringify(message)).toContain(MODERN_REVISION);
  });

  it.each(['initialize', 'ping'])('%s with the envelope (removed in 2026-07-28) → method not found, with the id', async (method) => {
    const [message] = await jsonRpcMessages(await h.postModern(45, method, {}, { token }));
    expect(message).toMatchObject({ id: 45, error: { code: -32601 } });
  });

  it('a malformed tools/call is -32602 before the SDK, echoing the id', async () => {
    const [message] = await jsonRpcMessages(await h.postModern(46, 'tools/call', { name: 'getDraft', arguments: [] }, { token }));
    expect(message).toMatchObject({ id: 46, error: { code: -32602 } });
  });

  it('a batch is refused as in the 2025 revisions', async () => {
    const res = await h.post([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }], { token, headers: { 'mcp-protocol-version': MODERN_REVISION } });
    expect(res.status).toBe(400);
  });

  it('a 2025-era request with a session header still reaches the session layer (its 404), not the modern handler', async () => {
    const res = await h.post({ jsonrpc: '2.0', id: 47, method: 'tools/list', params: {} }, { token, sessionId: 'no-such-session' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ id: 47, error: { code: -32001 } });
  });

  it('a 2025-era request without a session is told to initialize, with its own id', async () => {
    const res = await h.post({ jsonrpc: '2.0', id: 48, method: 'tools/list', params: {} }, { token });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 48, error: { code: -32000 } });
  });
});

describe('secrets', () => {
  it('no token in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
