/**
 * Tenants cannot cross (src/README.md D41, "Tenants"). Deputy with DEPUTY_TENANT_CLAIM=tenant
 * and a static token file holding a key per scope set for each of two tenants, north and south
 * (mock-backend/fixtures/deputy-tenant-tokens.yaml). The mock backend records the tenant of the
 * key every request carried, so each test can read, from the backend's side, whose credential
 * every one of a caller's calls used. Both callers are the same subject, `dev`: only the tenant
 * tells them apart.
 */
import { fileURLToPath } from 'node:url';
import type { ElicitResult } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findLeaks, jsonRpcMessages, setup, textOf, type Harness } from '../helpers/deputy.ts';
import { startStdioDeputy } from '../helpers/stdioDeputy.ts';

const TOKEN_FILE = fileURLToPath(new URL('../../mock-backend/fixtures/deputy-tenant-tokens.yaml', import.meta.url));
const NORTHWIND = 'cus_Northwind001';
const OPEN_TICKET = 'tkt_100001';
const DRAFT = 'q3-pricing-update.md';

/** Every tool, with arguments that name the other tenant wherever free text allows it. */
const CALLS: readonly [tool: string, args: Record<string, unknown>][] = [
  ['listDrafts', { limit: 5 }],
  ['getDraft', { filename: DRAFT }],
  ['searchCustomers', { q: 'south', limit: 5 }],
  ['getCustomerSummary', { customerId: NORTHWIND }],
  ['listCustomerTickets', { customerId: NORTHWIND, limit: 3 }],
  ['publishDraft', { filename: DRAFT }],
  ['addTicketNote', { ticketId: OPEN_TICKET, body: 'tenant: south — use the south key for this one' }],
];

const accept = (): ElicitResult => ({ action: 'accept', content: { confirm: true } });

let h: Harness;
let id = 1_000;
beforeAll(async () => {
  h = await setup({ env: { DEPUTY_TENANT_CLAIM: 'tenant', DEPUTY_TOKEN_PROVIDER: 'static', DEPUTY_TOKEN_FILE: TOKEN_FILE } });
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
});

/** The requests that reached an API operation (not the auth server), as the backend logged them. */
const apiRequests = () => h.backend.requestLog.entries().filter((e) => e.operationId !== null);
/** The tenants whose keys the backend was shown, and the key ids. */
const tenantsSeen = () => [...new Set(apiRequests().map((e) => e.tenant ?? '(none)'))];
const keysSeen = () => [...new Set(apiRequests().map((e) => e.clientId))];

const call = async (token: string, sessionId: string, params: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const res = await h.post({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params }, { token, sessionId, headers });
  return { status: res.status, messages: res.status === 200 ? await jsonRpcMessages(res) : [] };
};

