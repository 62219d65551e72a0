/**
 * Fuzzing the 2026-07-28 front door with fast-check and raw requests: arbitrary tool arguments,
 * arbitrary `_meta` envelopes, headers that may disagree with the body, and arbitrary
 * `requestState` / `inputResponses` on write tools. For every input: never a 5xx, always one
 * JSON-RPC answer that echoes the request id, never Deputy's internal-error text, and never a
 * write reaching the backend (no honest approval was ever given).
 *
 * Reproduce a failure with the printed seed: FUZZ_SEED=<seed> (FUZZ_RUNS=<n> for more runs).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tools } from '../../src/generated/tools.ts';
import { findLeaks, jsonRpcMessages, MODERN_REVISION, setup, type Harness } from '../helpers/deputy.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const INTERNAL_TEXT = 'Deputy hit an internal error.';
const WRITE_OPERATIONS = ['publishDraft', 'addTicketNote'];

let h: Harness;
let token: string;
let nextId = 1;

beforeAll(async () => {
  h = await setup();
  token = await h.agentToken();
});
afterAll(async () => {
  await h?.teardown();
});

/** Sends one request and checks the properties every answer must have. */
async function answerOf(body: Record<string, unknown>, headers: Record<string, string>): Promise<void> {
  const id = nextId++;
  const res = await h.post({ ...body, jsonrpc: '2.0', id }, { token, headers: { 'mcp-protocol-version': MODERN_REVISION, ...headers } });
  const where = JSON.stringify(body).slice(0, 300);
  expect(res.status, where).toBeLessThan(500);
  if (res.status === 403) return; // a scope challenge: not a JSON-RPC answer
  const messages = await jsonRpcMessages(res);
  expect(messages, where).toHaveLength(1);
  const [message] = messages as [{ id: unknown; result?: unknown; error?: { code: number } }];
  expect(message.id, where).toBe(id);
  expect(message.result !== undefined || message.error !== undefined, where).toBe(true);
  expect(JSON.stringify(message), where).not.toContain(INTERNAL_TEXT);
}

const envelope = (capabilities: unknown = { elicitation: { form: {} } }) => ({
  'io.modelcontextprotocol/protocolVersion': MODERN_REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': capabilities,
});

describe('2026-07-28 fuzz', () => {
  it.each(tools.map((tool) => tool.name))('%s: arbitrary arguments never crash or 5xx', async (name) => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }))), async (args) => {
        await answerOf({ method: 'tools/call', params: { name, arguments: args, _meta: envelope() } }, { 'mcp-method': 'tools/call', 'mcp-name': name });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('arbitrary envelopes, methods and headers are answered with the request id', async () => {
    const metaValue = fc.oneof(fc.constant(MODERN_REVISION), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('tools/list', 'tools/call', 'server/discover', 'initialize', 'ping', 'resources/list', 'nope/nope'),
        fc.record({
          'io.modelcontextprotocol/protocolVersion': metaValue,
          'io.modelcontextprotocol/clientInfo': fc.oneof(fc.constant({ name: 'fuzz', version: '1' }), fc.jsonValue({ maxDepth: 2 })),
          'io.modelcontextprotocol/clientCapabilities': fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 })),
        }),
        fc.option(fc.constantFrom('tools/call', 'tools/list', 'other'), { nil: undefined }),
        fc.option(fc.constantFrom('listDrafts', 'getDraft', 'x'), { nil: undefined }),
        async (method, meta, methodHeader, nameHeader) => {
          const headers: Record<string, string> = {};
          if (methodHeader) headers['mcp-method'] = methodHeader;
          if (nameHeader) headers['mcp-name'] = nameHeader;
          await answerOf({ method, params: { name: 'listDrafts', arguments: {}, _meta: meta } }, headers);
        },
      ),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });

  it('arbitrary requestState and inputResponses on writes never write', async () => {
    h.backend.reset();
    const writes = tools.filter((tool) => WRITE_OPERATIONS.includes(tool.name));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writes.map((tool) => tool.name)),
        fc.oneof(fc.string({ maxLength: 200 }), fc.constant('v1.e30.AAAA'), fc.base64String({ maxLength: 200 }).map((b) => `v1.${b}.${b}`)),
        fc.oneof(
          fc.constant({ approval: { action: 'accept', content: { confirm: true } } }),
          fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 })),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        async (name, requestState, inputResponses) => {
          const args = name === 'publishDraft' ? { filename: 'q3-pricing-update.md' } : { ticketId: 'tkt_100001', body: 'fuzz' };
          await answerOf(
            { method: 'tools/call', params: { name, arguments: args, requestState, inputResponses, _meta: envelope() } },
            { 'mcp-method': 'tools/call', 'mcp-name': name },
          );
        },
      ),
      { seed: SEED, numRuns: RUNS * 2 },
    );
    expect(h.backend.requestLog.forOperation('publishDraft')).toEqual([]);
    expect(h.backend.requestLog.forOperation('addTicketNote')).toEqual([]);
    expect((await fetch(`${new URL(h.deputy.url).origin}/healthz`)).status).toBe(200);
  });

  it('no token in any log line or audit line', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
