/**
 * Per-operation tokens on behalf of the caller (RFC 8693 token exchange, src/README.md D3):
 * the backend sees the user who acted (with Deputy as the actor) and exactly the operation's
 * scopes, on a backend-audience token. The caller's own token is never forwarded: the mock
 * refuses Deputy-audience tokens, so a forwarded one would fail, and the harness proves none of
 * the agent tokens ever reached the API.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

let h: Harness;
let alice: Client;
let sam: Client;

const accept = () => ({ action: 'accept' as const, content: { confirm: true } });

beforeAll(async () => {
  h = await setup({ env: { DEPUTY_TOKEN_PROVIDER: 'token_exchange' } });
  // Agent tokens for fixture users (mock-backend/fixtures/users.yaml), with the scopes those users hold.
  alice = await h.connect({ subject: 'alice', scopes: ['drafts:read', 'drafts:publish'], onElicit: accept });
  sam = await h.connect({ subject: 'sam', scopes: ['customers:read', 'tickets:read', 'tickets:write'], onElicit: accept });
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
});

const apiEntries = () => h.backend.requestLog.entries().filter((e) => e.operationId !== null);

describe('token exchange: the backend sees the user, with exactly the operation’s scopes', () => {
  it.each([
    ['alice', 'listDrafts', { limit: 2 }, [['listDrafts', ['drafts:read']]]],
    ['alice', 'getDraft', { filename: 'q3-pricing-update.md' }, [['getDraft', ['drafts:read']]]],
    ['alice', 'publishDraft', { filename: 'q3-pricing-update.md' }, [['getDraft', ['drafts:read']], ['publishDraft', ['drafts:publish']]]],
    ['sam', 'getCustomerSummary', { customerId: 'cus_Northwind001' }, [['getCustomer', ['customers:read']]]],
    ['sam', 'listCustomerTickets', { customerId: 'cus_Northwind001', limit: 2 }, [['listCustomerTickets', ['tickets:read']]]],
    ['sam', 'addTicketNote', { ticketId: 'tkt_100001', body: 'Looked into it.' }, [['addTicketNote', ['tickets:write']]]],
  ] as const)('%s → %s', async (user, tool, args, expected) => {
    const client = user === 'alice' ? alice : sam;
    const result = await h.callTool(client, tool, { ...args });
    expect(result.isError, textOf(result)).toBeFalsy();
    const entries = apiEntries();
    expect(entries.map((e) => [e.operationId, e.scopes])).toEqual(expected);
    for (const entry of entries) {
      expect(entry).toMatchObject({ subject: user, actor: 'deputy', clientId: 'deputy', tokenKind: 'jwt' });
      expect(entry.status).toBeLessThan(300);
    }
  });

  it('the publish is attributed to the user in the backend’s own records', async () => {
    await h.callTool(alice, 'publishDraft', { filename: 'q3-pricing-update.md' });
    expect(h.backend.store.events.publications).toHaveLength(1);
    expect(h.backend.store.events.publications[0]!.by).toContain('alice');
  });

  it('no agent token ever reached the API; each user got their own backend tokens', () => {
    expect(h.backendTokens.length).toBeGreaterThan(0);
    for (const token of h.issuedTokens) expect(h.backendTokens).not.toContain(token);
  });

  it('a user the backend does not grant the scope to is refused, with no API request', async () => {
    // alice is an editor: the authorization server will not exchange her token for customers:read.
    const overreaching = await h.connect({ subject: 'alice', scopes: ['customers:read'] });
    const result = await h.callTool(overreaching, 'getCustomerSummary', { customerId: 'cus_Northwind001' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).not.toMatch(/token|secret|invalid_scope/i);
    expect(textOf(result)).toMatch(/^Not allowed: the authorization server does not let this user perform getCustomerSummary\./);
    expect(apiEntries()).toEqual([]);
    const audit = h.auditLines().at(-1)!;
    expect(audit).toMatchObject({ tool: 'getCustomerSummary', caller: { subject: 'alice' }, outcome: 'tool_error', backend: { errorCode: 'BACKEND_TOKEN_UNAVAILABLE' } });
  });

  it('two users calling the same tool get backend requests under their own names', async () => {
    const dana = await h.connect({ subject: 'dana', scopes: ['drafts:read'] });
    await Promise.all([h.callTool(alice, 'listDrafts', { limit: 1 }), h.callTool(dana, 'listDrafts', { limit: 1 })]);
    expect(apiEntries().map((e) => e.subject).sort()).toEqual(['alice', 'dana']);
  });
});

describe('secrets', () => {
  it('no agent token, exchanged token or client secret in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
