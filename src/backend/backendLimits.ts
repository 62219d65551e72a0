/**
 * What the backend last said of its rate limit, per credential (src/README.md,
 * "Backend rate limits"). The backend counts requests per credential it is shown, and Deputy
 * holds one credential per scheme and scope set, so every caller of operations that share one
 * draws on one limit. The client records each answer here; the fair-share gate
 * (tools/fairShare.ts) reads it before a call starts.
 *
 * Kept per replica: every replica is shown the backend's own numbers for the same credential,
 * so each one's view is right up to its last answer. Calls this replica has in flight are taken
 * off what is left, since the backend may have counted them already.
 */
import type { OperationBinding } from './operation.ts';
import type { RateLimitInfo } from './responseHeaders.ts';
import { scopeKey } from './tokenProvider.ts';

/** The backend's current window on one credential, as this replica sees it. */
export interface BackendWindow {
  /** `RateLimit-Limit`, when the backend names it. */
  limit?: number;
  /** Requests left in the window: the backend's last answer less this replica's calls in flight. */
  remaining: number;
  /** Seconds until the window resets (at least 1). */
  resetSeconds: number;
}

interface Observed {
  limit?: number;
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
}

/**
 * Two answers whose resets lie this close are the same window: `RateLimit-Reset` is whole
 * seconds, rounded, and answers take a while to arrive.
 */
const SAME_WINDOW_MS = 1_500;

/**
 * Names the credential an operation is called with, by its schemes and scopes: the same for
 * every operation sharing a token, never the token itself, so it can label a metric. With
 * tenants each tenant has credentials of its own, so the tenant is part of the name (`north:…`;
 * src/README.md D41) — bounded by the tenants of the token file.
 */
export function credentialKey(binding: Pick<OperationBinding, 'credentials'>, tenant?: string): string {
  if (binding.credentials.length === 0) return '(none)';
  const name = binding.credentials.map((c) => `${c.scheme}(${scopeKey(c.scopes)})`).join(' + ');
  return tenant === undefined ? name : `${tenant}:${name}`;
}

export class BackendLimits {
  readonly #observed = new Map<string, Observed>();
  readonly #inFlight = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Counts a call in flight on `credential`; the returned function ends it (once). */
  started(credential: string): () => void {
    this.#inFlight.set(credential, (this.#inFlight.get(credential) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.#inFlight.get(credential) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(credential, left);
      else this.#inFlight.delete(credential);
    };
  }

  /**
   * Records one answer: its `RateLimit-*` fields, or a 429's `Retry-After` (nothing is left
   * until then). An answer without both remaining and reset says nothing usable and is ignored.
   */
  observe(credential: string, info: RateLimitInfo | undefined, retryAfterSeconds?: number): void {
    const now = this.#now();
    let next: Observed | undefined;
    if (retryAfterSeconds !== undefined) next = { remaining: 0, resetAt: now + Math.max(1, retryAfterSeconds) * 1000 };
    else if (info?.remaining !== undefined && info.resetSeconds !== undefined) next = { remaining: info.remaining, resetAt: now + Math.max(1, info.resetSeconds) * 1000 };
    if (!next) return;
    if (info?.limit !== undefined) next.limit = info.limit;
    const last = this.#observed.get(credential);
    if (last && last.resetAt > now) {
      // Answers arrive out of order: one from a window already over is news of nothing (a 429
      // is always news), and within one window what is left only goes down.
      if (next.resetAt <= last.resetAt - SAME_WINDOW_MS && retryAfterSeconds === undefined) return;
      if (Math.abs(next.resetAt - last.resetAt) < SAME_WINDOW_MS) {
        next.remaining = Math.min(next.remaining, last.remaining);
        next.resetAt = Math.max(next.resetAt, last.resetAt);
        if (next.limit === undefined && last.limit !== undefined) next.limit = last.limit;
      }
    }
    this.#observed.set(credential, next);
  }

  /** The current window on `credential`, or undefined before any answer or once it has reset. */
  window(credential: string): BackendWindow | undefined {
    const observed = this.#observed.get(credential);
    const now = this.#now();
    if (!observed || observed.resetAt <= now) return undefined;
    const window: BackendWindow = {
      remaining: Math.max(0, observed.remaining - (this.#inFlight.get(credential) ?? 0)),
      resetSeconds: Math.max(1, Math.ceil((observed.resetAt - now) / 1000)),
    };
    if (observed.limit !== undefined) window.limit = observed.limit;
    return window;
  }

  /** The last remaining the backend reported, per credential (for the metrics gauge). */
  lastRemaining(): { credential: string; remaining: number }[] {
    return [...this.#observed].map(([credential, o]) => ({ credential, remaining: o.remaining }));
  }
}
