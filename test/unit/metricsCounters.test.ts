/**
 * The counters the alert rules read (src/README.md, "Metrics"; .deploy/README.md, "Alert rules"),
 * counted from audit events: the risk of each call, callers by subject with a bounded label set,
 * and backend failures by code.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics, MAX_SUBJECT_LABELS } from '../../src/http/metrics.ts';
import type { AuditEvent } from '../../src/tools/audit.ts';

function event(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    correlationId: 'c',
    caller: { subject: 'alice', clientId: 'agent' },
    tenant: null,
    sessionId: null,
    tool: 'publishDraft',
    risk: 'write',
    arguments: null,
    approval: 'not_reached',
    backend: null,
    result: null,
    outcome: 'ok',
    durationMs: 1,
    ...overrides,
  };
}

function setup() {
  const metrics = createMetrics({ openSessions: () => 0, sharedStateUp: () => true });
  const audit = metrics.observe({ record: () => undefined, flush: () => Promise.resolve() });
  const value = async (name: string, labels: Record<string, string>) => {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const sample = metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x) && Object.keys(v.labels).length === Object.keys(labels).length);
    return sample?.value;
  };
  return { metrics, audit, value };
}

describe('the counters the alert rules read', () => {
  it('count calls by tool, risk and outcome', async () => {
    const { audit, value } = setup();
    audit.record(event({ outcome: 'denied' }));
    audit.record(event({ outcome: 'denied' }));
    audit.record(event({ tool: 'listDrafts', risk: 'read', outcome: 'denied' }));
    audit.record(event({ tool: 'nope', risk: 'unknown', outcome: 'unknown_tool' }));
    expect(await value('deputy_tool_calls_total', { tool: 'publishDraft', risk: 'write', outcome: 'denied', surface: '' })).toBe(2);
    expect(await value('deputy_tool_calls_total', { tool: 'listDrafts', risk: 'read', outcome: 'denied', surface: '' })).toBe(1);
    expect(await value('deputy_tool_calls_total', { tool: '(unknown)', risk: 'unknown', outcome: 'unknown_tool', surface: '' })).toBe(1);
    // A manifest surface's calls are counted apart (src/README.md D42).
    audit.record(event({ tool: 'listDrafts', risk: 'read', outcome: 'denied', surface: 'support' }));
    expect(await value('deputy_tool_calls_total', { tool: 'listDrafts', risk: 'read', outcome: 'denied', surface: 'support' })).toBe(1);
    expect(await value('deputy_tool_calls_total', { tool: 'listDrafts', risk: 'read', outcome: 'denied', surface: '' })).toBe(1);
  });

  it(`count calls per caller subject, the first ${MAX_SUBJECT_LABELS} subjects by name and the rest as (other)`, async () => {
    const { audit, value } = setup();
    for (let i = 0; i < MAX_SUBJECT_LABELS; i++) audit.record(event({ caller: { subject: `user-${i}`, clientId: 'agent' } }));
    audit.record(event({ caller: { subject: 'user-0', clientId: 'agent' } }));
    audit.record(event({ caller: { subject: 'one-too-many', clientId: 'agent' } }));
    expect(await value('deputy_caller_tool_calls_total', { subject: 'user-0' })).toBe(2);
    expect(await value('deputy_caller_tool_calls_total', { subject: `user-${MAX_SUBJECT_LABELS - 1}` })).toBe(1);
    expect(await value('deputy_caller_tool_calls_total', { subject: 'one-too-many' })).toBeUndefined();
    expect(await value('deputy_caller_tool_calls_total', { subject: '(other)' })).toBe(1);
  });

  it('count an overlong subject as (other)', async () => {
    const { audit, value } = setup();
    audit.record(event({ caller: { subject: 'x'.repeat(129), clientId: 'agent' } }));
    expect(await value('deputy_caller_tool_calls_total', { subject: '(other)' })).toBe(1);
  });

  it('count backend failures by code beside the statuses', async () => {
    const { audit, value } = setup();
    audit.record(event({ outcome: 'tool_error', backend: { status: null, durationMs: 10_000, errorCode: 'BACKEND_TIMEOUT' } }));
    audit.record(event({ outcome: 'tool_error', backend: { status: 503, durationMs: 5, errorCode: 'BACKEND_UNAVAILABLE' } }));
    audit.record(event({ outcome: 'ok', backend: { status: 200, durationMs: 5, errorCode: null } }));
    expect(await value('deputy_backend_errors_total', { tool: 'publishDraft', code: 'BACKEND_TIMEOUT' })).toBe(1);
    expect(await value('deputy_backend_errors_total', { tool: 'publishDraft', code: 'BACKEND_UNAVAILABLE' })).toBe(1);
    expect(await value('deputy_backend_responses_total', { tool: 'publishDraft', status: 'none' })).toBe(1);
  });

  it('count refused approval states by reason, apart from the tool calls', async () => {
    const { metrics, value } = setup();
    metrics.rejectedApprovalState('expired');
    metrics.rejectedApprovalState('expired');
    metrics.rejectedApprovalState('invalid');
    expect(await value('deputy_approval_states_rejected_total', { reason: 'expired' })).toBe(2);
    expect(await value('deputy_approval_states_rejected_total', { reason: 'invalid' })).toBe(1);
  });
});
