/**
 * Every tool through the front door: a real SDK client over Streamable HTTP, Deputy and the mock
 * backend on real ports. Happy paths with `structuredContent` checked against each tool's
 * `outputSchema` (Ajv 2020-12), least data out (no PII of the seed customers), per-operation
 * backend tokens (client credentials: the backend sees Deputy's client with exactly the
 * operation's scopes, never the caller), the audit line of every call, and no secret anywhere.
 */
import { createHash } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Customer } from '../../mock-backend/apiTypes.ts';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

const NORTHWIND = 'cus_Northwind001';
const OPEN_TICKET = 'tkt_100001';
const DRAFT = 'q3-pricing-update.md';

/** One successful call per tool; the write tools are approved by the test's "human". */
const HAPPY_CALLS: readonly [tool: string, args: Record<string, unknown>][] = [
  ['listDrafts', { limit: 5, status: 'in_review' }],
  ['getDraft', { filename: DRAFT }],
  ['searchCustomers', { q: 'Northwind', limit: 5 }],
  ['getCustomerSummary', { customerId: NORTHWIND }],
  ['listCustomerTickets', { customerId: NORTHWIND, limit: 3 }],
  ['publishDraft', { filename: DRAFT }],
  ['addTicketNote', { ticketId: OPEN_TICKET, body: 'Called the customer; the scheduled post went out at 9:05.' }],
];

/** The backend operation (and its scopes, as the spec declares them) each tool call reaches. */
const OPERATIONS_OF: Record<string, readonly string[]> = {
  listDrafts: ['listDrafts'],
  getDraft: ['getDraft'],
  searchCustomers: ['searchCustomers'],
  getCustomerSummary: ['getCustomer'],
  listCustomerTickets: ['listCustomerTickets'],
  publishDraft: ['getDraft', 'publishDraft'], // approval lookup, then the write
  addTicketNote: ['addTicketNote'],
};
const SCOPES_OF: Record<string, readonly string[]> = {
  listDrafts: ['drafts:read'],
  getDraft: ['drafts:read'],
  publishDraft: ['drafts:publish'],
  searchCustomers: ['customers:read'],
  getCustomer: ['customers:read'],
  listCustomerTickets: ['tickets:read'],
  addTicketNote: ['tickets:write'],
};

let h: Harness;
let client: Client;
let listed: Map<string, Tool>;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  h = await setup();
  client = await h.connect({ onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
  listed = new Map((await client.listTools()).tools.map((tool) => [tool.name, tool]));
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
});