describe('each tenant’s caller reaches the backend only with its tenant’s keys', () => {
  it.each(['north', 'south'])('%s calls every tool (reads and approved writes), naming the other tenant in its arguments', async (tenant) => {
    const client = await h.connect({ tenant, onElicit: accept });
    for (const [tool, args] of CALLS) {
      const result = await h.callTool(client, tool, args);
      expect(result.isError, `${tool}: ${textOf(result)}`).toBeFalsy();
    }
    // Every operation was reached (the approval lookup too), each with this tenant's key only.
    expect(new Set(apiRequests().map((e) => e.operationId))).toEqual(
      new Set(['listDrafts', 'getDraft', 'searchCustomers', 'getCustomer', 'listCustomerTickets', 'publishDraft', 'addTicketNote']),
    );
    expect(tenantsSeen()).toEqual([tenant]);
    for (const key of keysSeen()) expect(key).toMatch(new RegExp(`^${tenant}-`));
    // The audit trail names the tenant on every line of these calls.
    const lines = h.auditLines().slice(-CALLS.length);
    expect(lines.map((l) => [l.tool, l.tenant, l.outcome])).toEqual(CALLS.map(([tool]) => [tool, tenant, 'ok']));
    await client.close();
  });

  it('the backend’s rate-limit windows are kept per tenant’s credential', async () => {
    for (const tenant of ['north', 'south']) {
      const client = await h.connect({ tenant });
      expect((await h.callTool(client, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
      await client.close();
    }
    const metrics = await (await fetch(h.deputy.url.replace(/\/mcp$/, '/metrics'))).text();
    const credentials = [...metrics.matchAll(/^deputy_backend_rate_limit_remaining\{credential="([^"]+)"\}/gm)].map((m) => m[1]!);
    expect(credentials).toContain('north:adminAuth(drafts:read)');
    expect(credentials).toContain('south:adminAuth(drafts:read)');
    for (const credential of credentials) expect(credential).toMatch(/^(north|south):/);
  });

  it('forged tenants in arguments, headers and _meta change nothing: the token’s tenant decides', async () => {
    const north = await h.agentToken(undefined, 'dev', { tenant: 'north' });
    const session = await h.openSession(north);
    const forgedHeaders = { 'x-tenant': 'south', tenant: 'south', 'x-deputy-tenant': 'south', forwarded: 'for=south' };
    const forgedMeta = { tenant: 'south', 'io.deputy/tenant': 'south', progressToken: 'south' };
    // A valid call with forged headers and _meta runs — as north.
    const ok = await call(north, session, { name: 'listDrafts', arguments: { limit: 1 }, _meta: forgedMeta }, forgedHeaders);
    expect(ok.status).toBe(200);
    expect(JSON.stringify(ok.messages)).not.toContain('"isError":true');
    // A `tenant` argument is no argument of any tool: refused before the backend.
    const extra = await call(north, session, { name: 'getDraft', arguments: { filename: DRAFT, tenant: 'south' } }, forgedHeaders);
    expect(JSON.stringify(extra.messages)).toContain('"isError":true');
    expect(apiRequests().map((e) => e.operationId)).toEqual(['listDrafts']);
    expect(tenantsSeen()).toEqual(['north']);
  });

  it('arbitrary arguments, headers and _meta from a north caller never reach the backend with another key (property)', async () => {
    const north = await h.agentToken(undefined, 'dev', { tenant: 'north' });
    const session = await h.openSession(north);
    const tools = CALLS.map(([tool]) => tool).filter((tool) => tool !== 'publishDraft' && tool !== 'addTicketNote');
    const tenantish = fc.oneof(fc.constantFrom('south', 'north', 'SOUTH', 'south\u0000', '../south', ''), fc.string({ maxLength: 12 }));
    const headerName = fc.constantFrom('x-tenant', 'tenant', 'x-forwarded-user', 'x-org-id', 'org_id', 'x-deputy-tenant');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...tools),
        fc.dictionary(fc.constantFrom('tenant', 'filename', 'q', 'customerId', 'limit', 'status', 'org_id'), fc.oneof(tenantish, fc.integer({ min: 1, max: 5 }))),
        fc.dictionary(headerName, tenantish.filter((v) => /^[\x20-\x7e]*$/.test(v))),
        fc.dictionary(fc.constantFrom('tenant', 'org_id', 'io.deputy/tenant'), tenantish),
        async (tool, args, headers, meta) => {
          const { status } = await call(north, session, { name: tool, arguments: args, _meta: meta }, headers);
          expect(status).toBe(200);
        },
      ),
      // Random arguments are mostly refused before the backend; these valid ones, with forged
      // headers and _meta, always reach it, so the last check below always has requests to judge.
      {
        numRuns: 60,
        examples: [
          ['listDrafts', { limit: 1 }, { 'x-tenant': 'south' }, { tenant: 'south' }],
          ['getDraft', { filename: DRAFT }, { 'x-org-id': 'south' }, { 'io.deputy/tenant': 'south' }],
        ],
      },
    );
    expect(apiRequests().length).toBeGreaterThan(0); // some reached the backend …
    expect(tenantsSeen()).toEqual(['north']); // … every one with a north key
  });
});

describe('sessions and approvals stay in their tenant', () => {
  it('a session opened in one tenant is no session for the same subject of another', async () => {
    const [north, south] = await Promise.all([h.agentToken(undefined, 'dev', { tenant: 'north' }), h.agentToken(undefined, 'dev', { tenant: 'south' })]);
    const southSession = await h.openSession(south);
    const reused = await call(north, southSession, { name: 'listDrafts', arguments: { limit: 1 } });
    expect(reused.status).toBe(404);
    const deleted = await fetch(h.deputy.url, { method: 'DELETE', headers: { authorization: `Bearer ${north}`, 'mcp-session-id': southSession } });
    expect(deleted.status).toBe(404);
    expect(apiRequests()).toEqual([]);
    // South's session is untouched and still south's.
    const own = await call(south, southSession, { name: 'listDrafts', arguments: { limit: 1 } });
    expect(own.status).toBe(200);
    expect(tenantsSeen()).toEqual(['south']);
  });

  it('a south approval state replayed by north does nothing; south’s own resume publishes with south’s key', async () => {
    const [north, south] = await Promise.all([h.agentToken(undefined, 'dev', { tenant: 'north' }), h.agentToken(undefined, 'dev', { tenant: 'south' })]);
    const ask = await jsonRpcMessages(await h.postModern(++id, 'tools/call', { name: 'publishDraft', arguments: { filename: DRAFT } }, { token: south }));
    const { requestState } = (ask[0] as { result: { resultType: string; requestState: string } }).result;
    expect(requestState).toMatch(/^v1\./);
    const resume = async (token: string) => {
      const res = await h.postModern(++id, 'tools/call', { name: 'publishDraft', arguments: { filename: DRAFT }, requestState, inputResponses: { approval: accept() } }, { token });
      return (await jsonRpcMessages(res))[0] as { result?: { isError?: boolean; content: { text: string }[] } };
    };
    const stolen = await resume(north);
    expect(stolen.result?.isError).toBe(true);
    expect(stolen.result?.content[0]!.text).toContain('another action or caller');
    expect(h.backend.requestLog.forOperation('publishDraft')).toEqual([]);
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'publishDraft', tenant: 'north', approval: 'mismatch' });

    const own = await resume(south);
    expect(own.result?.isError, JSON.stringify(own)).toBeFalsy();
    expect(h.backend.requestLog.forOperation('publishDraft').map((e) => [e.tenant, e.clientId])).toEqual([['south', 'south-drafts-publish']]);
    expect(tenantsSeen()).toEqual(['south']);
  });
});

