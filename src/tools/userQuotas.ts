/**
 * Per-user quotas (src/README.md, "Quotas"): what one user may start, whatever the session,
 * client connection or replica — calls per window over all tools, calls per window of each
 * tool, and calls running at once. A user is the caller's subject (plus the OAuth client id
 * with DEPUTY_QUOTA_KEY=subject,client), so opening a new session resets nothing.
 *
 * The counters come from the state layer's LimiterFactory: this replica's memory, or Redis
 * shared by every replica. A write's own counter fails closed: while the shared store cannot
 * answer, a write is refused rather than counted per replica.
 */
import { createHash } from 'node:crypto';
import type { ToolDefinition } from '../generated/tools.ts';
import { RateLimiterRes, type LimiterFactory, type RateLimiterAbstract } from '../state/limiters.ts';
import type { Caller } from './caller.ts';

export interface QuotaLimits {
  /** The window of the per-window quotas, in seconds. */
  windowSeconds: number;
  /** Calls one user may start per window, all tools together. */
  calls: number;
  /** Calls of one read tool per user and window, unless the manifest sets the tool's own. */
  readToolCalls: number;
  /** The same for write and destructive tools: tighter by default. */
  writeToolCalls: number;
  /** Calls of one user running at once. */
  inFlight: number;
  /** Who "one user" is. */
  key: 'subject' | 'subject,client';
}

/**
 * How long an in-flight count is kept: longer than any call can run (deadline and approval wait),
 * so a replica that stops mid-call gives its user's slots back by itself after this long.
 */
export const IN_FLIGHT_HOLD_SECONDS = 900;

export type QuotaName = 'calls' | 'tool_calls' | 'in_flight';

export type QuotaDecision =
  | { ok: true; release: () => void }
  | { ok: false; quota: QuotaName; limit: number; windowSeconds: number; retryAfterSeconds: number }
  /** The shared store did not answer and this call must not go on without it. */
  | { ok: false; quota: 'unavailable' };

/** The user a quota counts for, hashed: no subject or client id is written to a shared store. */
export function quotaKeyOf(caller: Pick<Caller, 'subject' | 'clientId' | 'tenant'>, by: QuotaLimits['key']): string {
  const user = by === 'subject' ? caller.subject : `${caller.subject}\n${caller.clientId}`;
  // The same subject in two tenants is two users (D41). Without tenants the key is as before,
  // so counters in a shared store carry over an upgrade.
  const who = caller.tenant === null ? user : `${caller.tenant}\u0000${user}`;
  let key = knownKeys.get(who);
  if (key === undefined) {
    key = createHash('sha256').update(who).digest('base64url').slice(0, 32);
    // Bounded: a process serving more users than this starts the memo over (src/README.md D46).
    if (knownKeys.size >= MAX_KNOWN_KEYS) knownKeys.clear();
    knownKeys.set(who, key);
  }
  return key;
}

/** The hashed key of each user seen lately: every call, and the fair share's check, asks for it. */
const knownKeys = new Map<string, string>();
const MAX_KNOWN_KEYS = 10_000;

interface ToolLimiter {
  limiter: RateLimiterAbstract;
  limit: number;
  windowSeconds: number;
}

export class UserQuotas {
  private readonly calls: RateLimiterAbstract;
  private readonly inFlight: RateLimiterAbstract;
  private readonly perTool = new Map<string, ToolLimiter>();

  constructor(
    private readonly limits: QuotaLimits,
    limiters: LimiterFactory,
    tools: readonly ToolDefinition[],
    private readonly now: () => number = Date.now,
  ) {
    this.calls = limiters({ keyPrefix: 'quota:calls', points: limits.calls, duration: limits.windowSeconds });
    this.inFlight = limiters({ keyPrefix: 'quota:in-flight', points: limits.inFlight, duration: IN_FLIGHT_HOLD_SECONDS });
    for (const tool of tools) {
      const limit = tool.quota?.calls ?? (tool.risk === 'read' ? limits.readToolCalls : limits.writeToolCalls);
      const windowSeconds = tool.quota?.windowSeconds ?? limits.windowSeconds;
      const limiter = limiters({ keyPrefix: `quota:tool:${tool.name}`, points: limit, duration: windowSeconds, failClosed: tool.risk !== 'read' });
      this.perTool.set(tool.name, { limiter, limit, windowSeconds });
    }
  }

  /** Who `caller` is to every per-user count (the quotas', and the fair share's): hashed. */
  keyOf(caller: Pick<Caller, 'subject' | 'clientId' | 'tenant'>): string {
    return quotaKeyOf(caller, this.limits.key);
  }

  /** Whether `caller` may start a call of `tool` now; on yes, `release` ends its in-flight count. */
  async start(caller: Pick<Caller, 'subject' | 'clientId' | 'tenant'>, tool: ToolDefinition): Promise<QuotaDecision> {
    const key = this.keyOf(caller);
    const giveBack = (limiter: RateLimiterAbstract) => void limiter.reward(key, 1).catch(() => {});
    const running = await outcome(this.inFlight.consume(key, 1), this.now);
    if (!(running instanceof Counted)) {
      // A refused consume still counted: give the slot back at once.
      giveBack(this.inFlight);
      if (running === 'unavailable') return { ok: false, quota: 'unavailable' };
      return { ok: false, quota: 'in_flight', limit: this.limits.inFlight, windowSeconds: 0, retryAfterSeconds: 1 };
    }
    const own = this.perTool.get(tool.name)!;
    const ofTool = await outcome(own.limiter.consume(key, 1), this.now);
    if (!(ofTool instanceof Counted)) {
      giveBack(this.inFlight);
      if (ofTool === 'unavailable') return { ok: false, quota: 'unavailable' };
      return { ok: false, quota: 'tool_calls', limit: own.limit, windowSeconds: own.windowSeconds, retryAfterSeconds: seconds(ofTool) };
    }
    const overall = await outcome(this.calls.consume(key, 1), this.now);
    if (!(overall instanceof Counted)) {
      giveBack(this.inFlight);
      giveBack(own.limiter); // this call was not started: it does not count against the tool
      if (overall === 'unavailable') return { ok: false, quota: 'unavailable' };
      return { ok: false, quota: 'calls', limit: this.limits.calls, windowSeconds: this.limits.windowSeconds, retryAfterSeconds: seconds(overall) };
    }
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        // The in-flight count restarts when its key expires (IN_FLIGHT_HOLD_SECONDS after it was
        // made, whatever happened since): a slot counted before that is gone already, and giving
        // it back would take one from the new count, letting the user run more than their quota.
        if (this.now() < running.until) giveBack(this.inFlight);
      },
    };
  }
}

/** A consume that counted, and until when its count lasts (its key's expiry). */
class Counted {
  constructor(readonly until: number) {}
}

/** Counted, the refusal, or 'unavailable' when the store failed without a stand-in. */
async function outcome(consumed: Promise<RateLimiterRes>, now: () => number): Promise<Counted | RateLimiterRes | 'unavailable'> {
  try {
    const counted = await consumed;
    return new Counted(now() + counted.msBeforeNext);
  } catch (refusal) {
    return refusal instanceof RateLimiterRes ? refusal : 'unavailable';
  }
}

const seconds = (refusal: RateLimiterRes) => Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
