/**
 * `Idempotency-Key` for POST operations (see the spec's `IdempotencyKey` parameter): the first
 * request with a key does the work and its reply is stored; a repeat with the same key and the
 * same request gets that reply again without the work being done; the same key with a different
 * request is refused with 422. Keys are scoped per token subject and operation, so two callers
 * (or two operations) can never see each other's replies, and kept for 24 hours.
 *
 * A repeat that arrives while the first is still running waits for it rather than running twice.
 * Replies with a 5xx status are not stored: a failed attempt may be retried with the same key.
 */
import { createHash } from 'node:crypto';
import type { Reply } from './reply.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

interface Entry {
  fingerprint: string;
  expiresAt: number;
  reply: Promise<Reply>;
}

export type IdempotencyOutcome =
  | { kind: 'first'; complete(reply: Reply): void }
  | { kind: 'replay'; reply: Promise<Reply> }
  | { kind: 'mismatch' };

export class IdempotencyStore {
  private entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Looks up (subject, operation, key). `request` identifies the request: method, concrete path
   * and body; a repeat must match it exactly.
   */
  begin(scope: { subject: string; operationId: string; key: string }, request: { method: string; path: string; body: unknown }): IdempotencyOutcome {
    const id = JSON.stringify([scope.subject, scope.operationId, scope.key]);
    const fingerprint = createHash('sha256').update(JSON.stringify([request.method, request.path, canonical(request.body)])).digest('hex');
    const now = this.now();
    const existing = this.entries.get(id);
    if (existing && existing.expiresAt > now) {
      return existing.fingerprint === fingerprint ? { kind: 'replay', reply: existing.reply } : { kind: 'mismatch' };
    }
    let resolve!: (reply: Reply) => void;
    const reply = new Promise<Reply>((r) => (resolve = r));
    const entry: Entry = { fingerprint, expiresAt: now + IDEMPOTENCY_TTL_MS, reply };
    this.entries.set(id, entry);
    return {
      kind: 'first',
      complete: (result) => {
        resolve(result);
        if (result.status >= 500) this.entries.delete(id);
      },
    };
  }

  reset(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` count as the same body. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}
