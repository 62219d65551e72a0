/**
 * The tool pipeline's order (src/tools/callSteps.ts `CALL_STEPS`): pinned as data, named in
 * that order by src/README.md, and seen from outside — when a call fails several steps at once,
 * the earliest step refuses it, and nothing after it runs.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BackendClient } from '../../src/backend/index.ts';
import { tools } from '../../src/generated/tools.ts';
import type { Approver } from '../../src/tools/approval.ts';
import type { AuditEvent } from '../../src/tools/audit.ts';
import type { Caller } from '../../src/tools/caller.ts';
import { CALL_STEPS } from '../../src/tools/callSteps.ts';
import { buildCatalog } from '../../src/tools/toolCatalog.ts';
import { createToolService } from '../../src/tools/toolService.ts';
import { memoryLimiters } from '../../src/state/limiters.ts';

const publishDraft = tools.find((t) => t.name === 'publishDraft')!;

function setup(maxInFlight: number) {
  const events: AuditEvent[] = [];
  const backendCalls: string[] = [];
  const backend: BackendClient = {
    call: (binding) => {
      backendCalls.push(binding.operationId);
      return Promise.resolve({ status: 200, body: { title: 'Q3' }, headers: {}, attempts: 1 });
    },
    close: () => Promise.resolve(),
  };
  const service = createToolService({
    catalog: buildCatalog(tools),
    backend,
    audit: { record: (e) => events.push(e), flush: () => Promise.resolve() },
    log: pino({ level: 'silent' }),
    quotas: { windowSeconds: 10, calls: 100, readToolCalls: 100, writeToolCalls: 100, inFlight: maxInFlight, key: 'subject' },
    limiters: memoryLimiters,
    onBehalfOfCaller: false,
  });
  const asked: string[] = [];
  const approver: Approver = {
    supports: () => true,
    decide: (request) => {
      asked.push(request.tool);
      return Promise.resolve({ decision: 'declined' });
    },
  };
  const call = (scopes: readonly string[], args: unknown) => {
    const caller: Caller = { subject: 'alice', clientId: 'agent', scopes, expiresAt: 0 };
    return service.call('publishDraft', args, { caller, callerToken: null, sessionId: 's1', client: null, approver, signal: new AbortController().signal });
  };
  return { events, backendCalls, asked, call };
}

describe('the tool pipeline order', () => {
  it('is the list CALL_STEPS holds, and src/README.md names the steps in that order', () => {
    expect(CALL_STEPS).toEqual(['policy', 'quota', 'input', 'approval', 'backend', 'output']);
    const readme = readFileSync(new URL('../../src/README.md', import.meta.url), 'utf8');
    const flow = readme.slice(readme.indexOf('## The flow of a call'), readme.indexOf('## Layers'));
    const positions = CALL_STEPS.map((step) => flow.indexOf(`\`${step}\``));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('policy refuses before quota, input and approval', async () => {
    const t = setup(0);
    const result = await t.call([], { nonsense: 1 });
    expect(result).toMatchObject({ isError: true });
    expect(t.events.map((e) => [e.outcome, e.approval])).toEqual([['denied', 'not_reached']]);
    expect(t.asked).toEqual([]);
    expect(t.backendCalls).toEqual([]);
  });

  it('quota refuses before input and approval', async () => {
    const t = setup(0);
    await t.call(publishDraft.callerScopes, { nonsense: 1 });
    expect(t.events.map((e) => e.outcome)).toEqual(['quota_exceeded']);
    expect(t.asked).toEqual([]);
  });

  it('input refuses before approval, and gives its in-flight slot back', async () => {
    const t = setup(1);
    await t.call(publishDraft.callerScopes, { nonsense: 1 });
    await t.call(publishDraft.callerScopes, { nonsense: 1 });
    expect(t.events.map((e) => [e.outcome, e.arguments])).toEqual([
      ['invalid_input', null],
      ['invalid_input', null],
    ]);
    expect(t.asked).toEqual([]);
  });

  it('a declined approval ends the call before the backend step', async () => {
    const t = setup(1);
    await t.call(publishDraft.callerScopes, { filename: 'q3.md' });
    expect(t.asked).toEqual(['publishDraft']);
    expect(t.events.map((e) => [e.outcome, e.approval])).toEqual([['approval_declined', 'declined']]);
    expect(t.backendCalls).toEqual([]);
  });
});
