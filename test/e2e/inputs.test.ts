/**
 * Bad inputs never reach the backend: each is an `isError` result with a short message, and the
 * mock's request log proves no request was made. An unknown tool is protocol misuse: McpError.
 *
 * The request body cap is raised here so a 1 MB argument reaches the tool's own validation (the
 * default cap answers 413 first; http.test.ts covers that).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

let h: Harness;
let client: Client;
let elicitations = 0;

beforeAll(async () => {
  h = await setup({ env: { DEPUTY_MAX_BODY_BYTES: String(4 * 1024 * 1024) } });
  client = await h.connect({
    onElicit: () => {
      elicitations++;
      return { action: 'accept', content: { confirm: true } };
    },
  });
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
  elicitations = 0;
});

const ONE_MB = 'a'.repeat(1024 * 1024);

const BAD_INPUTS: readonly [tool: string, args: Record<string, unknown>, why: string][] = [
  // Traversal and encoded traversal in path parameters.
  ['getDraft', { filename: '../secrets.md' }, 'dot-dot segment'],
  ['getDraft', { filename: '..%2f..%2fx.md' }, 'encoded slashes'],
  ['getDraft', { filename: '%2e%2e.md' }, 'encoded dots'],
  ['getDraft', { filename: 'a/b.md' }, 'slash'],
  ['getDraft', { filename: 'a\\b.md' }, 'backslash'],
  ['getDraft', { filename: '..' }, 'bare dot-dot'],
  ['getDraft', { filename: 'q3-pricing-update.md\u0000.txt' }, 'NUL byte'],
  ['getDraft', { filename: 'q3-pricing-update.md?x=1' }, 'query smuggling'],
  ['publishDraft', { filename: '../q3-pricing-update.md' }, 'traversal on a write'],
  ['getCustomerSummary', { customerId: 'cus_Northwind001/../../admin' }, 'traversal after a valid id'],
  ['listCustomerTickets', { customerId: '..%2Fcustomers' }, 'encoded traversal in an id'],
  ['addTicketNote', { ticketId: 'tkt_100001/../tkt_100002', body: 'x' }, 'traversal on a write target'],
  // Unicode look-alikes.
  ['getDraft', { filename: 'ｑ3-pricing-update.md' }, 'fullwidth q'],
  ['getDraft', { filename: 'q3-prіcing-update.md' }, 'Cyrillic і'],
  ['getDraft', { filename: 'q3-pricing-updаte.md' }, 'Cyrillic а'],
  ['getCustomerSummary', { customerId: 'cus_Northwind００1' }, 'fullwidth digits'],
  ['publishDraft', { filename: 'q3-pricing-update\u2024md' }, 'one-dot leader instead of a dot'],
  // Wrong types.
  ['getDraft', { filename: 42 }, 'number for a string'],
  ['getDraft', { filename: ['q3-pricing-update.md'] }, 'array for a string'],
  ['getDraft', { filename: null }, 'null'],
  ['listDrafts', { limit: '5' }, 'string for an integer'],
  ['listDrafts', { limit: 2.5 }, 'fraction for an integer'],
  ['listDrafts', { status: 'deleted' }, 'value outside the enum'],
  ['searchCustomers', { q: { $ne: '' } }, 'object for a string'],
  // Extra fields.
  ['listDrafts', { limit: 5, admin: true }, 'unknown field'],
  ['getDraft', { filename: 'q3-pricing-update.md', body: 'x' }, 'a field of another tool'],
  ['publishDraft', { filename: 'q3-pricing-update.md', confirm: true }, 'self-approval attempt'],
  ['publishDraft', { filename: 'q3-pricing-update.md', notifySubscribers: true }, 'a fixed value'],
  ['addTicketNote', { ticketId: 'tkt_100001', body: 'x', visibility: 'public' }, 'overriding a fixed value'],
  // Size.
  ['searchCustomers', { q: ONE_MB }, '1 MB string'],
  ['addTicketNote', { ticketId: 'tkt_100001', body: ONE_MB }, '1 MB note'],
  ['addTicketNote', { ticketId: 'tkt_100001', body: 'x'.repeat(2001) }, 'just over maxLength'],
  ['listDrafts', { cursor: 'A'.repeat(201) }, 'cursor over its bound'],
  // Missing required arguments, empty strings.
  ['getDraft', {}, 'missing filename'],
  ['addTicketNote', { ticketId: 'tkt_100001' }, 'missing body'],
  ['addTicketNote', { ticketId: 'tkt_100001', body: '' }, 'empty body'],
  ['searchCustomers', { q: '' }, 'empty query'],
  // Limits out of range.
  ['listDrafts', { limit: -1 }, 'negative limit'],
  ['listDrafts', { limit: 0 }, 'zero limit'],
  ['listDrafts', { limit: 51 }, 'limit over the maximum'],
  ['searchCustomers', { limit: 1_000_000 }, 'huge limit'],
  ['listCustomerTickets', { customerId: 'cus_Northwind001', limit: 21 }, 'limit over the maximum'],
];

describe('bad inputs are isError results and make no backend request', () => {
  it.each(BAD_INPUTS.map(([tool, args, why]) => ({ tool, args, why })))('$tool: $why', async ({ tool, args }) => {
    const before = h.backend.requestLog.entries().length;
    const result = await h.callTool(client, tool, args);
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^Invalid arguments: .+nothing was sent to the backend\.$/s);
    // Short, and never an echo of a huge or hostile value.
    expect(text.length).toBeLessThan(800);
    expect(result.structuredContent).toBeUndefined();
    expect(h.backend.requestLog.entries().length).toBe(before);
    expect(elicitations).toBe(0); // refused before any approval prompt
    expect(h.backend.store.events.publications).toEqual([]);
  });

  it('names the offending argument so the model can fix it', async () => {
    const traversal = textOf(await h.callTool(client, 'getDraft', { filename: '../secrets.md' }));
    expect(traversal).toContain('filename');
    const extra = textOf(await h.callTool(client, 'listDrafts', { limit: 5, admin: true }));
    expect(extra).toContain('admin');
    const limit = textOf(await h.callTool(client, 'listDrafts', { limit: 51 }));
    expect(limit).toContain('limit');
  });

  it('the audit trail records refused inputs without their values', () => {
    const refused = h.auditLines().filter((line) => line.outcome === 'invalid_input');
    expect(refused.length).toBeGreaterThanOrEqual(BAD_INPUTS.length);
    for (const line of refused) {
      expect(line.arguments).toBeNull();
      expect(line.backend).toBeNull();
    }
    expect(h.auditRaw.some((line) => line.includes(ONE_MB.slice(0, 5000)))).toBe(false);
  });

  it('valid look-alike neighbours of the refused inputs do reach the backend', async () => {
    // The control: the same tools with good arguments are not refused by the validation above.
    const ok = await h.callTool(client, 'getDraft', { filename: 'q3-pricing-update.md' });
    expect(ok.isError).toBeFalsy();
    const unicodeQuery = await h.callTool(client, 'searchCustomers', { q: 'Nörthwind/../..' });
    expect(unicodeQuery.isError).toBeFalsy(); // free text in a query parameter is data, encoded
    const entry = h.backend.requestLog.forOperation('searchCustomers').at(-1)!;
    expect(entry.path).toBe('/customers');
    expect(new URLSearchParams(entry.query).get('q')).toBe('Nörthwind/../..');
  });
});

describe('optional arguments the caller left unset', () => {
  const sent = (operationId: string) => new URLSearchParams(h.backend.requestLog.forOperation(operationId).at(-1)!.query);

  it('are not sent, though the spec default is advertised (listDrafts without limit sends no limit)', async () => {
    const listing = (await client.listTools()).tools.find((t) => t.name === 'listDrafts')!;
    expect((listing.inputSchema.properties as Record<string, { default?: unknown }>).limit?.default).toBe(20);
    const result = await h.callTool(client, 'listDrafts', {});
    expect(result.isError).toBeFalsy();
    expect([...sent('listDrafts').keys()]).toEqual([]);
    const chosen = await h.callTool(client, 'listDrafts', { limit: 7 });
    expect(chosen.isError).toBeFalsy();
    expect(sent('listDrafts').get('limit')).toBe('7');
  });

  it('are sent with the manifest default when the manifest gives one (searchCustomers limit 10)', async () => {
    const result = await h.callTool(client, 'searchCustomers', { q: 'north' });
    expect(result.isError).toBeFalsy();
    expect(sent('searchCustomers').get('limit')).toBe('10');
    expect(sent('searchCustomers').has('status')).toBe(false);
  });
});

describe('protocol misuse', () => {
  it('an unknown tool is a protocol error (McpError), not a tool result', async () => {
    const before = h.backend.requestLog.entries().length;
    const error = await client.callTool({ name: 'deleteCustomer', arguments: { customerId: 'cus_Northwind001' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).message).toContain('Unknown tool');
    expect(h.backend.requestLog.entries().length).toBe(before);
  });

  it('a tool name with traversal is unknown too', async () => {
    const error = await client.callTool({ name: '../listDrafts', arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
  });

  // The SDK checks each tools/call request against the spec once, before Deputy's handler (src/README.md D49).
  it.each([
    ['a name that is not a string', { name: 42, arguments: {} }],
    ['no name', { arguments: {} }],
    ['arguments that are a list', { name: 'listDrafts', arguments: ['limit', 7] }],
    ['arguments that are a string', { name: 'listDrafts', arguments: 'limit=7' }],
    ['a __proto__ argument', { name: 'listDrafts', arguments: JSON.parse('{"__proto__": {"limit": 7}}') }],
  ])('a tools/call with %s is refused by the SDK (-32602) before any tool code', async (_why, params) => {
    const before = h.backend.requestLog.entries().length;
    const error = await client.request({ method: 'tools/call', params }, CallToolResultSchema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).message).toMatch(/Invalid params: tools\/call takes params\.name/);
    expect(h.backend.requestLog.entries().length).toBe(before);
  });
});

describe('secrets', () => {
  it('no token or client secret in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
