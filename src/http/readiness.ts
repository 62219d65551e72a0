/**
 * Readiness from a cached state. `/readyz` is unauthenticated, so it must not turn each request
 * into outbound calls: the checks run at most once per `maxAgeMs`, one round at a time, and
 * every request in between gets the last answer.
 */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export type ReadinessState = Record<string, boolean>;

export interface Readiness {
  /** The state no older than `maxAgeMs` (running the checks first when it is). */
  current(): Promise<ReadinessState>;
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
  return {
    current() {
      if (last !== null && now() - last.at < maxAgeMs) return Promise.resolve(last.state);
      running ??= refresh().finally(() => {
        running = null;
      });
      return running;
    },
  };
}
