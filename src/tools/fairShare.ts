/**
 * The fair-share gate (src/README.md, "Backend rate limits"): one caller may not take more than
 * a configured share of what the backend has left on a credential, so a heavy user is slowed
 * before the backend refuses everyone who shares that credential.
 *
 * The rule, within the backend's current window on credential c: caller u may start a call while
 *
 *     used(u, c) < share × (used(u, c) + remaining(c))
 *
 * `used` counts the calls the gate let u start in this window (through a `LimiterFactory`
 * counter, so replicas sharing a store share it; it expires with the window); `remaining` is
 * what the backend last said is left, less this replica's calls in flight (BackendLimits). With
 * share ≤ 0.5 a caller who has started a call can never take the last request of a window, so
 * whatever any number of heavy users do, a newcomer finds something left. Before Deputy has seen
 * an answer for the credential's current window, nothing is refused; those calls are counted in
 * the window once its first answer arrives.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { credentialKey, type BackendLimits, type BackendWindow } from '../backend/index.ts';
import type { ToolDefinition } from '../generated/tools.ts';
import type { LimiterFactory } from '../state/limiters.ts';

/** The rule itself: may a caller who has started `used` calls start another while `remaining` is left? */
export function fairShareAllows(used: number, remaining: number, share: number): boolean {
  return used < share * (used + remaining);
}

export type FairShareDecision =
  | { ok: true }
  /** `exhausted`: nothing is left for anyone; `share`: this caller has had their share of what is. */
  | { ok: false; reason: 'share' | 'exhausted'; retryAfterSeconds: number; credential: string };

export interface FairShareOptions {
  limits: BackendLimits;
  limiters: LimiterFactory;
  /** The share of what is left one caller may take, in (0, 1]; 1 turns the gate off. */
  share: number;
}

/** Every credential a call of `tool` uses: its operation's, and its approval lookup's; its tenant's with tenants on. */
export function callCredentials(tool: Pick<ToolDefinition, 'operation' | 'approval'>, tenant?: string | null): string[] {
  const lookup = tool.approval?.lookup;
  const of = tenant ?? undefined;
  return [...new Set([credentialKey(tool.operation, of), ...(lookup ? [credentialKey(lookup.operation, of)] : [])])];
}

/** Callers remembered per credential while its window is unknown; beyond this, calls go uncounted. */
const MAX_UNWINDOWED_CALLERS = 10_000;

export class FairShareGate {
  readonly #limits: BackendLimits;
  readonly #share: number;
  readonly #used: RateLimiterAbstract;
  /**
   * Calls let through while a credential's current window was unknown (before its first
   * answer), per credential and caller. They belong to the window that answer reveals, so they
   * are counted in it then: otherwise a caller's first burst of every window would be free.
   */
  readonly #unwindowed = new Map<string, Map<string, number>>();

  constructor(options: FairShareOptions) {
    if (!(options.share > 0 && options.share <= 1)) throw new RangeError(`the fair share must be in (0, 1], got ${options.share}`);
    this.#limits = options.limits;
    this.#share = options.share;
    // Counted with penalty(), which never refuses: the rule above decides, not the limiter's
    // points. Each key lives as long as the backend window it counts (customDuration).
    this.#used = options.limiters({ keyPrefix: 'fairshare', points: Number.MAX_SAFE_INTEGER, duration: 60 });
  }

  /**
   * Counts one call of `subject` on each of `credentials`, or refuses it (counting nothing) when
   * any of them would give the caller more than their share.
   */
  async tryStart(credentials: readonly string[], subject: string): Promise<FairShareDecision> {
    if (this.#share >= 1) return { ok: true };
    const counted: string[] = [];
    const unknown: string[] = [];
    for (const credential of credentials) {
      const window = this.#limits.window(credential);
      if (!window) {
        unknown.push(credential);
        continue;
      }
      // Nothing left refuses everyone whatever they used, so it needs no counter (and holds even
      // while the counter store is away).
      let allowed = window.remaining > 0;
      if (allowed) {
        await this.#countUnwindowed(credential, window);
        const key = usedKey(credential, subject);
        const used = (await this.#used.penalty(key, 1, { customDuration: window.resetSeconds })).consumedPoints - 1;
        counted.push(key);
        allowed = fairShareAllows(used, window.remaining, this.#share);
      }
      if (!allowed) {
        // Best effort: a count not given back only holds this caller back a little sooner.
        await Promise.allSettled(counted.map((k) => this.#used.reward(k, 1)));
        return refused(credential, window);
      }
    }
    for (const credential of unknown) this.#noteUnwindowed(credential, subject);
    return { ok: true };
  }

  #noteUnwindowed(credential: string, subject: string): void {
    let callers = this.#unwindowed.get(credential);
    if (!callers) this.#unwindowed.set(credential, (callers = new Map<string, number>()));
    if (callers.size < MAX_UNWINDOWED_CALLERS || callers.has(subject)) callers.set(subject, (callers.get(subject) ?? 0) + 1);
  }

  async #countUnwindowed(credential: string, window: BackendWindow): Promise<void> {
    const callers = this.#unwindowed.get(credential);
    if (!callers) return;
    // Taken before the first await, so concurrent calls count each remembered call once.
    this.#unwindowed.delete(credential);
    await Promise.all([...callers].map(([subject, calls]) => this.#used.penalty(usedKey(credential, subject), calls, { customDuration: window.resetSeconds })));
  }
}

const usedKey = (credential: string, subject: string) => JSON.stringify([credential, subject]);

function refused(credential: string, window: BackendWindow): FairShareDecision {
  return { ok: false, reason: window.remaining === 0 ? 'exhausted' : 'share', retryAfterSeconds: window.resetSeconds, credential };
}
