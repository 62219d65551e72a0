/**
 * The HTTP face of Deputy (src/README.md D4): an OAuth 2.1 resource server with Protected Resource
 * Metadata, 401/403 challenges, scope-filtered tools, sessions bound to their subject, the
 * Origin/Host guard, batch and size limits, and the stateless mode. Raw `fetch` where the status
 * and headers are the point; the SDK client where a client's view is.
 */
import { createServer, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import { connect, type AddressInfo } from 'node:net';
import { SignJWT, generateKeyPair } from 'jose';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALL_TOOL_SCOPES, findLeaks, jsonRpcMessages, setup, textOf, type Harness } from '../helpers/deputy.ts';
import { FIXTURES } from '../../mock-backend/seed.ts';

let h: Harness;
let devToken: string;

beforeAll(async () => {
  h = await setup();
  devToken = await h.agentToken();
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
});

const listTools = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
const callTool = (name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name, arguments: args } });
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const metadataUrl = () => `${new URL(h.deputy.url).origin}/.well-known/oauth-protected-resource/mcp`;

/** A JWT that looks right (issuer, audience, kid) but was signed by someone else's key. */
async function forgedToken(alg: 'ES256' | 'RS256' = 'ES256'): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  const kid = h.backend.auth.jwks.keys[0]!.kid!;
  return new SignJWT({ client_id: 'deputy-dev-agent', scope: ALL_TOOL_SCOPES.join(' ') })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid })
    .setIssuer(h.backend.auth.issuer)
    .setSubject('dev')
    .setAudience(h.deputy.url)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

describe('authentication: 401 with a challenge that points at the resource metadata', () => {
  it('no token → 401, `Bearer resource_metadata="…"` and no error code', async () => {
    const res = await h.post(initialize, { token: null });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toBe(`Bearer resource_metadata="${metadataUrl()}"`);
    expect(challenge).not.toContain('error=');
  });

  it.each([
    ['a backend token (audience is the backend, not Deputy)', async () => (await h.backend.auth.mintAccessToken({ subject: 'dev', clientId: 'deputy', audience: h.backend.url, scopes: ALL_TOOL_SCOPES })).accessToken, 'not issued for this resource'],
    ['a token for another MCP server', async () => (await h.backend.auth.mintAccessToken({ subject: 'dev', clientId: 'deputy-dev-agent', audience: 'http://127.0.0.1:1/mcp', scopes: ALL_TOOL_SCOPES })).accessToken, 'not issued for this resource'],
    ['an expired token', async () => (await h.backend.auth.mintAccessToken({ subject: 'dev', clientId: 'deputy-dev-agent', audience: h.deputy.url, scopes: ALL_TOOL_SCOPES, ttlSeconds: -120 })).accessToken, 'expired'],
    ['a token signed with another key', () => forgedToken('ES256'), 'signature is invalid'],
    ['an RS256 token signed with another key', () => forgedToken('RS256'), 'signature is invalid'],
    ['garbage', async () => 'not-a-jwt', 'malformed'],
    ['an unsigned token (alg none)', async () => `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'dev', aud: h.deputy.url, iss: h.backend.auth.issuer, exp: 4e9, scope: 'drafts:read' })).toString('base64url')}.`, 'algorithm is not allowed'],
  ])('%s → 401 invalid_token', async (_name, mint, description) => {
    const token = await mint();
    h.issuedTokens.push(token);
    const res = await h.post(initialize, { token });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="${metadataUrl()}"`);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(description);
    expect(await res.text()).not.toContain(token);
  });

  it('a token anywhere but the Authorization header is not accepted', async () => {
    const res = await fetch(`${h.deputy.url}?access_token=${devToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initialize),
    });
    expect(res.status).toBe(401);
    const basic = await h.post(initialize, { headers: { authorization: `Basic ${Buffer.from('dev:dev-password-dev').toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('GET and DELETE on /mcp need a token too', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(h.deputy.url, { method, headers: { accept: 'text/event-stream' } });
      expect(res.status, method).toBe(401);
    }
  });

  it('the SDK client without a token cannot connect, and makes no backend request', async () => {
    const client = new SdkClient({ name: 'anonymous', version: '1' });
    const error = await client.connect(new StreamableHTTPClientTransport(new URL(h.deputy.url))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/401|Unauthorized/i);
    expect(h.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
  });
});

describe('Protected Resource Metadata (RFC 9728)', () => {
  it('is served at the path-inserted well-known URL with only the tools’ scopes and the AS', async () => {
    const res = await fetch(metadataUrl());
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toEqual({
      resource: h.deputy.url,
      authorization_servers: [h.backend.auth.issuer],
      scopes_supported: [...ALL_TOOL_SCOPES].sort(),
      bearer_methods_supported: ['header'],
      resource_name: 'Deputy',
    });
  });

  it('is also served at the root well-known URL, without a token', async () => {
    const res = await fetch(`${new URL(h.deputy.url).origin}/.well-known/oauth-protected-resource`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { resource: string }).resource).toBe(h.deputy.url);
  });

  it('the authorization server it names publishes its own metadata', async () => {
    const res = await fetch(`${h.backend.auth.issuer}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { issuer: string }).issuer).toBe(h.backend.auth.issuer);
  });
});

