/**
 * The fair share across replicas (src/README.md, "Backend rate limits"): two gates, each with its
 * own record of the backend's answers as two replicas have, counting through one real
 * redis-server (Debian's, installed when missing, stopped by PID) with the limiters the quotas
 * use. A user whose calls are spread over both is held to one share, not one per replica; with
 * Redis stopped, each falls back to its own memory and still lets calls through.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendLimits } from '../../src/backend/index.ts';
import { memoryLimiters, type LimiterFactory } from '../../src/state/limiters.ts';
import { redisLimiters } from '../../src/state/redisLimiters.ts';
import { FairShareGate } from '../../src/tools/fairShare.ts';
import { freePort } from '../helpers/debianPackages.ts';
import { ensureRedis, startRedis, type RedisServer } from '../helpers/redis.ts';

let redis: RedisServer;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis({ binary: await ensureRedis(), port: await freePort() });
  // As Deputy's own client: no offline queue, so a call while Redis is down fails over at once.
  client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1_000 });
  client.on('error', () => {});
  await client.connect();
}, 600_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

/** A replica: its own record of what the backend said, and counters from `limiters`. */
function replica(limiters: LimiterFactory) {
  const limits = new BackendLimits();
  limits.observe('drafts', { limit: 40, remaining: 40, resetSeconds: 30 });
  return { limits, gate: new FairShareGate({ limits, limiters, share: 0.5 }) };
}

/** alice alternates between two replicas until held back; each backend answer reaches the replica that called. */
async function aliceAlternating(replicas: ReturnType<typeof replica>[]): Promise<number> {
  let remaining = 40;
  let alice = 0;
  for (let i = 0; ; i++) {
    const r = replicas[i % 2]!;
    if (!(await r.gate.tryStart(['drafts'], 'alice-hash')).ok) return alice;
    alice++;
    r.limits.observe('drafts', { limit: 40, remaining: --remaining, resetSeconds: 30 });
  }
}

describe('the fair share on Redis', () => {
  it('counts one user once across replicas: alice alternating between two gets one share', async () => {
    const fallbacks = { count: 0 };
    const shared = redisLimiters(client, () => fallbacks.count++);
    const replicas = [replica(shared), replica(shared)];
    // used < remaining: 20 of 40, one more at most since each replica's view of what is left
    // lags the other's last answer.
    const alice = await aliceAlternating(replicas);
    expect(alice).toBeGreaterThanOrEqual(20);
    expect(alice).toBeLessThanOrEqual(21);
    expect(fallbacks.count).toBe(0);
    expect(await replicas[1]!.gate.tryStart(['drafts'], 'bob-hash')).toEqual({ ok: true });
    // Control: counted per replica, the same alternation gets her well past one share.
    expect(await aliceAlternating([replica(memoryLimiters), replica(memoryLimiters)])).toBeGreaterThan(24);
    // Keys live under deputy:fairshare, users only as the hash they were given.
    const keys = await client.keys('deputy:fairshare:*');
    expect(keys.sort()).toEqual(['deputy:fairshare:["drafts","alice-hash"]', 'deputy:fairshare:["drafts","bob-hash"]']);
    expect(await client.pttl(keys[0]!)).toBeGreaterThan(25_000);
  });

  it('Redis stopped: each replica counts in its own memory meanwhile, and calls go on', async () => {
    const fallbacks = { count: 0 };
    const { gate } = replica(redisLimiters(client, () => fallbacks.count++));
    await redis.stop();
    expect(await gate.tryStart(['drafts'], 'carol-hash')).toEqual({ ok: true });
    expect(fallbacks.count).toBeGreaterThan(0);
  });
});
