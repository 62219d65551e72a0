/**
 * Pending out-of-band approvals (src/README.md, "Approval out of band"): a write waiting for a
 * human to decide on Deputy's approval page. Each record is bound to the caller, the tool and
 * the canonical arguments, holds everything the page shows, and expires. Every change is one
 * atomic step of the store, so a decision is applied once and the write is released once, even
 * when two browsers or two replicas race.
 *
 * In this process's memory by default (one replica), or on Redis with `DEPUTY_REDIS_URL`, next to
 * the consumed approvals and the quota counters (src/README.md, "Shared state").
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SharedStateUnavailable } from './singleUse.ts';

/** What the page shows of the action: filled in when the approval is opened, never changed. */
export interface PendingView {
  toolTitle: string;
  /** The manifest's approval message, every placeholder filled with the full value and its invisible characters already shown. */
  message: string;
  /** The validated arguments, exactly as the backend call will carry them. */
  args: Record<string, unknown>;
  /** Values the manifest always sends (`fixed`), by name. */
  fixed: Record<string, unknown>;
  /** The body template the arguments are filled into, or null. */
  bodyTemplate: unknown;
  /** The looked-up record's picked fields, or null without a lookup. */
  lookup: Record<string, unknown> | null;
}

export interface PendingApproval {
  /** 128 random bits, base64url: the page URL's only secret, and the Idempotency-Key's source. */
  id: string;
  /** Who asked: the agent's user and OAuth client. */
  subject: string;
  clientId: string;
  /** The asking caller's tenant (src/README.md D41), null with tenants off; absent on records older than tenants. */
  tenant?: string | null;
  tool: string;
  /** SHA-256 of the canonical JSON of the validated arguments. */
  argsSha256: string;
  /** The correlation id of the call that opened it. */
  correlationId: string;
  /** How many different people must approve (1 or 2). */
  required: number;
  /** Scopes or roles an approver must hold one of. */
  approvers: string[];
  view: PendingView;
  /** Milliseconds since the epoch. */
  createdAt: number;
  expiresAt: number;
  /** Who approved, in order. */
  approvals: { subject: string; at: number }[];
  rejection: { subject: string; at: number } | null;
  /** pending → approved | rejected | expired; approved → executed; rejected → closed once a call has read it. */
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'executed' | 'closed';
}

/** What a decision did; anything but `applied` changed nothing. */
export type DecisionResult =
  | { kind: 'applied'; record: PendingApproval }
  | { kind: 'unknown' | 'expired' | 'already_decided' | 'already_approved_by_you' | 'requester_second'; record?: PendingApproval };

export interface PendingApprovals {
  /** Stores a new record; its binding (subject, client, tool, arguments) now points to it. */
  open(record: PendingApproval): Promise<void>;
  get(id: string): Promise<PendingApproval | undefined>;
  /** The newest record opened for this exact binding, if it is still kept. */
  forBinding(binding: string): Promise<PendingApproval | undefined>;
  /**
   * Adds one approval (`approve`) or the rejection, atomically: only while pending and not
   * expired, and `allowed` decides on the record as it is at that moment (two-person rule).
   */
  decide(
    id: string,
    decision: { subject: string; approve: boolean },
    allowed: (record: PendingApproval) => DecisionResult['kind'] | 'ok',
  ): Promise<DecisionResult>;
  /**
   * Moves a record from `from` to `to` atomically; true only for the one caller that did it.
   * approved → executed releases the write exactly once; pending → expired reports expiry once.
   */
  transition(id: string, from: PendingApproval['status'], to: PendingApproval['status']): Promise<boolean>;
}

/** The key that lets a retried call find the approval opened for the same action. */
export function bindingKey(record: Pick<PendingApproval, 'subject' | 'clientId' | 'tenant' | 'tool' | 'argsSha256'>): string {
  // The tenant only when there is one, so bindings written before tenants keep their keys.
  const who = record.tenant ? [record.tenant, record.subject] : [record.subject];
  return JSON.stringify([...who, record.clientId, record.tool, record.argsSha256]);
}

/** How long a decided record is kept after it expires, so a late retry still finds the decision. */
export const KEEP_AFTER_EXPIRY_MS = 10 * 60_000;

/** The record after one approval or the rejection: what every store writes when `decide` applies. */
export function withDecision(record: PendingApproval, decision: { subject: string; approve: boolean }, at: number): PendingApproval {
  if (!decision.approve) return { ...record, rejection: { subject: decision.subject, at }, status: 'rejected' };
  const approvals = [...record.approvals, { subject: decision.subject, at }];
  return { ...record, approvals, status: approvals.length >= record.required ? 'approved' : 'pending' };
}

export class InMemoryPendingApprovals implements PendingApprovals {
  private readonly records = new Map<string, PendingApproval>();
  private readonly bindings = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  async open(record: PendingApproval): Promise<void> {
    this.sweep();
    this.records.set(record.id, structuredClone(record));
    this.bindings.set(bindingKey(record), record.id);
  }

  async get(id: string): Promise<PendingApproval | undefined> {
    const record = this.records.get(id);
    return record ? structuredClone(record) : undefined;
  }

