/**
 * The Prometheus side of metrics.ts: prom-client's registry and every series Deputy exports.
 * Imported by metrics.ts only when first needed (an event to count or a scrape), so a process
 * that has served no call loads no prom-client (bench/README.md, "Cold start").
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditEvent } from '../tools/audit.ts';
import type { ApprovalEvent } from '../tools/outOfBand.ts';
import { MAX_SUBJECT_LABELS, type MetricsSources } from './metrics.ts';

/** Longer subjects are counted as `(other)`: a label value is not a place for unbounded text. */
const MAX_SUBJECT_LENGTH = 128;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PromMetrics {
  registry: Registry;
  count(event: AuditEvent): void;
  approvalEvent(event: ApprovalEvent): void;
  rejectedApprovalState(reason: 'expired' | 'invalid'): void;
  sharedStateError(): void;
}

export function createPromMetrics(options: MetricsSources): PromMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'deputy_' });

  const calls = new Counter({
    name: 'deputy_tool_calls_total',
    help: 'Tool calls by tool, its risk (read, write, destructive; unknown for unknown tools) and outcome (ok, tool_error, denied, unknown_tool, invalid_input, approval_declined, approval_requested, dry_run, quota_exceeded, fair_share_exceeded, shared_state_unavailable, backend_contract_violation), and the manifest surface it came in on (empty for the single /mcp).',
    labelNames: ['tool', 'risk', 'outcome', 'surface'] as const,
    registers: [registry],
  });
  const callerCalls = new Counter({
    name: 'deputy_caller_tool_calls_total',
    help: `Tool calls by caller subject (the first ${MAX_SUBJECT_LABELS} subjects a process sees; later ones, and subjects over ${MAX_SUBJECT_LENGTH} characters, as "(other)").`,
    labelNames: ['subject'] as const,
    registers: [registry],
  });
  const callSeconds = new Histogram({
    name: 'deputy_tool_call_duration_seconds',
    help: 'Time Deputy spent on a tool call, approval wait included.',
    labelNames: ['tool'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const backendSeconds = new Histogram({
    name: 'deputy_backend_request_duration_seconds',
    help: "Time of the tool's backend call (token, attempts and backoff included).",
    labelNames: ['tool'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const backendResponses = new Counter({
    name: 'deputy_backend_responses_total',
    help: 'Backend answers by tool and HTTP status ("none" when no response: timeout, reset, refused).',
    labelNames: ['tool', 'status'] as const,
    registers: [registry],
  });
  const backendErrors = new Counter({
    name: 'deputy_backend_errors_total',
    help: 'Failed backend calls by tool and BackendError code (BACKEND_TIMEOUT, BACKEND_UNAVAILABLE, BACKEND_CONNECTION, ...).',
    labelNames: ['tool', 'code'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'deputy_backend_rate_limited_total',
    help: 'Backend calls answered 429.',
    labelNames: ['tool'] as const,
    registers: [registry],
  });
  const approvals = new Counter({
    name: 'deputy_approvals_total',
    help: 'Human approval decisions by tool (accepted, declined, cancelled, unsupported; 2026-07-28 also requested, mismatch, replayed).',
    labelNames: ['tool', 'decision'] as const,
    registers: [registry],
  });
  const rejectedStates = new Counter({
    name: 'deputy_approval_states_rejected_total',
    help: 'Resumed 2026-07-28 calls refused for their approval state: expired (answered too late) or invalid (not sealed by Deputy, or changed).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const approvalEvents = new Counter({
    name: 'deputy_approval_events_total',
    help: 'Steps of approvals decided on the approval page, by tool and event (requested, viewed, approved, rejected, executed, expired).',
    labelNames: ['tool', 'event'] as const,
    registers: [registry],
  });
  const fairShareRefusals = new Counter({
    name: 'deputy_fair_share_refusals_total',
    help: "Calls held back because they would take more than the caller's fair share of the backend's rate limit.",
    labelNames: ['tool'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'deputy_backend_rate_limit_remaining',
    help: 'Requests the backend last said were left in its current window, per Deputy credential (schemes and scopes).',
    labelNames: ['credential'] as const,
    registers: [registry],
    collect() {
      for (const { credential, remaining } of options.backendRemaining?.() ?? []) this.set({ credential }, remaining);
    },
  });
  new Gauge({
    name: 'deputy_open_sessions',
    help: 'Open MCP sessions.',
    registers: [registry],
    collect() {
      this.set(options.openSessions());
    },
  });

  // Alert rules are written on these two names (.deploy/README.md): keep them.
  new Gauge({
    name: 'deputy_shared_state_up',
    help: 'Whether the shared state store (Redis/Valkey) is connected: 1 yes, 0 no (always 1 without one).',
    registers: [registry],
    collect() {
      this.set(options.sharedStateUp() ? 1 : 0);
    },
  });
  const sharedStateErrors = new Counter({
    name: 'deputy_shared_state_errors_total',
    help: 'Shared state store failures: connection errors, and operations refused or counted in memory instead.',
    registers: [registry],
  });

  const subjects = new Set<string>();
  const subjectLabel = (subject: string): string => {
    if (subjects.has(subject)) return subject;
    if (subjects.size >= MAX_SUBJECT_LABELS || subject.length > MAX_SUBJECT_LENGTH) return '(other)';
    subjects.add(subject);
    return subject;
  };

  function count(event: AuditEvent): void {
    // Unknown tool names are the caller's text: one label value for all of them (bounded cardinality).
    const tool = event.outcome === 'unknown_tool' ? '(unknown)' : event.tool;
    // A tool has one risk, so the label adds no series; it lets a rule single out writes.
    calls.inc({ tool, risk: event.risk, outcome: event.outcome, surface: event.surface ?? '' });
    callerCalls.inc({ subject: subjectLabel(event.caller.subject) });
    callSeconds.observe({ tool }, event.durationMs / 1000);
    if (event.approval !== 'not_required' && event.approval !== 'not_reached') approvals.inc({ tool, decision: event.approval });
    if (event.outcome === 'fair_share_exceeded') fairShareRefusals.inc({ tool });
    const backend = event.backend;
    if (!backend) return;
    if (backend.durationMs !== null) backendSeconds.observe({ tool }, backend.durationMs / 1000);
    backendResponses.inc({ tool, status: backend.status === null ? 'none' : String(backend.status) });
    if (backend.errorCode !== null) backendErrors.inc({ tool, code: backend.errorCode });
    if (backend.status === 429) rateLimited.inc({ tool });
  }

  return {
    registry,
    count,
    approvalEvent: (event) => approvalEvents.inc({ tool: event.tool, event: event.step }),
    rejectedApprovalState: (reason) => rejectedStates.inc({ reason }),
    sharedStateError: () => sharedStateErrors.inc(),
  };
}
