import { describe, expect, it } from 'vitest';
import { cachedReadiness } from '../../src/http/readiness.ts';

describe('cachedReadiness', () => {
  it('runs the checks at most once per max age, whatever the number of requests', async () => {
    let clock = 0;
    let calls = 0;
    let up = false;
    const readiness = cachedReadiness([{ name: 'backend', check: async () => (calls++, up) }], 5_000, () => clock);
    const burst = await Promise.all(Array.from({ length: 20 }, () => readiness.current()));
    expect(burst.every((state) => state.backend === false)).toBe(true);
    expect(calls).toBe(1);

    up = true;
    clock = 4_999;
    expect(await readiness.current()).toEqual({ backend: false });
    expect(calls).toBe(1);
    clock = 5_000;
    expect(await readiness.current()).toEqual({ backend: true });
    expect(calls).toBe(2);
  });

  it('counts a check that throws as not ready', async () => {
    const readiness = cachedReadiness([{ name: 'authorizationServer', check: () => Promise.reject(new Error('ECONNREFUSED')) }], 1_000);
    expect(await readiness.current()).toEqual({ authorizationServer: false });
  });

  it('reports a failed optional check as degraded with its reason, a failed required one as not ready', async () => {
    let backend = true;
    let shared = true;
    let clock = 0;
    const readiness = cachedReadiness(
      [
        { name: 'backend', check: async () => backend },
        { name: 'sharedState', check: async () => shared, degradedReason: 'reads go on, writes are refused' },
      ],
      1_000,
      () => clock,
    );
    expect(await readiness.report()).toEqual({ status: 'ready', checks: { backend: true, sharedState: true } });
    shared = false;
    clock += 1_000;
    expect(await readiness.report()).toEqual({ status: 'degraded', checks: { backend: true, sharedState: false }, degraded: ['sharedState: reads go on, writes are refused'] });
    backend = false;
    clock += 1_000;
    expect(await readiness.report()).toEqual({ status: 'not_ready', checks: { backend: false, sharedState: false } });
  });
});
