/**
 * Limits everywhere (src/README.md D10): per-session budgets stop a
 * thrashing agent before it reaches the backend, the number of open sessions is capped, idle
 * sessions expire, and concurrent sessions never see each other's data.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

const PER_MINUTE = 5;
const MAX_SESSIONS = 12;

let h: Harness;

beforeAll(async () => {
  h = await setup({
    env: {
      DEPUTY_SESSION_CALLS_PER_MINUTE: String(PER_MINUTE),
      DEPUTY_SESSION_MAX_IN_FLIGHT: '1',
      DEPUTY_MAX_SESSIONS: String(MAX_SESSIONS),
      DEPUTY_SESSION_IDLE_SECONDS: '1',
    },
  });
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
});

describe('per-session budgets', () => {
  it('calls per minute: the call over the budget is an isError with a wait, and never reaches the backend', async () => {
    const client = await h.connect();
    for (let i = 0; i < PER_MINUTE; i++) expect((await h.callTool(client, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
    const over = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(over.isError).toBe(true);
    expect(textOf(over)).toMatch(/^This session has made too many calls in the last minute; retry after \d+ s\.$/);
    expect(h.backend.requestLog.forOperation('listDrafts')).toHaveLength(PER_MINUTE);
    expect(h.auditLines().at(-1)).toMatchObject({ outcome: 'budget_exceeded', backend: null });

    // Another session has its own budget.
    const other = await h.connect();
    expect((await h.callTool(other, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
  });

  it('calls in flight: a second call while one is running is refused at once', async () => {
    const client = await h.connect();
    h.backend.faults.set('listDrafts', { kind: 'delay', ms: 400, count: 1 });
    const slow = h.callTool(client, 'listDrafts', { limit: 1 });
    await new Promise((resolve) => setTimeout(resolve, 150)); // the first call is now waiting on the backend
    const second = await h.callTool(client, 'getDraft', { filename: 'q3-pricing-update.md' });
    expect(second.isError).toBe(true);
    expect(textOf(second)).toBe('Too many calls are already running in this session; wait for them to finish before starting another.');
    expect((await slow).isError).toBeFalsy();
    expect(h.backend.requestLog.forOperation('getDraft')).toEqual([]);
    // Once the first is done, the session may call again.
    expect((await h.callTool(client, 'getDraft', { filename: 'q3-pricing-update.md' })).isError).toBeFalsy();
  });
});

describe('sessions', () => {
  it('concurrent sessions each get their own record', async () => {
    const ids = [...h.backend.store.customers.keys()].slice(0, 8);
    const clients = await Promise.all(ids.map(() => h.connect({ scopes: ['customers:read'] })));
    // Sessions run side by side; within one session calls go one at a time (this harness allows one in flight).
    const perSession = await Promise.all(
      ids.map(async (id, i) => {
        const got = [];
        for (let n = 0; n < 3; n++) got.push([id, await h.callTool(clients[i]!, 'getCustomerSummary', { customerId: id })] as const);
        return got;
      }),
    );
    for (const [id, result] of perSession.flat()) {
      expect(result.isError, textOf(result)).toBeFalsy();
      expect((result.structuredContent as { id: string }).id).toBe(id);
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  it('an idle session expires and is then not found', async () => {
    const token = await h.agentToken();
    const sessionId = await h.openSession(token);
    const list = { jsonrpc: '2.0', id: 9, method: 'tools/list' };
    const alive = await h.post(list, { token, sessionId });
    expect(alive.status).toBe(200);
    await alive.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 2_200)); // idle 1 s, swept every second
    const expired = await h.post(list, { token, sessionId });
    expect(expired.status).toBe(404);
  });

  it('the number of open sessions is capped: initialize beyond it → 503', async () => {
    await expect.poll(() => h.deputy.sessions.size, { timeout: 5_000, interval: 250 }).toBe(0); // idle ones expired
    const token = await h.agentToken();
    for (let i = 0; i < MAX_SESSIONS; i++) await h.openSession(token);
    const init = await h.post(
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'one-too-many', version: '1' } } },
      { token },
    );
    expect(init.status).toBe(503);
    expect(await init.json()).toMatchObject({ error: { message: 'Too many open sessions; try again later' } });
  });
});

describe('secrets', () => {
  it('no token or client secret in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
