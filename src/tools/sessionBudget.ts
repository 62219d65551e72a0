/**
 * Per-session budgets (src/README.md D10): a thrashing agent is stopped with a clear tool
 * error before it reaches the backend. Two limits: calls in flight at once, and calls started
 * in the last minute (a sliding window of start times).
 */

export interface BudgetLimits {
  maxInFlight: number;
  maxPerMinute: number;
}

export type BudgetDecision =
  | { ok: true; release: () => void }
  | { ok: false; reason: 'in_flight' | 'per_minute'; retryAfterSeconds: number };

export class SessionBudget {
  private inFlight = 0;
  private readonly starts: number[] = [];

  constructor(
    private readonly limits: BudgetLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Nothing in flight and nothing started in the last minute: safe to forget. */
  idle(): boolean {
    const last = this.starts[this.starts.length - 1];
    return this.inFlight === 0 && (last === undefined || last <= this.now() - 60_000);
  }

  tryStart(): BudgetDecision {
    const now = this.now();
    while (this.starts.length > 0 && this.starts[0]! <= now - 60_000) this.starts.shift();
    if (this.inFlight >= this.limits.maxInFlight) {
      return { ok: false, reason: 'in_flight', retryAfterSeconds: 1 };
    }
    if (this.starts.length >= this.limits.maxPerMinute) {
      const retryAfterMs = this.starts[0]! + 60_000 - now;
      return { ok: false, reason: 'per_minute', retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    }
    this.inFlight += 1;
    this.starts.push(now);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
      },
    };
  }
}
