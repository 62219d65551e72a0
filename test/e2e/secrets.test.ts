/**
 * Tokens never appear in logs, errors, tool output or the audit trail (src/README.md D3). One
 * harness drives every path that could carry a secret — every tool, refused callers, bad inputs,
 * backend faults, rate limits, declined approvals, secrets planted in backend data — then
 * searches every application log line, audit line, tool result and raw HTTP answer for every
 * agent token, every backend token the authorization server issued to Deputy or the API was
 * shown, and Deputy's client secret.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPUTY_CLIENT_SECRET, findLeaks, knownSecrets, setup, textOf, type Harness } from '../helpers/deputy.ts';

let h: Harness;
let client: Client;
let decline = false;
/** Raw HTTP answers (bodies and challenge headers) collected along the way. */
const rawAnswers: string[] = [];

beforeAll(async () => {
  h = await setup({ env: { DEPUTY_BACKEND_MAX_RETRIES: '0', DEPUTY_BACKEND_TIMEOUT_MS: '600' } });
  client = await h.connect({ onElicit: () => (decline ? { action: 'decline' } : { action: 'accept', content: { confirm: true } }) });
});
afterAll(async () => {
  await h?.teardown();
});

describe('secrets in backend data are redacted from tool output', () => {
  it('a token, an API key and a labelled password inside ticket text come back as [REDACTED]', async () => {
    h.backend.reset();
    // A real backend token, as if someone pasted one into a support ticket.
    await h.callTool(client, 'listDrafts', { limit: 1 });
    const backendToken = h.backendTokens.at(-1)!;
    const ticket = [...h.backend.store.tickets.values()].find((t) => t.id === 'tkt_100001')!;
    ticket.lastMessage = `It fails with ${backendToken} and our key acme_live_9f8e7d6c5b4a39281706 (password: hunter2hunter2).`;

    const result = await h.callTool(client, 'listCustomerTickets', { customerId: 'cus_Northwind001', limit: 20 });
    expect(result.isError, textOf(result)).toBeFalsy();
    const item = (result.structuredContent as { items: { id: string; lastMessage: string }[] }).items.find((i) => i.id === 'tkt_100001')!;
    expect(item.lastMessage).toMatch(/^It fails with \[REDACTED\] and our key \[REDACTED\] \(password: \[REDACTED\]/);
    const whole = JSON.stringify(result);
    for (const secret of [backendToken, 'acme_live_9f8e7d6c5b4a39281706', 'hunter2hunter2']) expect(whole).not.toContain(secret);
    expect(textOf(result)).toContain('3 secret-looking values redacted');
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'listCustomerTickets', result: { redactions: 3 } });
  });
});

describe('the red team\'s secrets in ticket text, through a real call', () => {
  it('cloud and LLM keys, a database URL, Basic credentials, a card and a spoken password are redacted; ids and dates stay', async () => {
    h.backend.reset();
    const secrets = [
      'sk-proj-Q2mP7vL4wR8tZx9kQ2mP7vL4wR8tZx9kQ2mP7vL4wR8tZx9k',
      'postgres://app:S3cretPassw0rd@db.internal:5432/app',
      'dXNlcjpjb3JyZWN0LWhvcnNlLWJhdHRlcnk=',
      '4111 1111 1111 1111',
      'Tr0ub4dor&3',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz',
    ];
    const ticket = [...h.backend.store.tickets.values()].find((t) => t.id === 'tkt_100001')!;
    ticket.lastMessage = `Order 4111111111111112 on 2026-11-30: key ${secrets[0]}, db ${secrets[1]}, Authorization: Basic ${secrets[2]}, card ${secrets[3]}, my password is ${secrets[4]} and aws_secret_access_key=${secrets[5]}`;
    const result = await h.callTool(client, 'listCustomerTickets', { customerId: 'cus_Northwind001', limit: 20 });
    expect(result.isError, textOf(result)).toBeFalsy();
    const item = (result.structuredContent as { items: { id: string; lastMessage: string }[] }).items.find((i) => i.id === 'tkt_100001')!;
    expect(item.lastMessage).toMatch(/^Order 4111111111111112 on 2026-11-30: key \[REDACTED\], db \[REDACTED\],? Authorization: \[REDACTED\], card \[REDACTED\], my password is \[REDACTED\] and /);
    const whole = JSON.stringify(result);
    for (const secret of secrets) expect(whole).not.toContain(secret);
    // Nor in any log or audit line: the audit records how many were removed, never what.
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'listCustomerTickets', result: { redactions: 6 } });
    for (const line of [...h.logLines, ...h.auditRaw]) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});

