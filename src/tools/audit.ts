/**
 * The audit trail (src/README.md D9): one JSON line per tool-call outcome, written by its own
 * pino logger to its own destination so operators can ship it apart from application logs.
 *
 * Arguments are logged field by field with the configured fields replaced by `[REDACTED]`,
 * plus a sha256 of the canonical arguments so a redacted call can still be matched to a
 * complaint ("did the agent add *this* note?") without storing the text.
 */
import { createHash } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { ApprovalEvent } from './outOfBand.ts';

export type AuditOutcome =
  | 'ok'
  | 'tool_error'
  | 'denied'
  | 'unknown_tool'
  | 'invalid_input'
  | 'approval_declined'
  | 'approval_requested'
  | 'dry_run'
  | 'quota_exceeded'
  | 'fair_share_exceeded'
  | 'shared_state_unavailable'
  | 'backend_contract_violation';

export interface AuditEvent {
  correlationId: string;
  /** The manifest surface the call came in on (src/README.md D42); absent for the single `/mcp`. */
  surface?: string;
  caller: { subject: string; clientId: string };
  /** The caller's tenant (src/README.md D41); null with tenants off. On every line, so a tenant's trail can be cut out. */
  tenant: string | null;
  sessionId: string | null;
  tool: string;
  risk: string;
  arguments: unknown;
  /** `requested`: a 2026-07-28 input-required answer asked; `mismatch`/`replayed`: a resumed call's approval did not fit it. */
  approval: 'not_required' | 'requested' | 'accepted' | 'declined' | 'cancelled' | 'unsupported' | 'mismatch' | 'replayed' | 'expired' | 'not_reached';
  /** The multi-round-trip approval this line belongs to (2026-07-28), else absent. */
  approvalId?: string;
  backend: { status: number | null; durationMs: number | null; errorCode: string | null } | null;
  result: { bytes: number; items: number | null; redactions: number; truncated: boolean } | null;
  outcome: AuditOutcome;
  durationMs: number;
}

export interface AuditLog {
  record(event: AuditEvent): void;
  /** One step of an out-of-band approval (requested, viewed, approved, rejected, executed, expired): an `approval` line. */
  approval?(event: ApprovalEvent): void;
  flush(): Promise<void>;
}

export interface AuditOptions {
  /** Where lines go: a pino destination (file path via `pino.destination`, stdout, or a test stream). */
  destination: DestinationStream;
  /** Argument names whose values never reach the audit trail. */
  redactArguments: readonly string[];
}

export function createAuditLog(options: AuditOptions): AuditLog {
  const logger: Logger = pino(
    {
      base: null,
      messageKey: 'event',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
  const redacted = new Set(options.redactArguments);
  return {
    record(event) {
      logger.info(
        {
          ...event,
          arguments: redactArguments(event.arguments, redacted),
          argumentsSha256: sha256Canonical(event.arguments),
        },
        'tool_call',
      );
    },
    approval(event) {
      logger.info(event, 'approval');
    },
    flush: () => new Promise((resolve) => logger.flush(() => resolve())),
  };
}

function redactArguments(args: unknown, redacted: ReadonlySet<string>): unknown {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return args;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) out[key] = redacted.has(key) ? '[REDACTED]' : value;
  return out;
}

/** JSON with sorted keys, so the same arguments always hash the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, child]) => child !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(',')}}`;
}

export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