describe('scopes: one policy for tools/list and tools/call', () => {
  it('a tools/call without the tool’s scope → 403 insufficient_scope with the scope to ask for, before dispatch', async () => {
    const readerToken = await h.agentToken(['drafts:read']);
    const sessionId = await h.openSession(readerToken);
    const res = await h.post(callTool('publishDraft', { filename: 'q3-pricing-update.md' }), { token: readerToken, sessionId });
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="drafts:read drafts:publish"');
    expect(challenge).toContain(`resource_metadata="${metadataUrl()}"`);
    expect(h.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
    expect(h.backend.store.events.publications).toEqual([]);
  });

  it('the SDK client sees the 403 as an error, and tools/list hides the tool', async () => {
    const reader = await h.connect({ scopes: ['drafts:read', 'customers:read'] });
    const names = (await reader.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['getCustomerSummary', 'getDraft', 'listDrafts', 'searchCustomers']);
    const error = await reader.callTool({ name: 'addTicketNote', arguments: { ticketId: 'tkt_100001', body: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(403);
    expect(String(error)).toContain('insufficient_scope');
    expect(h.backend.requestLog.forOperation('addTicketNote')).toEqual([]);
    // The allowed tools still work on the same session.
    const ok = (await reader.callTool({ name: 'listDrafts', arguments: { limit: 1 } })) as { isError?: boolean };
    expect(ok.isError).toBeFalsy();
  });

  it('a caller with no tool scope at all sees an empty list', async () => {
    const nobody = await h.connect({ scopes: ['posts:read'] });
    expect((await nobody.listTools()).tools).toEqual([]);
  });

  it('the list follows the token of each request, not the token that opened the session', async () => {
    const broad = await h.agentToken(ALL_TOOL_SCOPES, 'dev');
    const narrow = await h.agentToken(['drafts:read'], 'dev');
    const sessionId = await h.openSession(broad);
    const res = await h.post(listTools, { token: narrow, sessionId });
    expect(res.status).toBe(200);
    const [message] = await jsonRpcMessages(res);
    const tools = (message!.result as { tools: { name: string }[] }).tools.map((t) => t.name).sort();
    expect(tools).toEqual(['getDraft', 'listDrafts']);
  });
});

describe('sessions are bound to the subject that opened them', () => {
  it('another subject’s token with a valid session id → 404, for POST, GET and DELETE', async () => {
    const sessionId = await h.openSession(devToken);
    const aliceToken = await h.agentToken(ALL_TOOL_SCOPES, 'alice');

    const post = await h.post(listTools, { token: aliceToken, sessionId });
    expect(post.status).toBe(404);
    const [error] = await jsonRpcMessages(post);
    expect(error).toMatchObject({ error: { message: expect.stringContaining('Session not found') } });
    const call = await h.post(callTool('listDrafts'), { token: aliceToken, sessionId });
    expect(call.status).toBe(404);

    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(h.deputy.url, {
        method,
        headers: { authorization: `Bearer ${aliceToken}`, 'mcp-session-id': sessionId, accept: 'text/event-stream' },
      });
      expect(res.status, method).toBe(404);
    }

    // The owner's session is untouched by the attempts (the DELETE above closed nothing).
    const own = await h.post(listTools, { token: devToken, sessionId });
    expect(own.status).toBe(200);
    expect(h.backend.requestLog.forOperation('listDrafts')).toEqual([]);
  });

  it('a new token of the same subject keeps using the session (a session id is not a credential, the subject is)', async () => {
    const sessionId = await h.openSession(devToken);
    const refreshed = await h.agentToken(ALL_TOOL_SCOPES, 'dev');
    const res = await h.post(callTool('listDrafts', { limit: 1 }), { token: refreshed, sessionId });
    expect(res.status).toBe(200);
    const messages = await jsonRpcMessages(res);
    expect(messages.at(-1)).toMatchObject({ result: { structuredContent: { items: [expect.any(Object)] } } });
  });

  it('a request reusing the id of one in flight on its session → 400, and the first is answered (src/README.md D52)', async () => {
    const sessionId = await h.openSession(devToken);
    h.backend.faults.set('listDrafts', { kind: 'hang' });
    try {
      const first = h.post(callTool('listDrafts', { limit: 1 }), { token: devToken, sessionId });
      await expect.poll(() => h.backend.faults.hungRequests, { timeout: 10_000 }).toBe(1);
      const again = await h.post(callTool('getDraft', { filename: 'q3-pricing-update.md' }), { token: devToken, sessionId });
      expect(again.status).toBe(400);
      expect(await again.json()).toMatchObject({ id: 3, error: { code: -32600, message: expect.stringMatching(/already in flight on this session/) } });
      // Another id goes through meanwhile.
      expect((await h.post({ ...listTools, id: 'other' }, { token: devToken, sessionId })).status).toBe(200);
      h.backend.faults.clear('listDrafts');
      const answered = await first;
      expect(answered.status).toBe(200);
      expect((await jsonRpcMessages(answered)).at(-1)).toMatchObject({ id: 3, result: { structuredContent: { items: [expect.any(Object)] } } });
      // Once answered, the id is free again.
      expect((await h.post(callTool('listDrafts', { limit: 1 }), { token: devToken, sessionId })).status).toBe(200);
    } finally {
      h.backend.faults.clear('listDrafts');
      // Closed, so the user's session quota stays for the tests after this one.
      await fetch(h.deputy.url, { method: 'DELETE', headers: { authorization: `Bearer ${devToken}`, 'mcp-session-id': sessionId } });
    }
  });

  it('an unknown session id → 404; a request without one that is not initialize → 400', async () => {
    const unknown = await h.post(listTools, { token: devToken, sessionId: 'no-such-session' });
    expect(unknown.status).toBe(404);
    const none = await h.post(listTools, { token: devToken });
    expect(none.status).toBe(400);
  });

  it('a session without elicitation is answered with one JSON body per call; with it, an SSE stream (src/README.md D43)', async () => {
    const plain = await h.openSession(devToken);
    const json = await h.post(callTool('listDrafts', { limit: 1 }), { token: devToken, sessionId: plain });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await json.text();
    expect(Number(json.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    expect(JSON.parse(body)).toMatchObject({ id: 3, result: { structuredContent: { items: [expect.any(Object)] } } });

    const init = await h.post({ ...initialize, params: { ...initialize.params, capabilities: { elicitation: {} } } }, { token: devToken });
    const eliciting = init.headers.get('mcp-session-id')!;
    expect(init.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await jsonRpcMessages(init);
    await (await h.post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { token: devToken, sessionId: eliciting })).body?.cancel();
    const sse = await h.post(callTool('listDrafts', { limit: 1 }), { token: devToken, sessionId: eliciting });
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await jsonRpcMessages(sse)).at(-1)).toMatchObject({ id: 3, result: { structuredContent: { items: [expect.any(Object)] } } });
    // Closed again: the user's session quota is shared with the tests below.
    for (const id of [plain, eliciting]) await fetch(h.deputy.url, { method: 'DELETE', headers: { authorization: `Bearer ${devToken}`, 'mcp-session-id': id } });
  });

  it('DELETE by the owner ends the session', async () => {
    const sessionId = await h.openSession(devToken);
    const del = await fetch(h.deputy.url, { method: 'DELETE', headers: { authorization: `Bearer ${devToken}`, 'mcp-session-id': sessionId } });
    expect(del.status).toBe(200);
    const after = await h.post(listTools, { token: devToken, sessionId });
    expect(after.status).toBe(404);
  });
});

describe('Origin and Host (DNS rebinding)', () => {
  it('a request from a foreign Origin → 403, even with a valid token', async () => {
    const res = await h.post(initialize, { token: devToken, headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden_origin' });
  });

  it('a look-alike Origin (another port, another scheme) → 403', async () => {
    const own = new URL(h.deputy.url);
    for (const origin of [`http://${own.hostname}:1`, `https://${own.host}`, 'null']) {
      const res = await h.post(initialize, { token: devToken, headers: { origin } });
      expect(res.status, origin).toBe(403);
    }
  });

  it('Deputy’s own origin passes', async () => {
    const res = await h.post(initialize, { token: devToken, headers: { origin: new URL(h.deputy.url).origin } });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it('a foreign Host header → 403', async () => {
    const url = new URL(h.deputy.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json', authorization: `Bearer ${devToken}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(initialize));
    });
    expect(status).toBe(403);
  });
});

describe('message limits', () => {
  it('a JSON-RPC batch → 400', async () => {
    const sessionId = await h.openSession(devToken);
    const res = await h.post([listTools, callTool('listDrafts')], { token: devToken, sessionId });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: -32600, message: expect.stringContaining('batches are not supported') } });
    expect(h.backend.requestLog.forOperation('listDrafts')).toEqual([]);
  });

  it('a batch smuggling a call for a tool outside the caller’s scopes is refused as a batch', async () => {
    const readerToken = await h.agentToken(['drafts:read']);
    const sessionId = await h.openSession(readerToken);
    const res = await h.post([callTool('listDrafts'), callTool('publishDraft', { filename: 'q3-pricing-update.md' })], { token: readerToken, sessionId });
    expect(res.status).toBe(400);
    expect(h.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
  });

  it('a body over the limit → 413, before it reaches a tool', async () => {
    const sessionId = await h.openSession(devToken);
    const big = callTool('searchCustomers', { q: 'x'.repeat(h.config.maxBodyBytes + 1) });
    const res = await h.post(big, { token: devToken, sessionId });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { message: 'Request body too large' } });
    expect(h.backend.requestLog.forOperation('searchCustomers')).toEqual([]);
  });

  it('a body that is not JSON → 400 parse error, no stack trace', async () => {
    const res = await h.post(undefined, { token: devToken, rawBody: '{"jsonrpc": "2.0", "method": ' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('Parse error');
    expect(text).not.toMatch(/at \w+ \(|node_modules/);
  });
});

/**
 * The body as `node:http` delivers it, read by Deputy itself (src/http/jsonBody.ts, src/README.md
 * D44): chunked or compressed, with or without a length. Each chunk is written on its own.
 */
function rawPost(path: string, headers: OutgoingHttpHeaders, chunks: (string | Buffer)[], method = 'POST', options: { noBody?: boolean } = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const url = new URL(path, h.deputy.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    // Node's client sends `Content-Length: 0` for an empty POST; without it the request has no body.
    if (options.noBody) for (const name of ['content-length', 'transfer-encoding']) req.removeHeader(name);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('the body, read without Express (src/README.md D44)', () => {
  // A subject of its own, so its sessions do not count against the dev user's quota.
  let token: string;
  let sessionId: string;
  beforeAll(async () => {
    token = await h.agentToken(ALL_TOOL_SCOPES, 'body-reader');
    sessionId = await h.openSession(token);
  });
  const headers = (sessionId: string, more: OutgoingHttpHeaders = {}) => ({ authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...more });

  it('a chunked body without a length that grows over the limit → 413, before it reaches a tool', async () => {
    const text = JSON.stringify(callTool('searchCustomers', { q: 'x'.repeat(h.config.maxBodyBytes) }));
    const res = await rawPost('/mcp', headers(sessionId), [text.slice(0, 1000), text.slice(1000)]);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, message: 'Request body too large' }, id: null });
    expect(h.backend.requestLog.forOperation('searchCustomers')).toEqual([]);
  });

  it('a gzip body is served; one that inflates past the limit → 413', async () => {
    const small = gzipSync(JSON.stringify(callTool('listDrafts')));
    const served = await rawPost('/mcp', headers(sessionId, { 'content-encoding': 'gzip', 'content-length': small.length }), [small]);
    expect(served.status).toBe(200);
    expect(h.backend.requestLog.forOperation('listDrafts')).toHaveLength(1);
    const bomb = gzipSync(JSON.stringify(callTool('searchCustomers', { q: 'x'.repeat(h.config.maxBodyBytes * 4) })));
    expect(bomb.length).toBeLessThan(h.config.maxBodyBytes);
    const refused = await rawPost('/mcp', headers(sessionId, { 'content-encoding': 'gzip', 'content-length': bomb.length }), [bomb]);
    expect(refused.status).toBe(413);
    expect(h.backend.requestLog.forOperation('searchCustomers')).toEqual([]);
  });

  it('an unknown Content-Encoding or a charset other than UTF-8 → 415', async () => {
    const body = JSON.stringify(callTool('listDrafts'));
    const encoded = await rawPost('/mcp', headers(sessionId, { 'content-encoding': 'compress' }), [body]);
    expect(encoded.status).toBe(415);
    expect(JSON.parse(encoded.text)).toMatchObject({ error: { code: -32600, message: expect.stringContaining('Content-Encoding') } });
    const latin1 = await rawPost('/mcp', headers(sessionId, { 'content-type': 'application/json; charset=latin1' }), [body]);
    expect(latin1.status).toBe(415);
    expect(h.backend.requestLog.forOperation('listDrafts')).toEqual([]);
  });

  it.each([
    ['JSON that is not an object or array', '"tools/call"', {}, 400, -32700],
    ['a corrupt gzip body', 'not gzip', { 'content-encoding': 'gzip' }, 400, -32700],
    ['an empty body (read as {}, as express.json() read it: no JSON-RPC message)', '', {}, 400, -32600],
  ])('%s → 400', async (_name, body, more, status, code) => {
    const res = await rawPost('/mcp', { authorization: `Bearer ${devToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...more }, [body]);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.text)).toMatchObject({ jsonrpc: '2.0', error: { code } });
  });

  it('a POST with no body at all (no length, not chunked) → 400 "Expected one JSON-RPC message"', async () => {
    const res = await rawPost('/mcp', { authorization: `Bearer ${devToken}` }, [], 'POST', { noBody: true });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: -32600, message: 'Expected one JSON-RPC message' } });
  });

  it('the path is matched as Express matched it: any case, one trailing slash, the query ignored', async () => {
    const res = await rawPost('/MCP/?from=test', headers(sessionId), [JSON.stringify(listTools)]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ id: 2, result: { tools: expect.any(Array) } });
  });

  it('another method → 401 without a token, 405 naming the methods with one', async () => {
    expect((await rawPost('/mcp', {}, [], 'PUT')).status).toBe(401);
    const res = await rawPost('/mcp', { authorization: `Bearer ${devToken}` }, [], 'PATCH');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST, DELETE');
    expect((await rawPost('/mcp', { authorization: `Bearer ${devToken}` }, [], 'HEAD')).status).toBe(405);
  });

  it('a compressed body cut off by the client mid-stream leaves the process up', async () => {
    // Corrupt bytes reach the decoder, then the client goes away: the decoder fails after the
    // request is given up, and an 'error' nobody listens to would end the process.
    const crashes: unknown[] = [];
    const record = (error: unknown) => crashes.push(error);
    process.prependListener('uncaughtException', record);
    try {
      const { hostname, port, host } = new URL(h.deputy.url);
      for (const encoding of ['gzip', 'deflate', 'br']) {
        for (let i = 0; i < 10; i++) {
          await new Promise<void>((resolve) => {
            const socket = connect(Number(port), hostname, () => {
              // The head first, so the body is being read when the corrupt bytes come and the client leaves.
              socket.write(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Encoding: ${encoding}\r\nContent-Length: 1000\r\n\r\n`);
              // Bytes and FIN together: the request closes before the decoder has failed on them.
              setTimeout(() => socket.end('not compressed at all '.repeat(10)), 50);
              setTimeout(() => socket.destroy(), 500);
            });
            socket.on('error', () => {}).on('close', () => resolve());
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(crashes).toEqual([]);
      expect((await rawPost('/mcp', headers(sessionId), [JSON.stringify(listTools)])).status).toBe(200);
    } finally {
      process.removeListener('uncaughtException', record);
    }
  });

  it('a refusal is JSON with its length, and names no framework', async () => {
    const res = await rawPost('/mcp', {}, []);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('health', () => {
  it('/healthz and /readyz answer without a token', async () => {
    const origin = new URL(h.deputy.url).origin;
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { backend: true, authorizationServer: true } });
  });

  it("verifies the first caller with the key set the start-up check read: one JWKS fetch (src/README.md D51)", async () => {
    const s = await setup();
    try {
      const jwksFetches = () => s.backend.requestLog.entries().filter((entry) => entry.path === '/.well-known/jwks.json').length;
      expect(jwksFetches()).toBe(1); // the start-up check of the authorization server
      const client = await s.connect();
      expect((await s.callTool(client, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
      expect(jwksFetches()).toBe(1);
      // A token signed with a key the seeded set does not hold is still refused.
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ scope: 'drafts:read' }).setProtectedHeader({ alg: 'ES256', kid: 'not-in-the-set' }).setIssuer(s.config.auth!.issuer).setAudience(s.deputy.url).setSubject('mallory').setExpirationTime('5m').sign(privateKey);
      expect((await s.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token: forged })).status).toBe(401);
    } finally {
      await s.teardown();
    }
  });

  it('/readyz is 503 while the backend answers 503', async () => {
    const origin = new URL(h.deputy.url).origin;
    const down = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as AddressInfo).port;
    const d = await setup({ env: { DEPUTY_BACKEND_URL: `http://127.0.0.1:${port}`, DEPUTY_TOKEN_PROVIDER: 'token_exchange' } }).catch((e: unknown) => e);
    // Token exchange checks no credential at start, so Deputy comes up in front of a backend that is down.
    try {
      expect(d).not.toBeInstanceOf(Error);
      const harness = d as Harness;
      const ready = await fetch(`${new URL(harness.deputy.url).origin}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not_ready', checks: { backend: false, authorizationServer: true } });
      await harness.teardown();
    } finally {
      down.close();
    }
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
  });
});

describe('stateless mode', () => {
  let s: Harness;
  let token: string;
  beforeAll(async () => {
    s = await setup({ env: { DEPUTY_MODE: 'stateless' } });
    token = await s.agentToken();
  });
  afterAll(async () => {
    await s?.teardown();
  });
  beforeEach(() => {
    s.backend.reset();
  });

  it('the SDK client lists and calls tools, without a session id', async () => {
    const client: Client = await s.connect();
    expect((client.transport as StreamableHTTPClientTransport).sessionId).toBeUndefined();
    expect((await client.listTools()).tools).toHaveLength(7);
    const result = await s.callTool(client, 'getCustomerSummary', { customerId: 'cus_Northwind001' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ id: 'cus_Northwind001', plan: 'pro' });
  });

  it('writes are refused: an approval answer would arrive on a new POST that no per-request server can match', async () => {
    let prompts = 0;
    const client = await s.connect({
      onElicit: () => {
        prompts++;
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const result = await s.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('Nothing was published');
    // A tool without its own refusal text gets the default one, which names stateless mode.
    const note = await s.callTool(client, 'addTicketNote', { ticketId: FIXTURES.openTicket, body: 'stateless note' });
    expect(note.isError).toBe(true);
    expect(textOf(note)).toContain('it speaks a 2025 protocol revision to a stateless Deputy. Nothing was done');
    expect(textOf(note)).toContain('(MCP 2026-07-28, or a 2025 revision on a stateful Deputy)');
    expect(prompts).toBe(0);
    expect(s.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
    expect(s.backend.store.events.publications).toEqual([]);
  });

  it('GET and DELETE on /mcp → 405', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(s.deputy.url, { method, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });

  it('still authenticates and checks scopes on every request', async () => {
    expect((await s.post(listTools, { token: null })).status).toBe(401);
    const reader = await s.agentToken(['drafts:read']);
    const res = await s.post(callTool('publishDraft', { filename: 'q3-pricing-update.md' }), { token: reader });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('no secret in its logs, audit lines or results', () => {
    expect(findLeaks(s)).toEqual([]);
  });
});

describe('secrets', () => {
  it('no token or client secret in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