  async forBinding(binding: string): Promise<PendingApproval | undefined> {
    const id = this.bindings.get(binding);
    return id === undefined ? undefined : this.get(id);
  }

  async decide(id: string, decision: { subject: string; approve: boolean }, allowed: (record: PendingApproval) => DecisionResult['kind'] | 'ok'): Promise<DecisionResult> {
    const record = this.records.get(id);
    if (!record) return { kind: 'unknown' };
    if (record.status !== 'pending') return { kind: 'already_decided', record: structuredClone(record) };
    if (record.expiresAt <= this.now()) return { kind: 'expired', record: structuredClone(record) };
    const verdict = allowed(structuredClone(record));
    if (verdict !== 'ok') return { kind: verdict, record: structuredClone(record) };
    const decided = withDecision(record, decision, this.now());
    this.records.set(id, decided);
    return { kind: 'applied', record: structuredClone(decided) };
  }

  async transition(id: string, from: PendingApproval['status'], to: PendingApproval['status']): Promise<boolean> {
    const record = this.records.get(id);
    if (!record || record.status !== from) return false;
    record.status = to;
    return true;
  }

  get size(): number {
    return this.records.size;
  }

  private sweep(): void {
    if (this.records.size < 1_000) return;
    const cutoff = this.now() - KEEP_AFTER_EXPIRY_MS;
    for (const [id, record] of this.records) {
      if (record.expiresAt > cutoff) continue;
      this.records.delete(id);
      if (this.bindings.get(bindingKey(record)) === id) this.bindings.delete(bindingKey(record));
    }
  }
}

/**
 * Pending approvals on Redis: one hash per approval, `deputy:pending:<id>`, with the record's
 * JSON, its `status` and a `version`, kept until `KEEP_AFTER_EXPIRY_MS` after it expires, and
 * `deputy:pending-binding:<sha256 of the binding>` naming the newest id for a retried call (the
 * binding holds the subject, so its key is a hash). A status change is one Lua script that
 * compares and sets, so exactly one replica wins each transition; a decision is computed here
 * (the two-person rule is a function) and written only if the record's `version` is still the
 * one it was computed from, retried otherwise. A store that does not answer throws
 * `SharedStateUnavailable`: the call and the page refuse, nothing is decided or written.
 */
const TRANSITION = `if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1`;
const WRITE_IF_UNCHANGED = `if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'status', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1`;
/** Changes to one record are few (two approvals, a release, an expiry), so a decision that lost this many races has found it decided. */
const DECIDE_ATTEMPTS = 5;

export function redisPendingApprovals(client: Redis, onError: () => void = () => {}, now: () => number = Date.now): PendingApprovals {
  const recordKey = (id: string) => `deputy:pending:${id}`;
  const bindingRedisKey = (binding: string) => `deputy:pending-binding:${createHash('sha256').update(binding).digest('hex')}`;
  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch {
      onError();
      throw new SharedStateUnavailable('the shared state (Redis) did not answer');
    }
  }
  async function read(id: string): Promise<{ record: PendingApproval; version: string } | undefined> {
    const [json, status, version] = await client.hmget(recordKey(id), 'record', 'status', 'version');
    if (json == null || status == null || version == null) return undefined;
    return { record: { ...(JSON.parse(json) as PendingApproval), status: status as PendingApproval['status'] }, version };
  }
  const get = (id: string) => guarded(async () => (await read(id))?.record);

  return {
    open: (record) =>
      guarded(async () => {
        const ttlMs = Math.max(1_000, record.expiresAt + KEEP_AFTER_EXPIRY_MS - now());
        const key = recordKey(record.id);
        const results = await client
          .multi()
          .hset(key, 'record', JSON.stringify(record), 'status', record.status, 'version', '0')
          .pexpire(key, ttlMs)
          .set(bindingRedisKey(bindingKey(record)), record.id, 'PX', ttlMs)
          .exec();
        if (!results || results.some(([error]) => error)) throw new Error('MULTI failed');
      }),
    get,
    forBinding: (binding) =>
      guarded(async () => {
        const id = await client.get(bindingRedisKey(binding));
        return id === null ? undefined : (await read(id))?.record;
      }),
    decide: (id, decision, allowed) =>
      guarded(async (): Promise<DecisionResult> => {
        for (let attempt = 0; attempt < DECIDE_ATTEMPTS; attempt += 1) {
          const current = await read(id);
          if (!current) return { kind: 'unknown' };
          const { record, version } = current;
          if (record.status !== 'pending') return { kind: 'already_decided', record };
          if (record.expiresAt <= now()) return { kind: 'expired', record };
          const verdict = allowed(structuredClone(record));
          if (verdict !== 'ok') return { kind: verdict, record };
          const decided = withDecision(record, decision, now());
          if ((await client.eval(WRITE_IF_UNCHANGED, 1, recordKey(id), version, JSON.stringify(decided), decided.status)) === 1) return { kind: 'applied', record: decided };
        }
        const settled = await read(id);
        return settled ? { kind: 'already_decided', record: settled.record } : { kind: 'unknown' };
      }),
    transition: (id, from, to) => guarded(async () => (await client.eval(TRANSITION, 1, recordKey(id), from, to)) === 1),
  };
}
