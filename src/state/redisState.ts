/**
 * The shared state on Redis/Valkey (src/README.md, "Shared state"), for `DEPUTY_REDIS_URL`.
 *
 * The Redis client (ioredis) reconnects by itself and keeps no offline queue, so while Redis is
 * away a command fails at once instead of waiting: counters then go on in memory per replica
 * (reads), while single-use records and fail-closed counters refuse (writes). Connection trouble
 * is logged at most once per `WARN_EVERY_MS`, never once per call; the URL (it may carry a
 * password) is never logged.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisLimiters } from './redisLimiters.ts';
import { redisPendingApprovals } from './pendingApprovals.ts';
import type { SharedState } from './sharedState.ts';
import { redisSingleUse } from './singleUse.ts';

export interface RedisStateOptions {
  log: Logger;
  /** Hears of every failed or skipped store operation (the `deputy_shared_state_errors_total` counter). */
  onError?: () => void;
  now?: () => number;
}

const WARN_EVERY_MS = 30_000;
/** How long a readiness check waits for a connection in progress (the other checks allow 2 s too). */
const CHECK_WAIT_MS = 2_000;

function readyWithin(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'end') return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    client.once('ready', onReady);
  });
}

export function redisState(url: string, options: RedisStateOptions): SharedState {
  const { log } = options;
  const now = options.now ?? Date.now;
  const onError = options.onError ?? (() => {});
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    // Reconnect for ever, at most every 2 s: recovery needs no restart.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });

  let lastWarnAt = Number.NEGATIVE_INFINITY;
  let unreported = 0;
  let wasDown = false;
  const warn = (reason: string) => {
    unreported += 1;
    if (now() - lastWarnAt < WARN_EVERY_MS) return;
    log.warn({ reason, errorsSinceLastWarning: unreported }, 'SHARED STATE (Redis) UNAVAILABLE: reads go on with per-replica limits, writes and approvals are refused');
    lastWarnAt = now();
    unreported = 0;
  };
  client.on('error', (error: NodeJS.ErrnoException) => {
    onError();
    wasDown = true;
    warn(error.code ?? error.name);
  });
  client.on('close', () => {
    if (client.status !== 'end') wasDown = true;
  });
  client.on('ready', () => {
    if (wasDown) log.info('shared state (Redis) reachable again');
    wasDown = false;
    lastWarnAt = Number.NEGATIVE_INFINITY;
  });

  const reportError = () => {
    onError();
    warn('a command failed');
  };
  return {
    kind: 'redis',
    limiters: redisLimiters(client, reportError),
    approvals: redisSingleUse(client, 'approval', reportError, now),
    pendingApprovals: redisPendingApprovals(client, reportError, now),
    up: () => client.status === 'ready',
    async check() {
      // Just started or reconnecting: give the connection the time a probe allows before saying no.
      if (client.status !== 'ready' && !(await readyWithin(client, CHECK_WAIT_MS))) return false;
      try {
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      client.disconnect();
    },
  };
}
