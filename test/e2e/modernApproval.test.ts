/**
 * Approval by multi-round-trip on MCP 2026-07-28. A write's first call answers input-required:
 * the same form as the 2025-era prompt, and a `requestState` Deputy sealed. Only an honest
 * accept of that exact action, resumed by the same caller, writes — exactly once.
 *
 * With the v2 client (which fulfils input-required through its elicitation handler) for the
 * flows a real client drives, and raw requests for what a hostile or broken client could send:
 * tampered state, state from another user, another tool or other arguments, expired, replayed.
 */
import type { Client, ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { findLeaks, jsonRpcMessages, setup, type Harness } from '../helpers/deputy.ts';

const DRAFT = 'q3-pricing-update.md';
const OPEN_TICKET = 'tkt_100001';
const APPROVAL_TTL_SECONDS = 60;

let h: Harness;
let human: Client;
let noElicitation: Client;
let answer: () => ElicitResult;
let prompts: { message: string; params: ElicitRequestFormParams }[];

const accept = (): ElicitResult => ({ action: 'accept', content: { confirm: true } });

beforeAll(async () => {
  h = await setup({ env: { DEPUTY_APPROVAL_TTL_SECONDS: String(APPROVAL_TTL_SECONDS) } });
  human = await h.connectModern({
    onElicit: (message, params) => {
      prompts.push({ message, params });
      return answer();
    },
  });
  noElicitation = await h.connectModern();
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
  prompts = [];
  answer = accept;
});

const textOf = (result: { content: unknown[] }) => {
  const first = result.content[0] as { type?: string; text?: string } | undefined;
  return first?.type === 'text' ? (first.text ?? '') : '';
};
const call = async (client: Client, name: string, args: Record<string, unknown>) => {
  const result = await client.callTool({ name, arguments: args });
  h.results.push(result as never);
  return result;
};
const publishRequests = () => h.backend.requestLog.forOperation('publishDraft');
/** `deputy_approval_states_rejected_total{reason}` as /metrics serves it (0 before the first). */
const rejectedStates = async (reason: 'expired' | 'invalid') => {
  const text = await (await fetch(h.deputy.url.replace(/\/mcp$/, '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`deputy_approval_states_rejected_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};
const noteRequests = () => h.backend.requestLog.forOperation('addTicketNote');

describe('with the v2 client playing the human', () => {
  it('asks with the same form as the 2025-era prompt: tool, draft, looked-up title, every argument, fixed values', async () => {
    const result = await call(human, 'publishDraft', { filename: DRAFT });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(prompts).toHaveLength(1);
    const { message, params } = prompts[0]!;
    expect(message).toContain(`Publish draft '${DRAFT}' (title 'Q3 pricing update') to the live site?`);
    expect(message).toContain('requested by an AI agent');
    expect(message).toContain(`filename: "${DRAFT}"`);
    expect(message).toContain('notifySubscribers=false');
    expect(params.requestedSchema.properties.confirm).toMatchObject({ type: 'boolean' });
    expect(params.requestedSchema.required).toEqual(['confirm']);
  });

  it('accepted → published exactly once, with an Idempotency-Key derived from the approval', async () => {
    const result = await call(human, 'publishDraft', { filename: DRAFT });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(h.backend.store.events.publications).toHaveLength(1);
    const requests = publishRequests();
    expect(requests).toHaveLength(1);
    expect(requests[0]!.idempotencyKey).toMatch(/^deputy-approval-[A-Za-z0-9_-]{43}$/);
    const lines = h.auditLines().filter((l) => l.tool === 'publishDraft').slice(-2);
    expect(lines.map((l) => [l.approval, l.outcome])).toEqual([
      ['requested', 'approval_requested'],
      ['accepted', 'ok'],
    ]);
    // Both lines name the same approval.
    const ids = lines.map((l) => (l as unknown as { approvalId?: string }).approvalId);
    expect(ids[0]).toEqual(expect.any(String));
    expect(ids[1]).toBe(ids[0]);
  });

  it('two deliberately approved identical notes are two notes (each approval its own key)', async () => {
    const before = h.backend.store.notes.get(OPEN_TICKET)!.length;
    const body = 'Called the customer back.';
    const first = await call(human, 'addTicketNote', { ticketId: OPEN_TICKET, body });
    const second = await call(human, 'addTicketNote', { ticketId: OPEN_TICKET, body });
    expect(first.isError, textOf(first)).toBeFalsy();
    expect(second.isError, textOf(second)).toBeFalsy();
    expect(h.backend.store.notes.get(OPEN_TICKET)!).toHaveLength(before + 2);
    const keys = noteRequests().map((r) => r.idempotencyKey);
    expect(new Set(keys).size).toBe(2);
  });

  it.each([
    ['declined', { action: 'decline' } satisfies ElicitResult, 'The user declined publishDraft. Nothing was done.'],
    ['cancelled', { action: 'cancel' } satisfies ElicitResult, 'The approval request for publishDraft was dismissed. Nothing was done.'],
    ['accepted without the confirm box', { action: 'accept', content: { confirm: false } } satisfies ElicitResult, 'The user declined publishDraft. Nothing was done.'],
  ])('%s → isError saying nothing was done; no publish request', async (_name, reply, expected) => {
    answer = () => reply;
    const result = await call(human, 'publishDraft', { filename: DRAFT });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(expected);
    expect(publishRequests()).toEqual([]);
    expect(h.backend.store.events.publications).toEqual([]);
  });

  it('a client that cannot answer input-required (no elicitation capability) → refused before the backend', async () => {
    const result = await call(noElicitation, 'addTicketNote', { ticketId: OPEN_TICKET, body: 'x' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("addTicketNote changes data and needs a human's approval");
    expect(textOf(result)).toContain('MCP 2026-07-28');
    expect(h.backend.requestLog.entries().filter((e) => e.operationId !== null)).toEqual([]);
  });

  it('reads never ask', async () => {
    expect((await call(human, 'getDraft', { filename: DRAFT })).isError).toBeFalsy();
    expect(prompts).toEqual([]);
  });
});

describe('raw resumed calls', () => {
  let token: string;
  let id = 100;
  beforeAll(async () => {
    token = await h.agentToken();
  });

  /** The first round of a write: its input-required result. */
  const ask = async (name: string, args: Record<string, unknown>, as = token) => {
    const [message] = await jsonRpcMessages(await h.postModern(++id, 'tools/call', { name, arguments: args }, { token: as }));
    const result = (message as { result: { resultType: string; requestState: string; inputRequests: Record<string, { method: string; params: ElicitRequestFormParams }> } }).result;
    expect(result.resultType).toBe('input_required');
    return result;
  };
  const resume = async (name: string, args: Record<string, unknown>, requestState: string, reply: ElicitResult = accept(), as = token) => {
    const res = await h.postModern(++id, 'tools/call', { name, arguments: args, requestState, inputResponses: { approval: reply } }, { token: as });
    const [message] = await jsonRpcMessages(res);
    return message as { id: number; result?: { isError?: boolean; content: { type: string; text: string }[]; resultType?: string }; error?: { code: number; message: string } };
  };

  it('the first round asks with an elicitation form and a sealed state, and touches nothing but the lookup', async () => {
    const first = await ask('publishDraft', { filename: DRAFT });
    expect(first.inputRequests.approval!.method).toBe('elicitation/create');
    expect(first.inputRequests.approval!.params.message).toContain("title 'Q3 pricing update'");
    expect(first.requestState).toMatch(/^v1\./);
    expect(publishRequests()).toEqual([]);
    expect(h.backend.requestLog.forOperation('getDraft')).toHaveLength(1);
  });

  it('a note too long to show in full is refused on the first round, never asked cut', async () => {
    const hidden = String.fromCodePoint(0xe0041).repeat(1_000); // each shown as ⟨U+E0041⟩
    const [message] = await jsonRpcMessages(await h.postModern(++id, 'tools/call', { name: 'addTicketNote', arguments: { ticketId: OPEN_TICKET, body: hidden } }, { token }));
    const result = (message as { result: { resultType?: string; isError?: boolean; content: { text: string }[] } }).result;
    expect(result.resultType).not.toBe('input_required');
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toContain("Shorten 'body'");
    expect(noteRequests()).toEqual([]);
  });

  it('accept → one publish; the same state replayed → refused as used, still one publish', async () => {
    const first = await ask('publishDraft', { filename: DRAFT });
    const done = await resume('publishDraft', { filename: DRAFT }, first.requestState);
    expect(done.result?.isError, JSON.stringify(done)).toBeFalsy();
    const replay = await resume('publishDraft', { filename: DRAFT }, first.requestState);
    expect(replay.result?.isError).toBe(true);
    expect(replay.result?.content[0]!.text).toContain('already used');
    expect(publishRequests()).toHaveLength(1);
    expect(h.backend.store.events.publications).toHaveLength(1);
    expect(h.auditLines().at(-1)).toMatchObject({ approval: 'replayed', outcome: 'approval_declined' });
  });

  it('a tampered state → the spec’s -32602, nothing written', async () => {
    const first = await ask('addTicketNote', { ticketId: OPEN_TICKET, body: 'tamper' });
    const [v, body, mac] = first.requestState.split('.');
    const claim = JSON.parse(Buffer.from(body!, 'base64url').toString()) as { p: { subject: string } };
    claim.p.subject = 'mallory';
    const forged = [v, Buffer.from(JSON.stringify(claim)).toString('base64url'), mac].join('.');
    const invalidBefore = await rejectedStates('invalid');
    for (const state of [forged, `${first.requestState}x`, 'v1.e30.AAAA', 'not-a-state']) {
      const reply = await resume('addTicketNote', { ticketId: OPEN_TICKET, body: 'tamper' }, state);
      expect(reply.error, state).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
      expect(reply.id).toBe(id);
    }
    expect(noteRequests()).toEqual([]);
    expect(await rejectedStates('invalid')).toBe(invalidBefore + 4);
  });

  it('state from another user → refused, nothing written', async () => {
    const first = await ask('addTicketNote', { ticketId: OPEN_TICKET, body: 'mine' });
    const other = await h.agentToken(undefined, 'alice');
    const reply = await resume('addTicketNote', { ticketId: OPEN_TICKET, body: 'mine' }, first.requestState, accept(), other);
    expect(reply.result?.isError).toBe(true);
    expect(reply.result?.content[0]!.text).toContain('another action or caller');
    expect(noteRequests()).toEqual([]);
  });

  it('state for another tool → refused, nothing written', async () => {
    const first = await ask('publishDraft', { filename: DRAFT });
    const reply = await resume('addTicketNote', { ticketId: OPEN_TICKET, body: 'x' }, first.requestState);
    expect(reply.result?.isError).toBe(true);
    expect(reply.result?.content[0]!.text).toContain('another action or caller');
    expect(noteRequests()).toEqual([]);
    expect(publishRequests()).toEqual([]);
  });

  it('state for other arguments → refused, nothing written', async () => {
    const first = await ask('addTicketNote', { ticketId: OPEN_TICKET, body: 'the approved text' });
    const reply = await resume('addTicketNote', { ticketId: OPEN_TICKET, body: 'something else entirely' }, first.requestState);
    expect(reply.result?.isError).toBe(true);
    expect(noteRequests()).toEqual([]);
    expect(h.auditLines().at(-1)).toMatchObject({ approval: 'mismatch', outcome: 'approval_declined' });
  });

  it('a resumed call without an answer asks again, with a fresh state', async () => {
    const first = await ask('publishDraft', { filename: DRAFT });
    const [message] = await jsonRpcMessages(
      await h.postModern(++id, 'tools/call', { name: 'publishDraft', arguments: { filename: DRAFT }, requestState: first.requestState }, { token }),
    );
    const again = (message as { result: { resultType: string; requestState: string } }).result;
    expect(again.resultType).toBe('input_required');
    expect(again.requestState).not.toBe(first.requestState);
    expect(publishRequests()).toEqual([]);
  });

  describe('expiry', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('an expired state → -32602, nothing written', async () => {
      const first = await ask('publishDraft', { filename: DRAFT });
      const expiredBefore = await rejectedStates('expired');
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + (APPROVAL_TTL_SECONDS + 5) * 1000);
      const reply = await resume('publishDraft', { filename: DRAFT }, first.requestState);
      expect(reply.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
      expect(publishRequests()).toEqual([]);
      // Counted for the alert on approvals left to expire (.deploy/README.md, "Alert rules").
      expect(await rejectedStates('expired')).toBe(expiredBefore + 1);
    });
  });
});

describe('secrets', () => {
  it('no token in any log line, audit line or result', () => {
    expect(findLeaks(h)).toEqual([]);
  });
});