describe('every path, then a search for every secret', () => {
  it('drives tools, refusals, faults, rate limits and approvals', async () => {
    h.backend.reset();
    // Every tool, successfully.
    await h.callTool(client, 'listDrafts', { limit: 3 });
    await h.callTool(client, 'getDraft', { filename: 'q3-pricing-update.md' });
    await h.callTool(client, 'searchCustomers', { q: 'North' });
    await h.callTool(client, 'getCustomerSummary', { customerId: 'cus_Northwind001' });
    await h.callTool(client, 'listCustomerTickets', { customerId: 'cus_Northwind001' });
    await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' });
    await h.callTool(client, 'addTicketNote', { ticketId: 'tkt_100001', body: 'All good.' });
    // Backend errors and declined approvals.
    await h.callTool(client, 'getDraft', { filename: 'no-such-draft.md' });
    await h.callTool(client, 'addTicketNote', { ticketId: 'tkt_100002', body: 'Closed?' });
    decline = true;
    await h.callTool(client, 'addTicketNote', { ticketId: 'tkt_100001', body: 'Declined.' });
    decline = false;
    // Bad inputs, including ones that look like credentials.
    await h.callTool(client, 'getDraft', { filename: `${h.issuedTokens[0]}.md` });
    await h.callTool(client, 'listDrafts', { limit: 5, authorization: `Bearer ${h.issuedTokens[0]}` });
    // Faults.
    for (const fault of [{ kind: 'reset' }, { kind: 'status', status: 500 }, { kind: 'malformed' }, { kind: 'oversized' }, { kind: 'hang' }] as const) {
      h.backend.faults.set('searchCustomers', fault);
      const result = await h.callTool(client, 'searchCustomers', { q: 'x' });
      expect(result.isError).toBe(true);
    }
    h.backend.faults.clear();
    // Refused callers over raw HTTP: no token, a backend token, a foreign origin, a missing scope.
    const backendToken = h.backendTokens[0]!;
    for (const [token, headers] of [
      [null, {}],
      [backendToken, {}],
      [h.issuedTokens[0]!, { origin: 'http://evil.example' }],
    ] as const) {
      const res = await h.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, headers });
      rawAnswers.push(`${res.headers.get('www-authenticate') ?? ''} ${await res.text()}`);
    }
    const reader = await h.agentToken(['drafts:read']);
    const sessionId = await h.openSession(reader);
    const forbidden = await h.post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'publishDraft', arguments: { filename: 'q3-pricing-update.md' } } }, { token: reader, sessionId });
    expect(forbidden.status).toBe(403);
    rawAnswers.push(`${forbidden.headers.get('www-authenticate') ?? ''} ${await forbidden.text()}`);
    // An unknown tool (protocol error).
    await client.callTool({ name: 'rotateApiKeys', arguments: {} }).catch((error: unknown) => rawAnswers.push(String(error)));

    expect(h.results.length).toBeGreaterThan(15);
    expect(h.logLines.length).toBeGreaterThan(5);
  });

  it('knows the secrets it searches for: agent tokens, one backend token per scope set, the client secret', () => {
    expect(h.issuedTokens.length).toBeGreaterThanOrEqual(2);
    expect(h.backendTokens.length).toBeGreaterThanOrEqual(5);
    expect(knownSecrets(h)).toContain(DEPUTY_CLIENT_SECRET);
  });

  it('none appears in any log line, audit line, tool result or HTTP answer', () => {
    expect(findLeaks(h, rawAnswers)).toEqual([]);
  });

  it('no log line carries an Authorization header value or a bearer credential', () => {
    for (const line of [...h.logLines, ...h.auditRaw]) {
      expect(line).not.toMatch(/Bearer\s+[A-Za-z0-9._~+/-]{16,}/);
      expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
    }
  });
});
