/**
 * A fair share of the backend's rate limit (src/README.md, "Backend rate limits"), over real HTTP
 * with the real SDK client against the mock backend at its own limit of 60 requests per token.
 * Every caller of listDrafts shares Deputy's one `drafts:read` token, so the backend cannot tell
 * users apart; Deputy must. The window is 60 s rather than the mock's default 10 s so that a run
 * on a loaded machine (about 2 s alone) never spans two windows, which would make the counts
 * below depend on timing; a window's end is covered by test/unit/fairShare.test.ts.
 *
 * Strict about the backend: not one 429. Before Deputy has seen an answer for the window, the
 * gate lets everything through (it knows neither the limit nor the reset), so the first burst —
 * alice's 8 parallel calls, and bob's first if it lands then — is ungated, though counted once the
 * window is known; 9 of 60 cannot reach the limit, so no 429 is allowed even there. The control
 * run, with the gate off, shows the same load does reach the limit and locks bob out.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

const BACKEND_LIMIT = { limit: 60, windowSeconds: 60 };
const HEAVY_CALLS = 64;
const HEAVY_PARALLEL = 8;
const LIGHT_CALLS = 12;
const FAIR_SHARE_TEXT = /^The admin backend's rate limit is shared by every user, and this call would take more than your fair share of what is left in its current window; retry after (\d+) s\. Other users draw on the same limit, so this is not your usage alone\.$/;

/** The value of one sample line of /metrics, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** alice: 64 listDrafts calls, 8 at a time; bob, meanwhile: 12 calls one after another. */
async function heavyAndLight(h: Harness) {
  const alice = await h.connect({ subject: 'alice' });
  const bob = await h.connect({ subject: 'bob' });
  const call = (client: Client) => h.callTool(client, 'listDrafts', { limit: 1 });
  const aliceResults: CallToolResult[] = [];
  const bobResults: CallToolResult[] = [];
  const lane = async () => {
    for (let i = 0; i < HEAVY_CALLS / HEAVY_PARALLEL; i++) aliceResults.push(await call(alice));
  };
  const light = async () => {
    for (let i = 0; i < LIGHT_CALLS; i++) {
      bobResults.push(await call(bob));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const t0 = performance.now();
  await Promise.all([...Array.from({ length: HEAVY_PARALLEL }, lane), light()]);
  const ok = (results: CallToolResult[]) => results.filter((r) => !r.isError).length;
  console.info(`fair share: ${Math.round(performance.now() - t0)} ms; alice ${ok(aliceResults)}/${HEAVY_CALLS} ok, bob ${ok(bobResults)}/${LIGHT_CALLS} ok`);
  return { aliceResults, bobResults, statuses: h.backend.requestLog.forOperation('listDrafts').map((e) => e.status) };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.teardown();
  h = undefined;
});

describe("one user hammering does not use up another user's share of the backend's limit", () => {
  it('bob keeps succeeding, alice is held back with a retry time, the backend never answers 429', async () => {
    h = await setup({ backend: { rateLimit: BACKEND_LIMIT } });
    const { aliceResults, bobResults, statuses } = await heavyAndLight(h);

    expect(bobResults.filter((r) => r.isError).map(textOf)).toEqual([]);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses.length).toBeLessThanOrEqual(BACKEND_LIMIT.limit);

    const aliceOk = aliceResults.filter((r) => !r.isError).length;
    const refused = aliceResults.filter((r) => r.isError).map(textOf);
    expect(aliceOk + refused.length).toBe(HEAVY_CALLS);
    // Alice got real work done, and no more than half the window: a gated call needs
    // used < remaining = limit − used − bob's, and her ungated first burst counts in `used`.
    expect(aliceOk).toBeGreaterThanOrEqual(HEAVY_PARALLEL + 10);
    expect(aliceOk).toBeLessThanOrEqual(BACKEND_LIMIT.limit / 2);
    expect(refused.length).toBeGreaterThan(0);
    for (const text of refused) {
      const seconds = Number(FAIR_SHARE_TEXT.exec(text)?.[1]);
      expect(seconds, text).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(BACKEND_LIMIT.windowSeconds);
    }

    // Audited as its own outcome, before any backend request; counted by tool in /metrics.
    const audit = h.auditLines().filter((l) => l.outcome === 'fair_share_exceeded');
    expect(audit).toHaveLength(refused.length);
    expect(audit.every((l) => l.caller.subject === 'alice' && l.backend === null && l.tool === 'listDrafts')).toBe(true);
    const metrics = await (await fetch(h.deputy.url.replace(/\/mcp$/, '/metrics'))).text();
    expect(sample(metrics, 'deputy_fair_share_refusals_total', { tool: 'listDrafts' })).toBe(refused.length);
    // The gauge names the credential by scheme and scopes; what it says is left is what the backend said last.
    const remaining = sample(metrics, 'deputy_backend_rate_limit_remaining', { credential: 'adminAuth(drafts:read)' });
    expect(remaining).toBe(BACKEND_LIMIT.limit - statuses.length);
    expect(findLeaks(h, [metrics])).toEqual([]);
  });

  it('control, gate off (DEPUTY_BACKEND_FAIR_SHARE=1): the same load reaches the limit and bob is refused', async () => {
    h = await setup({ env: { DEPUTY_BACKEND_FAIR_SHARE: '1' }, backend: { rateLimit: BACKEND_LIMIT } });
    const { bobResults, statuses } = await heavyAndLight(h);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(bobResults.some((r) => r.isError && textOf(r).startsWith('The admin backend is rate limiting this operation'))).toBe(true);
  });

  it('token exchange: each user has a token of their own, so the backend counts them apart and the gate holds nothing back', async () => {
    h = await setup({ env: { DEPUTY_TOKEN_PROVIDER: 'token_exchange' }, backend: { rateLimit: { limit: 4, windowSeconds: 60 } } });
    // Fixture users the authorization server exchanges drafts:read for (mock-backend/fixtures/users.yaml).
    const alice = await h.connect({ subject: 'alice', scopes: ['drafts:read'] });
    const dana = await h.connect({ subject: 'dana', scopes: ['drafts:read'] });
    const call = (client: Client) => h!.callTool(client, 'listDrafts', { limit: 1 });
    // One record for the shared credential would hold alice back at her third call (2 used, 2
    // left) and refuse dana once alice's token had nothing left.
    for (let i = 0; i < 4; i++) {
      const result = await call(alice);
      expect(result.isError, textOf(result)).toBeFalsy();
    }
    const danas = await call(dana);
    expect(danas.isError, textOf(danas)).toBeFalsy();
    // alice's fifth is the backend's own 429 on her token alone.
    expect(textOf(await call(alice))).toMatch(/^The admin backend is rate limiting this operation/);
    expect(h.auditLines().filter((l) => l.outcome === 'fair_share_exceeded')).toEqual([]);
  });
});
