/**
 * The isolation property of the throughput benchmark, as a test: concurrent agent sessions (and
 * concurrent calls on one session) each asking for a different customer always get their own.
 * Runs the bench's load core (bench/lib/load.ts) for about a second at concurrency 2, with
 * Deputy and the mock backend in-process (the bench runs them as separate processes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMERS } from '../../bench/lib/agents.ts';
import { callSummary, deputyWorkers, runLoad, type Worker } from '../../bench/lib/load.ts';
import { setup, type Harness } from '../helpers/deputy.ts';

describe('bench smoke: no cross-session data under concurrent load', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup({
      env: { DEPUTY_LOG_LEVEL: 'warn' },
      backend: { rateLimit: { limit: 1_000_000_000, windowSeconds: 1 } },
    });
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('2 sessions, one call in flight each: every answer is the session’s own customer', async () => {
    const clients = [await h.connect({ scopes: ['customers:read'] }), await h.connect({ scopes: ['customers:read'] })];
    const load = await runLoad(deputyWorkers(clients, 1, CUSTOMERS), { durationMs: 600 });
    expect(load.exceptions).toEqual([]);
    expect({ mismatches: load.mismatches, errors: load.errors }).toEqual({ mismatches: 0, errors: 0 });
    expect(load.ok).toBeGreaterThanOrEqual(4);
  });

  it('1 session, 2 calls in flight: every answer is its own call’s customer', async () => {
    const client = await h.connect({ scopes: ['customers:read'] });
    const load = await runLoad(deputyWorkers([client], 2, CUSTOMERS.slice(5)), { durationMs: 600 });
    expect(load.exceptions).toEqual([]);
    expect({ mismatches: load.mismatches, errors: load.errors }).toEqual({ mismatches: 0, errors: 0 });
    expect(load.ok).toBeGreaterThanOrEqual(4);
  });

  it('the check itself catches a mixed-up answer', async () => {
    const client = await h.connect({ scopes: ['customers:read'] });
    const [asked, expected] = [CUSTOMERS[0]!, CUSTOMERS[1]!];
    // Asks for one customer but is checked against another: what cross-talk would look like.
    const crossed: Worker = { customer: expected, call: () => callSummary(client, { ...expected, id: asked.id }) };
    expect(await callSummary(client, expected)).toBe('ok');
    const load = await runLoad([crossed], { maxCalls: 2 });
    expect(load.mismatches).toBe(2);
  });
});
