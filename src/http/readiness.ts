/**
 * Readiness from a cached state. `/readyz` is unauthenticated, so it must not turn each request
 * into outbound calls: the checks run at most once per `maxAgeMs`, one round at a time, and
 * every request in between gets the last answer.
 *
 * A check with `degradedReason` is not required for readiness: when it fails, Deputy still
 * serves (reads go on without the shared state, src/README.md "Shared state"), and `/readyz`
 * answers 200 `degraded` with that reason rather than 503, which would take every replica out
 * of the load balancer at once when the store they share goes away.
 */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
  /** Set for a check Deputy can serve without: what failing it means, shown by `/readyz`. */
  degradedReason?: string;
}

export type ReadinessState = Record<string, boolean>;

export interface ReadinessReport {
  status: 'ready' | 'degraded' | 'not_ready';
  checks: ReadinessState;
  /** The reasons of the failed optional checks; present when degraded. */
  degraded?: string[];
}

export interface Readiness {
  /** The state no older than `maxAgeMs` (running the checks first when it is). */
  current(): Promise<ReadinessState>;
  /** The same state, judged: what `/readyz` answers. */
  report(): Promise<ReadinessReport>;
}

export function cachedReadiness(checks: readonly ReadinessCheck[], maxAgeMs: number, now: () => number = Date.now): Readiness {
  let last: { at: number; state: ReadinessState } | null = null;
  let running: Promise<ReadinessState> | null = null;
  const refresh = async (): Promise<ReadinessState> => {
    const results = await Promise.all(checks.map(async ({ name, check }) => [name, await check().catch(() => false)] as const));
    const state = Object.fromEntries(results);
    last = { at: now(), state };
    return state;
  };
  const current = () => {
    if (last !== null && now() - last.at < maxAgeMs) return Promise.resolve(last.state);
    running ??= refresh().finally(() => {
      running = null;
    });
    return running;
  };
  return {
    current,
    async report() {
      const state = await current();
      const failed = checks.filter(({ name }) => !state[name]);
      if (failed.some((c) => c.degradedReason === undefined)) return { status: 'not_ready', checks: state };
      if (failed.length > 0) return { status: 'degraded', checks: state, degraded: failed.map((c) => `${c.name}: ${c.degradedReason}`) };
      return { status: 'ready', checks: state };
    },
  };
}