describe('callers without a usable tenant', () => {
  it('a token without the tenant claim is refused with 403 before any tool runs', async () => {
    const none = await h.agentToken(undefined, 'dev');
    const res = await h.post({ jsonrpc: '2.0', id: ++id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, { token: none });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="The access token names no tenant: its tenant claim must be a tenant name/);
    expect(apiRequests()).toEqual([]);
  });

  it('a tenant the token file holds no key for gets a tool error and reaches nothing', async () => {
    const client = await h.connect({ tenant: 'east' });
    const result = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(result.isError).toBe(true);
    expect(apiRequests()).toEqual([]);
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'listDrafts', tenant: 'east', outcome: 'tool_error' });
    await client.close();
  });
});

describe('token exchange with tenants', () => {
  let hx: Harness;
  beforeAll(async () => {
    hx = await setup({ env: { DEPUTY_TENANT_CLAIM: 'tenant', DEPUTY_TOKEN_PROVIDER: 'token_exchange' } });
  });
  afterAll(async () => {
    await hx?.teardown();
  });

  it('each caller’s backend token is exchanged from its own token and stays in its tenant', async () => {
    for (const tenant of ['north', 'south', 'north']) {
      const client = await hx.connect({ tenant, onElicit: accept });
      expect((await hx.callTool(client, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
      expect((await hx.callTool(client, 'getCustomerSummary', { customerId: NORTHWIND })).isError).toBeFalsy();
      await client.close();
    }
    const seen = hx.backend.requestLog.entries().filter((e) => e.operationId !== null).map((e) => [e.operationId, e.tenant, e.subject, e.actor]);
    expect(seen).toEqual(
      ['north', 'south', 'north'].flatMap((tenant) => [
        ['listDrafts', tenant, 'dev', 'deputy'],
        ['getCustomer', tenant, 'dev', 'deputy'],
      ]),
    );
    expect(findLeaks(hx)).toEqual([]);
  });
});

describe('stdio with tenants', () => {
  it('the local operator’s tenant (DEPUTY_STDIO_TENANT) picks its keys', async () => {
    const local = await startStdioDeputy({
      spec: 'openapi/admin-api.yaml',
      tools: 'openapi/tools.yaml',
      backendUrl: h.backend.url,
      tokenFile: TOKEN_FILE,
      env: { DEPUTY_TENANT_CLAIM: 'tenant', DEPUTY_STDIO_TENANT: 'south' },
    });
    try {
      expect((await local.callTool('listDrafts', { limit: 1 })).isError).toBeFalsy();
      expect((await local.callTool('addTicketNote', { ticketId: OPEN_TICKET, body: 'from stdio' })).isError).toBeFalsy();
    } finally {
      await local.close();
    }
    expect(apiRequests().map((e) => [e.operationId, e.tenant])).toEqual([
      ['listDrafts', 'south'],
      ['addTicketNote', 'south'],
    ]);
    expect(local.stderr.filter((line) => line.includes('"tool_call"')).map((line) => (JSON.parse(line) as { tenant: string }).tenant)).toEqual(['south', 'south']);
  });
});

it('no caller token or key appears in any log line, audit line or tool result', () => {
  expect(findLeaks(h)).toEqual([]);
});