function expectMatchesOutputSchema(tool: string, result: CallToolResult): void {
  const schema = listed.get(tool)?.outputSchema;
  expect(schema, `${tool} has an outputSchema`).toBeDefined();
  const validate = ajv.compile(schema!);
  const ok = validate(result.structuredContent);
  expect(ok, `${tool}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

/** Every value of a customer record the summary tools must never show. */
function piiOf(customer: Customer): string[] {
  const payment = (customer.paymentMethod ?? {}) as Record<string, unknown>;
  const values = [
    customer.contact.name,
    customer.contact.email,
    customer.contact.phone,
    customer.billingAddress.line1,
    customer.billingAddress.line2,
    customer.billingAddress.postalCode,
    customer.billingAddress.city,
    customer.internalNotes,
    payment.last4,
    payment.ibanLast4,
    payment.bankName,
    ...customer.riskFlags.map((flag) => `"${flag}"`),
    ...customer.apiKeys.flatMap((key) => [key.prefix, key.id]),
  ];
  return values.filter((value): value is string => typeof value === 'string' && value.length > 0);
}

describe('tools/list', () => {
  it('lists the seven tools, each with an input and an output schema and all four hints', () => {
    expect([...listed.keys()].sort()).toEqual([
      'addTicketNote', 'getCustomerSummary', 'getDraft', 'listCustomerTickets', 'listDrafts', 'publishDraft', 'searchCustomers',
    ]);
    for (const tool of listed.values()) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(Object.keys(tool.annotations ?? {}).sort()).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint', 'title']);
      expect(tool.annotations?.readOnlyHint).toBe(!['publishDraft', 'addTicketNote'].includes(tool.name));
    }
  });

  it('hides the tools a caller has no scope for', async () => {
    const reader = await h.connect({ scopes: ['drafts:read'] });
    const { tools } = await reader.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['getDraft', 'listDrafts']);
  });
});

describe('happy paths: structuredContent matches the outputSchema', () => {
  it('listDrafts returns projected summaries, filtered and capped', async () => {
    const result = await h.callTool(client, 'listDrafts', { limit: 5, status: 'in_review' });
    expect(result.isError).toBeFalsy();
    expectMatchesOutputSchema('listDrafts', result);
    const data = result.structuredContent as { items: Record<string, unknown>[]; nextCursor: string | null };
    expect(data.items.length).toBeGreaterThan(0);
    expect(data.items.length).toBeLessThanOrEqual(5);
    for (const item of data.items) {
      expect(Object.keys(item).sort()).toEqual(['author', 'filename', 'status', 'title', 'updatedAt', 'wordCount']);
      expect(item.status).toBe('in_review');
    }
    expect(data.items.map((i) => i.filename)).toContain(DRAFT);
    expect(textOf(result)).toContain('Data from the admin backend');
  });

  it('listDrafts pages with the cursor it returned', async () => {
    const first = await h.callTool(client, 'listDrafts', { limit: 3 });
    const cursor = (first.structuredContent as { nextCursor: string | null }).nextCursor;
    expect(cursor).toEqual(expect.any(String));
    const second = await h.callTool(client, 'listDrafts', { limit: 3, cursor: cursor! });
    expectMatchesOutputSchema('listDrafts', second);
    const names = (r: CallToolResult) => (r.structuredContent as { items: { filename: string }[] }).items.map((i) => i.filename);
    expect(names(second)).toHaveLength(3);
    expect(names(second).filter((n) => names(first).includes(n))).toEqual([]);
  });

  it('getDraft previews one draft without its body', async () => {
    const result = await h.callTool(client, 'getDraft', { filename: DRAFT });
    expect(result.isError).toBeFalsy();
    expectMatchesOutputSchema('getDraft', result);
    expect(result.structuredContent).toMatchObject({ filename: DRAFT, title: 'Q3 pricing update', author: 'mchen', status: 'in_review' });
    const body = h.backend.store.drafts.get(DRAFT)!.body;
    expect(JSON.stringify(result)).not.toContain('## '); // no section of the markdown body
    expect(JSON.stringify(result)).not.toContain(body.slice(body.indexOf('##'), body.indexOf('##') + 40));
  });

  it('searchCustomers finds Northwind', async () => {
    const result = await h.callTool(client, 'searchCustomers', { q: 'Northwind', limit: 5 });
    expect(result.isError).toBeFalsy();
    expectMatchesOutputSchema('searchCustomers', result);
    const items = (result.structuredContent as { items: Record<string, unknown>[] }).items;
    expect(items.find((i) => i.id === NORTHWIND)).toEqual({
      id: NORTHWIND, name: 'Northwind Traders GmbH', status: 'active', plan: 'pro', seats: 25, renewalDate: '2025-09-01',
    });
  });

  it('getCustomerSummary returns exactly the summary fields', async () => {
    const result = await h.callTool(client, 'getCustomerSummary', { customerId: NORTHWIND });
    expect(result.isError).toBeFalsy();
    expectMatchesOutputSchema('getCustomerSummary', result);
    expect(result.structuredContent).toEqual({
      id: NORTHWIND, name: 'Northwind Traders GmbH', status: 'active', plan: 'pro', renewalDate: '2025-09-01', seats: 25,
    });
  });

  it('listCustomerTickets returns the customer’s tickets, capped by limit', async () => {
    const result = await h.callTool(client, 'listCustomerTickets', { customerId: NORTHWIND, limit: 3 });
    expect(result.isError).toBeFalsy();
    expectMatchesOutputSchema('listCustomerTickets', result);
    const items = (result.structuredContent as { items: Record<string, unknown>[] }).items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThanOrEqual(3);
    const northwindTickets = [...h.backend.store.tickets.values()].filter((t) => t.customerId === NORTHWIND).map((t) => t.id);
    for (const item of items) expect(northwindTickets).toContain(item.id);
  });

  it('publishDraft (approved) publishes the draft', async () => {
    const result = await h.callTool(client, 'publishDraft', { filename: DRAFT });
    expect(result.isError, textOf(result)).toBeFalsy();
    expectMatchesOutputSchema('publishDraft', result);
    expect(result.structuredContent).toMatchObject({ slug: 'q3-pricing-update', title: 'Q3 pricing update', status: 'live' });
    expect(h.backend.store.events.publications).toHaveLength(1);
    expect(h.backend.store.events.publications[0]).toMatchObject({ filename: DRAFT, notifySubscribers: false });
  });

  it('addTicketNote (approved) adds an internal note', async () => {
    const body = 'Called the customer; the scheduled post went out at 9:05.';
    const result = await h.callTool(client, 'addTicketNote', { ticketId: OPEN_TICKET, body });
    expect(result.isError, textOf(result)).toBeFalsy();
    expectMatchesOutputSchema('addTicketNote', result);
    expect(result.structuredContent).toMatchObject({ ticketId: OPEN_TICKET, visibility: 'internal' });
    const notes = h.backend.store.notes.get(OPEN_TICKET)!;
    expect(notes.at(-1)).toMatchObject({ id: (result.structuredContent as { id: string }).id, body, visibility: 'internal' });
  });

  it('a missing target is an actionable isError naming the finder tool', async () => {
    const result = await h.callTool(client, 'getDraft', { filename: 'no-such-draft.md' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe("Not found: filename 'no-such-draft.md' does not exist. Call listDrafts to find valid values.");
  });

  it('a backend conflict is an isError saying nothing changed', async () => {
    const result = await h.callTool(client, 'addTicketNote', { ticketId: 'tkt_100002', body: 'Closed already?' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Conflict: ticketId 'tkt_100002' .*Nothing was changed/);
  });
});

describe('least data out', () => {
  it('getCustomerSummary shows none of the customer’s contact, billing, payment, notes or key data', async () => {
    for (const id of [NORTHWIND, 'cus_PebbleTwig01']) {
      const customer = h.backend.store.customers.get(id)!;
      const pii = piiOf(customer);
      expect(pii).toEqual(expect.arrayContaining([customer.contact.email, customer.contact.phone, customer.internalNotes]));
      const result = await h.callTool(client, 'getCustomerSummary', { customerId: id });
      expect(result.isError).toBeFalsy();
      const whole = JSON.stringify(result);
      for (const value of pii) expect(whole, `${id} leaks ${value}`).not.toContain(value);
    }
  });

  it('searchCustomers shows none of the PII of any customer it returns', async () => {
    const results = [
      await h.callTool(client, 'searchCustomers', { q: 'Northwind' }),
      await h.callTool(client, 'searchCustomers', { limit: 25 }),
      await h.callTool(client, 'searchCustomers', { status: 'past_due', limit: 25 }),
    ];
    let checked = 0;
    for (const result of results) {
      expect(result.isError).toBeFalsy();
      const whole = JSON.stringify(result);
      for (const item of (result.structuredContent as { items: { id: string }[] }).items) {
        for (const value of piiOf(h.backend.store.customers.get(item.id)!)) expect(whole, `${item.id} leaks ${value}`).not.toContain(value);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(25);
  });
});

describe('per-operation backend tokens (client credentials)', () => {
  it('each call carries a token with exactly its operation’s scopes, issued to Deputy, never the caller’s', async () => {
    const alice = await h.connect({ subject: 'alice', onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
    const seen = [];
    for (const [tool, args] of HAPPY_CALLS) {
      h.backend.requestLog.clear();
      const result = await h.callTool(alice, tool, args);
      expect(result.isError, `${tool}: ${textOf(result)}`).toBeFalsy();
      const entries = h.backend.requestLog.entries().filter((e) => e.operationId !== null);
      seen.push(...h.backend.requestLog.entries());
      expect(entries.map((e) => e.operationId), tool).toEqual(OPERATIONS_OF[tool]);
      for (const entry of entries) {
        const operationId = entry.operationId!;
        expect(entry.scopes, `${tool} → ${operationId}`).toEqual(SCOPES_OF[operationId]);
        expect(entry.scopes).toEqual(h.backend.spec.getOperation(operationId).requiredScopes);
        // Client credentials: the token is Deputy's own (sub = client_id), not alice's.
        expect(entry).toMatchObject({ tokenKind: 'jwt', clientId: 'deputy', subject: 'deputy' });
        expect(entry.actor).toBeUndefined();
        expect(entry.status).toBeGreaterThanOrEqual(200);
        expect(entry.status).toBeLessThan(300);
      }
    }
    // No backend request, token endpoint calls included, carried the agent's identity...
    expect(seen.length).toBeGreaterThanOrEqual(8);
    for (const entry of seen) {
      expect(entry.subject).not.toBe('alice');
      expect(entry.clientId).not.toBe('deputy-dev-agent');
    }
    // ...and every token the backend was shown came from Deputy's token endpoint client, never an agent token.
    for (const token of h.issuedTokens) expect(h.backendTokens).not.toContain(token);
  });

  it('writes carry an Idempotency-Key derived from the action, reads carry none', async () => {
    await h.callTool(client, 'listDrafts', { limit: 1 });
    await h.callTool(client, 'publishDraft', { filename: DRAFT });
    const [read] = h.backend.requestLog.forOperation('listDrafts');
    const [write] = h.backend.requestLog.forOperation('publishDraft');
    expect(read!.idempotencyKey).toBeUndefined();
    expect(write!.idempotencyKey).toMatch(/^deputy-[A-Za-z0-9_-]{43}$/);
  });
});

describe('audit', () => {
  it('one line per call with correlation id, caller, session, tool, redacted arguments and their hash, approval, backend status, outcome', async () => {
    const auditor = await h.connect({ subject: 'sam', onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
    const sessionId = (auditor.transport as StreamableHTTPClientTransport).sessionId;
    expect(sessionId).toEqual(expect.any(String));
    const before = h.auditRaw.length;
    const note = { ticketId: OPEN_TICKET, body: 'Customer says the invoice is fine now.' };
    await h.callTool(auditor, 'addTicketNote', note);
    await h.callTool(auditor, 'getCustomerSummary', { customerId: NORTHWIND });
    await h.callTool(auditor, 'getDraft', { filename: '../etc/passwd.md' });
    await h.callTool(auditor, 'getDraft', { filename: 'no-such-draft.md' });
    const lines = h.auditLines().slice(before);
    expect(lines).toHaveLength(4);
    const [write, read, invalid, missing] = lines as [typeof lines[0], typeof lines[0], typeof lines[0], typeof lines[0]];

    for (const line of lines) {
      expect(line.event).toBe('tool_call');
      expect(line.correlationId).toMatch(/^[0-9a-f]{32}$/);
      expect(line.caller).toEqual({ subject: 'sam', clientId: 'deputy-dev-agent' });
      expect(line.sessionId).toBe(sessionId);
      expect(Date.parse(line.time)).not.toBeNaN();
      expect(line.durationMs).toEqual(expect.any(Number));
    }
    expect(new Set(lines.map((l) => l.correlationId)).size).toBe(4);

    const canonical = JSON.stringify({ body: note.body, ticketId: note.ticketId }); // keys sorted
    expect(write).toMatchObject({
      tool: 'addTicketNote',
      risk: 'write',
      arguments: { ticketId: OPEN_TICKET, body: '[REDACTED]' },
      argumentsSha256: createHash('sha256').update(canonical).digest('hex'),
      approval: 'accepted',
      backend: { status: 201, errorCode: null },
      outcome: 'ok',
    });
    expect(JSON.stringify(write)).not.toContain(note.body);
    expect(read).toMatchObject({
      tool: 'getCustomerSummary', risk: 'read', arguments: { customerId: NORTHWIND }, approval: 'not_required',
      backend: { status: 200 }, outcome: 'ok', result: { items: null, redactions: 0, truncated: false },
    });
    expect(read.result!.bytes).toBeGreaterThan(0);
    expect(invalid).toMatchObject({ tool: 'getDraft', arguments: null, approval: 'not_reached', backend: null, outcome: 'invalid_input' });
    expect(missing).toMatchObject({ tool: 'getDraft', arguments: { filename: 'no-such-draft.md' }, backend: { status: 404, errorCode: 'BACKEND_NOT_FOUND' }, outcome: 'tool_error' });
  });
});

describe('secrets', () => {
  it('no agent token, backend token or client secret appears in any log line, audit line or tool result', () => {
    expect(h.results.length).toBeGreaterThan(20);
    expect(h.backendTokens.length).toBeGreaterThanOrEqual(5); // one per scope set
    expect(findLeaks(h)).toEqual([]);
  });
});
