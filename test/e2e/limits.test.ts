/**
 * Limits everywhere (src/README.md D10, "Quotas"), over HTTP with the SDK client: per-user
 * quotas stop a thrashing agent before it reaches the backend and cannot be dodged by opening
 * another session; one user's sessions cannot use up the global session cap; idle sessions
 * expire; concurrent sessions never see each other's data.
 *
 * Each test acts as its own subject, so the quota counters of one test never meet another's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findLeaks, jsonRpcMessages, setup, textOf, type Harness } from '../helpers/deputy.ts';

const CALLS = 6;
const READ_TOOL_CALLS = 4;
const WRITE_TOOL_CALLS = 2;
const IN_FLIGHT = 2;
const MAX_SESSIONS = 12;
const USER_SESSIONS = 3;
const WINDOW_SECONDS = 60; // long enough that no window rolls over during a test

let h: Harness;

beforeAll(async () => {
  h = await setup({
    env: {
      DEPUTY_QUOTA_WINDOW_SECONDS: String(WINDOW_SECONDS),
      DEPUTY_QUOTA_CALLS: String(CALLS),
      DEPUTY_QUOTA_READ_TOOL_CALLS: String(READ_TOOL_CALLS),
      DEPUTY_QUOTA_WRITE_TOOL_CALLS: String(WRITE_TOOL_CALLS),
      DEPUTY_QUOTA_IN_FLIGHT: String(IN_FLIGHT),
      DEPUTY_QUOTA_SESSIONS: String(USER_SESSIONS),
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

const initialize = (id: number | string) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'quota-e2e', version: '1' } },
});

describe('per-user call quotas', () => {
  it('calls per window: the call over the quota is an isError naming it and when to retry, and never reaches the backend', async () => {
    const client = await h.connect({ subject: 'calls-user' });
    const tools = ['listDrafts', 'listDrafts', 'listDrafts', 'getDraft', 'getDraft', 'getDraft'];
    for (const tool of tools) {
      const args = tool === 'listDrafts' ? { limit: 1 } : { filename: 'q3-pricing-update.md' };
      expect((await h.callTool(client, tool, args)).isError).toBeFalsy();
    }
    const over = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(over.isError).toBe(true);
    expect(textOf(over)).toMatch(
      new RegExp(`^Quota reached \\(calls\\): this user may start ${CALLS} tool calls per ${WINDOW_SECONDS} s, all tools and sessions together\\. Nothing was done; retry after (\\d+) s\\.$`),
    );
    const retryAfter = Number(/retry after (\d+) s/.exec(textOf(over))![1]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(h.backend.requestLog.forOperation('listDrafts')).toHaveLength(3);
    expect(h.auditLines().at(-1)).toMatchObject({ outcome: 'quota_exceeded', backend: null, caller: { subject: 'calls-user' } });
  });

  it('a new session does not reset the user’s call quota; another user is not affected', async () => {
    const first = await h.connect({ subject: 'session-hopper' });
    for (let i = 0; i < CALLS; i++) {
      const tool = i % 2 === 0 ? 'listDrafts' : 'getDraft';
      expect((await h.callTool(first, tool, tool === 'listDrafts' ? { limit: 1 } : { filename: 'q3-pricing-update.md' })).isError).toBeFalsy();
    }
    await first.close(); // the session is gone; the quota is the user's, not the session's
    const second = await h.connect({ subject: 'session-hopper' });
    const refused = await h.callTool(second, 'getDraft', { filename: 'q3-pricing-update.md' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/^Quota reached \(calls\)/);

    const other = await h.connect({ subject: 'bystander' });
    expect((await h.callTool(other, 'getDraft', { filename: 'q3-pricing-update.md' })).isError).toBeFalsy();
  });

  it('per tool: a read tool has its own quota within the overall one', async () => {
    const client = await h.connect({ subject: 'one-tool-user' });
    for (let i = 0; i < READ_TOOL_CALLS; i++) expect((await h.callTool(client, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
    const over = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(textOf(over)).toMatch(new RegExp(`^Quota reached \\(listDrafts calls\\): this user may start listDrafts ${READ_TOOL_CALLS} times per ${WINDOW_SECONDS} s\\. Nothing was done; retry after \\d+ s\\.$`));
    // Other tools are still open to them.
    expect((await h.callTool(client, 'getDraft', { filename: 'q3-pricing-update.md' })).isError).toBeFalsy();
    expect(h.backend.requestLog.forOperation('listDrafts')).toHaveLength(READ_TOOL_CALLS);
  });

  it('per tool: writes are tighter than reads by default', async () => {
    // No elicitation on this client: each write is refused after its quota is counted, before any backend call.
    const client = await h.connect({ subject: 'writer' });
    for (let i = 0; i < WRITE_TOOL_CALLS; i++) {
      expect(textOf(await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' }))).toMatch(/needs a human's approval/);
    }
    const over = await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' });
    expect(textOf(over)).toMatch(new RegExp(`^Quota reached \\(publishDraft calls\\): this user may start publishDraft ${WRITE_TOOL_CALLS} times per`));
    expect(WRITE_TOOL_CALLS).toBeLessThan(READ_TOOL_CALLS);
  });

  it('calls in flight count across the user’s sessions; a slot is free again once a call ends', async () => {
    const sessions = await Promise.all([1, 2, 3].map(() => h.connect({ subject: 'busy-user' })));
    h.backend.faults.set('listDrafts', { kind: 'delay', ms: 1_000, count: IN_FLIGHT });
    const slow = sessions.slice(0, IN_FLIGHT).map((client) => h.callTool(client, 'listDrafts', { limit: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // both calls are now waiting on the backend
    const third = await h.callTool(sessions[2]!, 'getDraft', { filename: 'q3-pricing-update.md' });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toBe(`Quota reached (calls in flight): this user already has ${IN_FLIGHT} tool calls running, across all sessions. Nothing was done; wait for one to finish, then retry.`);
    expect(h.backend.requestLog.forOperation('getDraft')).toEqual([]);
    for (const result of await Promise.all(slow)) expect(result.isError).toBeFalsy();
    expect((await h.callTool(sessions[2]!, 'getDraft', { filename: 'q3-pricing-update.md' })).isError).toBeFalsy();
  });
});

describe('sessions', () => {
  // Sessions of earlier tests idle out first (1 s, swept every second), so each test starts from none.
  beforeEach(async () => {
    await expect.poll(() => h.deputy.sessions.size, { timeout: 5_000, interval: 100 }).toBe(0);
  });

  it('concurrent sessions each get their own record', async () => {
    const ids = [...h.backend.store.customers.keys()].slice(0, 8);
    const clients = await Promise.all(ids.map((_, i) => h.connect({ scopes: ['customers:read'], subject: `reader-${i}` })));
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
    const token = await h.agentToken(undefined, 'idler');
    const sessionId = await h.openSession(token);
    const list = { jsonrpc: '2.0', id: 9, method: 'tools/list' };
    const alive = await h.post(list, { token, sessionId });
    expect(alive.status).toBe(200);
    await alive.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 2_200)); // idle 1 s, swept every second
    const expired = await h.post(list, { token, sessionId });
    expect(expired.status).toBe(404);
  });

  it('one user cannot hold more than their share of the session cap: 429 with Retry-After, naming the quota; another user still gets a session', async () => {
    const hog = await h.agentToken(undefined, 'session-hog');
    for (let i = 0; i < USER_SESSIONS; i++) await h.openSession(hog);
    const refused = await h.post(initialize('init-over'), { token: hog });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(1); // the hog's sessions idle out within DEPUTY_SESSION_IDLE_SECONDS
    expect(await refused.json()).toEqual({
      jsonrpc: '2.0',
      id: 'init-over',
      error: { code: -32000, message: expect.stringMatching(new RegExp(`^Quota reached \\(open sessions\\): this user already has ${USER_SESSIONS} open sessions\\. Reuse one, close one`)) },
    });
    expect(h.deputy.sessions.size).toBe(USER_SESSIONS);

    const neighbour = await h.agentToken(undefined, 'neighbour');
    expect(await h.openSession(neighbour)).toEqual(expect.any(String));
  });

  it('a session closed with DELETE gives its slot back at once', async () => {
    const token = await h.agentToken(undefined, 'closer');
    const ids = [];
    for (let i = 0; i < USER_SESSIONS; i++) ids.push(await h.openSession(token));
    const full = await h.post(initialize(1), { token });
    expect(full.status).toBe(429);
    await full.body?.cancel();
    const closed = await fetch(h.deputy.url, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': ids[0]!, 'mcp-protocol-version': '2025-06-18' } });
    expect(closed.status).toBe(200);
    const again = await h.post(initialize(2), { token });
    expect(again.status).toBe(200);
    expect(await jsonRpcMessages(again)).toHaveLength(1);
  });

  it('the number of open sessions is still capped for everyone: initialize beyond it → 503', async () => {
    for (let user = 0; user < MAX_SESSIONS / USER_SESSIONS; user++) {
      const token = await h.agentToken(undefined, `filler-${user}`);
      for (let i = 0; i < USER_SESSIONS; i++) await h.openSession(token);
    }
    const init = await h.post(initialize(1), { token: await h.agentToken(undefined, 'latecomer') });
    expect(init.status).toBe(503);
    expect(await init.json()).toMatchObject({ error: { message: 'Too many open sessions; try again later' } });
  });
});

describe('secrets', () => {
  it('no token or client secret in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
