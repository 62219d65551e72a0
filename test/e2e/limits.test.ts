/**
 * Limits everywhere (src/README.md D10, "Quotas"), over HTTP with the SDK client: per-user
 * quotas stop a thrashing agent before it reaches the backend and cannot be dodged by opening
 * another session; one user's sessions cannot use up the global session cap; idle sessions
 * expire; concurrent sessions never see each other's data.
 *
 * Each test acts as its own subject, so the quota counters of one test never meet another's.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findLeaks, jsonRpcMessages, setup, textOf, type Harness } from '../helpers/deputy.ts';

const CALLS = 6;
const READ_TOOL_CALLS = 4;
const WRITE_TOOL_CALLS = 2;
const IN_FLIGHT = 2;
const MAX_SESSIONS = 12;
const USER_SESSIONS = 3;
const WINDOW_SECONDS = 60; // long enough that no window rolls over during a test
const IDLE_SECONDS = 120;

let h: Harness;

beforeAll(async () => {
  h = await setup({
    env: {
      DEPUTY_QUOTA_WINDOW_SECONDS: String(WINDOW_SECONDS),
      DEPUTY_QUOTA_CALLS: String(CALLS),
      DEPUTY_QUOTA_READ_TOOL_CALLS: String(READ_TOOL_CALLS),
      DEPUTY_QUOTA_WRITE_TOOL_CALLS: String(WRITE_TOOL_CALLS),
      DEPUTY_QUOTA_IN_FLIGHT: String(IN_FLIGHT),
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
    h.backend.faults.set('listDrafts', { kind: 'delay', ms: 3_000, count: IN_FLIGHT });
    const slow = sessions.slice(0, IN_FLIGHT).map((client) => h.callTool(client, 'listDrafts', { limit: 1 }));
    // Both delays armed are taken once both calls are waiting on the backend, past their quota step.
    await expect.poll(() => h.backend.faults.list().listDrafts, { timeout: 10_000, interval: 20 }).toBeUndefined();
    const third = await h.callTool(sessions[2]!, 'getDraft', { filename: 'q3-pricing-update.md' });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toBe(`Quota reached (calls in flight): this user already has ${IN_FLIGHT} tool calls running, across all sessions. Nothing was done; wait for one to finish, then retry.`);
    expect(h.backend.requestLog.forOperation('getDraft')).toEqual([]);
    for (const result of await Promise.all(slow)) expect(result.isError).toBeFalsy();
    expect((await h.callTool(sessions[2]!, 'getDraft', { filename: 'q3-pricing-update.md' })).isError).toBeFalsy();
  });
});

const SESSION_ENV = {
  DEPUTY_QUOTA_SESSIONS: String(USER_SESSIONS),
  DEPUTY_MAX_SESSIONS: String(MAX_SESSIONS),
  // Far longer than any test: no session idles out while a slow machine runs it.
  DEPUTY_SESSION_IDLE_SECONDS: String(IDLE_SECONDS),
};

describe('sessions', () => {
  // A fresh Deputy per test: each starts with no open session, whatever the others left.
  let s: Harness;
  beforeEach(async () => {
    s = await setup({ env: SESSION_ENV });
  });
  afterEach(async () => {
    expect(findLeaks(s)).toEqual([]);
    await s.teardown();
  });

  it('concurrent sessions each get their own record', async () => {
    const ids = [...s.backend.store.customers.keys()].slice(0, 8);
    const clients = await Promise.all(ids.map((_, i) => s.connect({ scopes: ['customers:read'], subject: `reader-${i}` })));
    const perSession = await Promise.all(
      ids.map(async (id, i) => {
        const got = [];
        for (let n = 0; n < 3; n++) got.push([id, await s.callTool(clients[i]!, 'getCustomerSummary', { customerId: id })] as const);
        return got;
      }),
    );
    for (const [id, result] of perSession.flat()) {
      expect(result.isError, textOf(result)).toBeFalsy();
      expect((result.structuredContent as { id: string }).id).toBe(id);
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  it('one user cannot hold more than their share of the session cap: 429 with Retry-After, naming the quota; another user still gets a session', async () => {
    const hog = await s.agentToken(undefined, 'session-hog');
    for (let i = 0; i < USER_SESSIONS; i++) await s.openSession(hog);
    const refused = await s.post(initialize('init-over'), { token: hog });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    // When the hog's soonest session idles out: just opened, so about DEPUTY_SESSION_IDLE_SECONDS.
    expect(retryAfter).toBeGreaterThan(IDLE_SECONDS - 30);
    expect(retryAfter).toBeLessThanOrEqual(IDLE_SECONDS);
    expect(await refused.json()).toEqual({
      jsonrpc: '2.0',
      id: 'init-over',
      error: { code: -32000, message: expect.stringMatching(new RegExp(`^Quota reached \\(open sessions\\): this user already has ${USER_SESSIONS} open sessions\\. Reuse one, close one`)) },
    });
    expect(s.deputy.sessions.size).toBe(USER_SESSIONS);

    const neighbour = await s.agentToken(undefined, 'neighbour');
    expect(await s.openSession(neighbour)).toEqual(expect.any(String));
  });

  it('concurrent initializes cannot slip past the session quota together', async () => {
    const token = await s.agentToken(undefined, 'burst-user');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => s.post(initialize(`burst-${i}`), { token })));
    const statuses = answers.map((answer) => answer.status);
    await Promise.all(answers.map((answer) => answer.body?.cancel() ?? Promise.resolve()));
    expect(statuses.filter((status) => status === 200)).toHaveLength(USER_SESSIONS);
    expect(statuses.filter((status) => status === 429)).toHaveLength(8 - USER_SESSIONS);
    expect(s.deputy.sessions.size).toBe(USER_SESSIONS);
  });

  it('a session closed with DELETE gives its slot back at once', async () => {
    const token = await s.agentToken(undefined, 'closer');
    const ids = [];
    for (let i = 0; i < USER_SESSIONS; i++) ids.push(await s.openSession(token));
    const full = await s.post(initialize(1), { token });
    expect(full.status).toBe(429);
    await full.body?.cancel();
    const closed = await fetch(s.deputy.url, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': ids[0]!, 'mcp-protocol-version': '2025-06-18' } });
    expect(closed.status).toBe(200);
    const again = await s.post(initialize(2), { token });
    expect(again.status).toBe(200);
    expect(await jsonRpcMessages(again)).toHaveLength(1);
  });

  it('the number of open sessions is still capped for everyone: initialize beyond it → 503', async () => {
    for (let user = 0; user < MAX_SESSIONS / USER_SESSIONS; user++) {
      const token = await s.agentToken(undefined, `filler-${user}`);
      for (let i = 0; i < USER_SESSIONS; i++) await s.openSession(token);
    }
    const init = await s.post(initialize(1), { token: await s.agentToken(undefined, 'latecomer') });
    expect(init.status).toBe(503);
    expect(await init.json()).toMatchObject({ error: { message: 'Too many open sessions; try again later' } });
  });
});

describe('idle sessions', () => {
  it('an idle session expires and is then not found', async () => {
    const i = await setup({ env: { DEPUTY_SESSION_IDLE_SECONDS: '1' } });
    try {
      const token = await i.agentToken(undefined, 'idler');
      const sessionId = await i.openSession(token);
      const list = { jsonrpc: '2.0', id: 9, method: 'tools/list' };
      const alive = await i.post(list, { token, sessionId });
      expect(alive.status).toBe(200);
      await alive.body?.cancel();
      // Idle 1 s, swept every second; waiting on the registry, not a fixed sleep, keeps this
      // independent of how busy the machine is (a request now would restart the idle clock).
      await expect.poll(() => i.deputy.sessions.size, { timeout: 10_000, interval: 100 }).toBe(0);
      const expired = await i.post(list, { token, sessionId });
      expect(expired.status).toBe(404);
      await expired.body?.cancel();
    } finally {
      await i.teardown();
    }
  });
});

describe('secrets', () => {
  it('no token or client secret in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
