/**
 * Errors are answers (src/README.md D8): every backend failure the mock can inject,
 * and its rate limit, reaches the model as a short `isError` text it can act on; retries happen
 * only where they are safe; a backend refusing Deputy's own credential is an operator problem
 * (generic text to the model, detail in the log, never the token).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Fault } from '../../mock-backend/faults.ts';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

/** Per-attempt backend timeout in the fault harness: a hung backend must be given up on this fast. */
const TIMEOUT_MS = 800;
const RATE_LIMIT = { limit: 4, windowSeconds: 30 };

describe('faults without retries', () => {
  let h: Harness;
  let client: Client;
  beforeAll(async () => {
    h = await setup({
      // Fair share off: these tests reach the backend's own 429 (the gate: fairShare.test.ts).
      env: { DEPUTY_BACKEND_MAX_RETRIES: '0', DEPUTY_BACKEND_TIMEOUT_MS: String(TIMEOUT_MS), DEPUTY_BACKEND_FAIR_SHARE: '1' },
      backend: { rateLimit: RATE_LIMIT },
    });
    client = await h.connect({ onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
  });
  afterAll(async () => {
    await h?.teardown();
  });
  beforeEach(() => {
    h.backend.reset(); // faults, rate-limit windows, log and store
  });

  async function listDraftsWith(fault: Fault) {
    h.backend.faults.set('listDrafts', fault);
    const started = performance.now();
    const result = await h.callTool(client, 'listDrafts', { limit: 2 });
    return { result, text: textOf(result), ms: performance.now() - started };
  }

  it.each([
    [{ kind: 'status', status: 500 } satisfies Fault, 'The admin backend is unavailable right now; try again in a minute.'],
    [{ kind: 'status', status: 502 } satisfies Fault, 'The admin backend is unavailable right now; try again in a minute.'],
    [{ kind: 'status', status: 503 } satisfies Fault, 'The admin backend is unavailable right now; retry after 1 s.'],
    // A gateway timeout is a timeout, whoever ran out of time.
    [{ kind: 'status', status: 504 } satisfies Fault, 'The admin backend did not answer in time. It may be overloaded; try again later. If this was a write, check its result before retrying.'],
    [{ kind: 'reset' } satisfies Fault, 'The admin backend could not be reached (connection failed or was reset). Try again in a minute.'],
    [{ kind: 'malformed' } satisfies Fault, 'The admin backend sent a response that could not be read. Try again later; if it persists, report it to the operators.'],
    [{ kind: 'oversized' } satisfies Fault, 'The admin backend response was larger than this tool allows. Narrow the request (filters, a smaller limit) and try again.'],
  ])('%j → isError: %s', async (fault, expected) => {
    const { result, text } = await listDraftsWith(fault);
    expect(result.isError).toBe(true);
    expect(text).toBe(expected);
    expect(result.structuredContent).toBeUndefined();
    // No retry with retries off. (An aborted oversized body is logged when the mock finishes writing it.)
    await expect.poll(() => h.backend.requestLog.forOperation('listDrafts').filter((e) => e.fault === fault.kind)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.backend.requestLog.forOperation('listDrafts').filter((e) => e.fault === fault.kind)).toHaveLength(1);
  });

  // An answer that breaks the spec is an error the audit trail calls by its name, never `ok`;
  // an off-spec value of the right type is still a result the client accepts.
  it.each([
    ['a list where an object is declared', ['a', 'list'], '(the answer): expected an object, got a list'],
    ['an object where the list of drafts is declared', { items: { filename: 'x.md' } }, 'items: expected a list, got an object'],
    ['a title that is an object (it could carry fields nobody reviewed)', { items: [{ filename: 'x.md', title: { secret: 'hunter2' } }] }, 'items[].title: expected a string, got an object'],
    ['none of the picked fields', { drafts: [] }, "(the answer): expected at least one of 'items', 'nextCursor', got none of them"],
  ])('%s → a contract-violation error, audited as such', async (_name, body, detail) => {
    const { result, text } = await listDraftsWith({ kind: 'body', body });
    expect(result.isError).toBe(true);
    expect(text).toBe(`The admin backend's answer to listDrafts does not match its API description (${detail}), so no result can be shown. Retrying is unlikely to help; the operators can see this in Deputy's logs.`);
    expect(text).not.toContain('hunter2');
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'listDrafts', outcome: 'backend_contract_violation', backend: { status: 200 }, result: null });
  });

  it('off-spec values of the right type (a date-time for a date, an unknown status) → a normal result a strict client accepts', async () => {
    h.backend.faults.set('getDraft', { kind: 'body', body: { filename: 'x.md', title: 'X', author: 'mchen', status: 'frobnicated', excerpt: 'Hi', wordCount: 3, updatedAt: 'yesterday' } });
    const result = await h.callTool(client, 'getDraft', { filename: 'x.md' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ filename: 'x.md', status: 'frobnicated' });
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'getDraft', outcome: 'ok' });
  });

  it('a write whose answer breaks the spec says it was done and not to repeat it', async () => {
    h.backend.faults.set('addTicketNote', { kind: 'body', status: 201, body: 'not an object' });
    const result = await h.callTool(client, 'addTicketNote', { ticketId: 'tkt_100001', body: 'Checked the logs.' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe("addTicketNote was carried out (the admin backend accepted it), but its answer does not match its API description ((the answer): expected an object, got a string), so no result can be shown. Do not repeat the call; read the current state with a read tool instead.");
    expect(h.auditLines().at(-1)).toMatchObject({ tool: 'addTicketNote', outcome: 'backend_contract_violation', approval: 'accepted' });
  });

  it('a hung backend → the timeout message, once the configured timeout has passed', async () => {
    const { result, text, ms } = await listDraftsWith({ kind: 'hang' });
    expect(result.isError).toBe(true);
    expect(text).toBe('The admin backend did not answer in time. It may be overloaded; try again later. If this was a write, check its result before retrying.');
    // undici's timers are coarse (they may fire a few hundred ms early or late): it waited, then gave up in time.
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS / 2);
    expect(ms).toBeLessThan(TIMEOUT_MS + 1_500);
    // Deputy hung up: the mock saw the connection end without a response.
    await expect.poll(() => h.backend.faults.hungRequests).toBe(0);
    await expect.poll(() => h.backend.requestLog.forOperation('listDrafts').find((e) => e.fault === 'hang')?.status).toBe(0);
  });

  it('a slow but answering backend within the timeout → a normal result', async () => {
    const { result } = await listDraftsWith({ kind: 'delay', ms: 200 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect((result.structuredContent as { items: unknown[] }).items).toHaveLength(2);
  });

  it('a fault in one session’s call does not disturb the next call', async () => {
    await listDraftsWith({ kind: 'reset', count: 1 });
    const next = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(next.isError, textOf(next)).toBeFalsy();
  });

  it('rate limited → "rate limiting … retry after N s" with the backend’s Retry-After', async () => {
    const results = [];
    for (let i = 0; i < RATE_LIMIT.limit + 1; i++) results.push(await h.callTool(client, 'listDrafts', { limit: 1 }));
    for (const ok of results.slice(0, RATE_LIMIT.limit)) expect(ok.isError, textOf(ok)).toBeFalsy();
    const limited = results.at(-1)!;
    expect(limited.isError).toBe(true);
    const match = /^The admin backend is rate limiting this operation; retry after (\d+) s\.$/.exec(textOf(limited));
    expect(match, textOf(limited)).not.toBeNull();
    const seconds = Number(match![1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(RATE_LIMIT.windowSeconds);
    const log = h.backend.requestLog.forOperation('listDrafts').filter((e) => !e.fault);
    expect(log.map((e) => e.status)).toEqual([200, 200, 200, 200, 429]); // a long Retry-After is not retried
    const audit = h.auditLines().at(-1)!;
    expect(audit).toMatchObject({ tool: 'listDrafts', outcome: 'tool_error', backend: { status: 429, errorCode: 'BACKEND_RATE_LIMITED' } });
  });

  it('a failing approval lookup → isError, no prompt, no write', async () => {
    h.backend.faults.set('getDraft', { kind: 'status', status: 500 });
    const result = await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('unavailable');
    expect(h.backend.requestLog.forOperation('publishDraft')).toEqual([]);
    expect(h.backend.store.events.publications).toEqual([]);
  });

  it('a write that times out says to check before retrying', async () => {
    h.backend.faults.set('addTicketNote', { kind: 'hang' });
    const result = await h.callTool(client, 'addTicketNote', { ticketId: 'tkt_100001', body: 'Checked the logs.' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('If this was a write, check its result before retrying.');
  });

  it('every fault is in the audit trail with its error code', () => {
    const codes = new Set(h.auditLines().map((l) => l.backend?.errorCode).filter(Boolean));
    for (const code of ['BACKEND_UNAVAILABLE', 'BACKEND_CONNECTION', 'BACKEND_MALFORMED_RESPONSE', 'BACKEND_RESPONSE_TOO_LARGE', 'BACKEND_TIMEOUT', 'BACKEND_RATE_LIMITED']) {
      expect(codes).toContain(code);
    }
  });

  it('no error text carries a backend body, a URL or a stack trace', () => {
    const errors = h.results.filter((r) => r.isError);
    expect(errors.length).toBeGreaterThan(5);
    for (const result of errors) {
      const text = textOf(result);
      expect(text).not.toMatch(/https?:\/\/|injected fault|problem|\bat \w+ \(|Error:/i);
      expect(text.length).toBeLessThan(300);
    }
  });

  it('no secret in logs, audit lines or results', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});

describe('faults with retries (the defaults)', () => {
  let h: Harness;
  let client: Client;
  beforeAll(async () => {
    h = await setup();
    client = await h.connect({ onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
  });
  afterAll(async () => {
    await h?.teardown();
  });
  beforeEach(() => {
    h.backend.reset();
  });

  it.each([
    [{ kind: 'status', status: 502, count: 1 } satisfies Fault],
    [{ kind: 'status', status: 504, count: 1 } satisfies Fault],
    [{ kind: 'reset', count: 1 } satisfies Fault],
  ])('a read survives one %j', async (fault) => {
    h.backend.faults.set('listDrafts', fault);
    const result = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(h.backend.requestLog.forOperation('listDrafts').map((e) => e.status)).toEqual([fault.kind === 'reset' ? 0 : (fault as { status: number }).status, 200]);
  });

  it('a read is not retried on a 500', async () => {
    h.backend.faults.set('listDrafts', { kind: 'status', status: 500, count: 1 });
    const result = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(result.isError).toBe(true);
    expect(h.backend.requestLog.forOperation('listDrafts')).toHaveLength(1);
  });

  it('a write retried after a 503 carries the same Idempotency-Key and publishes once', async () => {
    h.backend.faults.set('publishDraft', { kind: 'status', status: 503, count: 1 });
    const result = await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' });
    expect(result.isError, textOf(result)).toBeFalsy();
    const attempts = h.backend.requestLog.forOperation('publishDraft');
    expect(attempts.map((e) => e.status)).toEqual([503, 200]);
    expect(attempts[0]!.idempotencyKey).toBeUndefined(); // the fault answered before the header was read
    expect(attempts[1]!.idempotencyKey).toMatch(/^deputy-/);
    expect(h.backend.store.events.publications).toHaveLength(1);
  });

  it('a persistent 503 gives up within the retry budget with the unavailable message', async () => {
    h.backend.faults.set('listDrafts', { kind: 'status', status: 503 });
    const result = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('The admin backend is unavailable right now; retry after 1 s.');
    expect(h.backend.requestLog.forOperation('listDrafts')).toHaveLength(1 + h.config.backend.maxRetries);
  });

  it('no secret in logs, audit lines or results', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});

describe('the backend refuses Deputy’s own credential (operator problem)', () => {
  // Static keys from mock-backend/fixtures/static-tokens.yaml: a revoked one for listDrafts (401)
  // and a drafts:read key misfiled for getCustomer (403); everything else correct.
  const REVOKED = 'acme_dev_revoked_3d7f1b5e9a2c0864';
  const DRAFTS_READ = 'acme_dev_drafts_read_7f3c9a1e5b2d4f60';
  let dir: string;
  let h: Harness;
  let client: Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deputy-e2e-'));
    const file = join(dir, 'tokens.yaml');
    writeFileSync(
      file,
      [
        'tokens:',
        '  - { id: revoked-key, operations: [listDrafts], scopes: [drafts:read], token: ' + REVOKED + ' }',
        '  - { id: misfiled-key, operations: [getCustomer], scopes: [customers:read], token: ' + DRAFTS_READ + ' }',
        '  - { id: key-drafts-read, scopes: [drafts:read], token: ' + DRAFTS_READ + ' }',
        '  - { id: key-drafts-publish, scopes: [drafts:publish], token: acme_dev_drafts_publish_2b8e6d0c4a9f1e37 }',
        '  - { id: key-customers-read, scopes: [customers:read], token: acme_dev_customers_read_9d1f7b3e5c0a2846 }',
        '  - { id: key-tickets-read, scopes: [tickets:read], token: acme_dev_tickets_read_4e6a2c8f0b7d1935 }',
        '  - { id: key-tickets-write, scopes: [tickets:write], token: acme_dev_tickets_write_1c5e9a3d7f2b6048 }',
        '',
      ].join('\n'),
    );
    h = await setup({ env: { DEPUTY_TOKEN_PROVIDER: 'static', DEPUTY_TOKEN_FILE: file } });
    client = await h.connect();
  });
  afterAll(async () => {
    await h?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  const OPERATOR_TEXT = 'Deputy could not complete this call because of a server-side configuration problem. The operators have been notified in the logs; do not retry.';

  it('backend 401 → generic text for the model; the log names the operation and code, never the token', async () => {
    const result = await h.callTool(client, 'listDrafts', { limit: 1 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(OPERATOR_TEXT);
    const line = h.logLines.find((l) => l.includes('BACKEND_UNAUTHORIZED'));
    expect(line, h.logLines.join('\n')).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 50, tool: 'listDrafts', error: { code: 'BACKEND_UNAUTHORIZED', operationId: 'listDrafts', status: 401 } });
    expect(line).not.toContain(REVOKED);
    // One retry with a "fresh" token is allowed after a 401; the static file has no other, so exactly one request.
    expect(h.backend.requestLog.forOperation('listDrafts').map((e) => e.status)).toEqual([401]);
  });

  it('backend 403 → the same generic text; the log has the missing scope', async () => {
    const result = await h.callTool(client, 'getCustomerSummary', { customerId: 'cus_Northwind001' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(OPERATOR_TEXT);
    const line = h.logLines.find((l) => l.includes('BACKEND_FORBIDDEN'));
    expect(JSON.parse(line!)).toMatchObject({ error: { code: 'BACKEND_FORBIDDEN', status: 403, missingScopes: ['customers:read'] } });
    expect(line).not.toContain(DRAFTS_READ);
  });

  it('correctly filed static keys reach the backend with exactly their operation’s scopes', async () => {
    const result = await h.callTool(client, 'getDraft', { filename: 'q3-pricing-update.md' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(h.backend.requestLog.forOperation('getDraft').at(-1)).toMatchObject({ tokenKind: 'static', clientId: 'key-drafts-read', scopes: ['drafts:read'] });
  });

  it('no static key, agent token or secret appears in any log line, audit line or result', () => {
    expect(h.backendTokens).toEqual(expect.arrayContaining([REVOKED, DRAFTS_READ]));
    expect(findLeaks(h)).toEqual([]);
  });
});
