/**
 * The tool pipeline's order (src/tools/callSteps.ts `CALL_STEPS`): pinned as data, named in
 * that order by src/README.md, and seen from outside — when a call fails several steps at once,
 * the earliest step refuses it, and nothing after it runs.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { BackendLimits, type BackendClient } from '../../src/backend/index.ts';
import { tools } from '../../src/generated/tools.ts';
import type { Approver } from '../../src/tools/approval.ts';
import type { AuditEvent } from '../../src/tools/audit.ts';
import type { Caller } from '../../src/tools/caller.ts';
import { CALL_STEPS } from '../../src/tools/callSteps.ts';
import { FairShareGate } from '../../src/tools/fairShare.ts';
import { memoryLimiters, type LimiterFactory } from '../../src/state/limiters.ts';
import { buildCatalog } from '../../src/tools/toolCatalog.ts';
import { createToolService } from '../../src/tools/toolService.ts';

const publishDraft = tools.find((t) => t.name === 'publishDraft')!;

function setup(maxInFlight: number, fairShareLimiters: LimiterFactory = memoryLimiters) {
  const events: AuditEvent[] = [];
  const logLines: { msg: string }[] = [];
  const limits = new BackendLimits();
  const backendCalls: string[] = [];
  const backend: BackendClient = {
    call: (binding) => {
      backendCalls.push(binding.operationId);
      return Promise.resolve({ status: 200, body: { title: 'Q3' }, headers: {}, attempts: 1 });
    },
    describe: (binding) => {
      backendCalls.push(`describe ${binding.operationId}`);
      return { method: binding.method, path: binding.path, query: {}, headers: {}, body: null };
    },
    close: () => Promise.resolve(),
  };
  const service = createToolService({
    catalog: buildCatalog(tools),
    backend,
    audit: { record: (e) => events.push(e), flush: () => Promise.resolve() },
    log: pino({ level: 'warn' }, { write: (line: string) => logLines.push(JSON.parse(line) as { msg: string }) }),
    quotas: { windowSeconds: 10, calls: 100, readToolCalls: 100, writeToolCalls: 100, inFlight: maxInFlight, key: 'subject' },
    limiters: memoryLimiters,
    onBehalfOfCaller: false,
    fairShare: new FairShareGate({ limits, limiters: fairShareLimiters, share: 0.5 }),
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
    const caller: Caller = { subject: 'alice', clientId: 'agent', scopes, tenant: null, expiresAt: 0 };
    return service.call('publishDraft', args, { caller, callerToken: null, sessionId: 's1', client: null, approver, signal: new AbortController().signal });
  };
  return { events, backendCalls, asked, call, limits, logLines };
}

describe('the tool pipeline order', () => {
  it('is the list CALL_STEPS holds, and src/README.md names the steps in that order', () => {
    expect(CALL_STEPS).toEqual(['policy', 'quota', 'input', 'fairShare', 'approval', 'backend', 'output']);
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

  it('the fair share refuses after input and before approval: no human is asked, nothing is called', async () => {
    const t = setup(1);
    t.limits.observe('adminAuth(drafts:publish)', undefined, 9); // a 429: nothing left until then
    const result = await t.call(publishDraft.callerScopes, { filename: 'q3.md' });
    expect(result).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('retry after 9 s') }] });
    expect(t.events.map((e) => [e.outcome, e.approval, e.arguments])).toEqual([['fair_share_exceeded', 'not_reached', { filename: 'q3.md' }]]);
    expect(t.asked).toEqual([]);
    expect(t.backendCalls).toEqual([]);
  });

  it('a fair-share counter store that fails holds nothing back (the backend still enforces its limit), but nothing left still refuses', async () => {
    const failing: LimiterFactory = (options) => {
      const limiter = new RateLimiterMemory(options);
      limiter.penalty = () => Promise.reject(new Error('store unreachable'));
      return limiter;
    };
    const t = setup(1, failing);
    t.limits.observe('adminAuth(drafts:publish)', { remaining: 5, resetSeconds: 9 });
    await t.call(publishDraft.callerScopes, { filename: 'q3.md' });
    expect(t.asked).toEqual(['publishDraft']);
    expect(t.logLines.map((l) => l.msg)).toEqual(['fair-share counter unavailable; call let through']);
    t.limits.observe('adminAuth(drafts:publish)', undefined, 9);
    await t.call(publishDraft.callerScopes, { filename: 'q3.md' });
    expect(t.events.map((e) => e.outcome)).toEqual(['approval_declined', 'fair_share_exceeded']);
  });

  it('a declined approval ends the call before the backend step', async () => {
    const t = setup(1);
    await t.call(publishDraft.callerScopes, { filename: 'q3.md' });
    expect(t.asked).toEqual(['publishDraft']);
    expect(t.events.map((e) => [e.outcome, e.approval])).toEqual([['approval_declined', 'declined']]);
    expect(t.backendCalls).toEqual([]);
  });
});
