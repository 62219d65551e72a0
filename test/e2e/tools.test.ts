import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup, textOf, type Harness } from '../helpers/deputy.ts';

let h: Harness;
beforeAll(async () => {
  h = await setup();
});
afterAll(async () => {
  await h?.teardown();
});

describe('tools over Streamable HTTP with the real SDK client', () => {
  it('lists the seven tools for a caller with every scope', async () => {
    const client = await h.connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'addTicketNote', 'getCustomerSummary', 'getDraft', 'listCustomerTickets', 'listDrafts', 'publishDraft', 'searchCustomers',
    ]);
  });

  it('listDrafts returns projected summaries', async () => {
    const client = await h.connect();
    const result = await h.callTool(client, 'listDrafts', { limit: 5 });
    expect(result.isError).toBeFalsy();
    const data = result.structuredContent as { items: Record<string, unknown>[]; nextCursor: string | null };
    expect(data.items).toHaveLength(5);
    for (const item of data.items) expect(Object.keys(item).sort()).toEqual(['author', 'filename', 'status', 'title', 'updatedAt', 'wordCount']);
    expect(textOf(result)).toContain('Data from the admin backend');
  });
});
