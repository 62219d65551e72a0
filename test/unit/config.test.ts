import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const complete = {
  DEPUTY_AUTH_ISSUER: 'https://auth.example.com',
  DEPUTY_BACKEND_URL: 'https://admin.example.com/api',
  DEPUTY_OAUTH_CLIENT_ID: 'deputy',
  DEPUTY_OAUTH_CLIENT_SECRET: 'secret-value',
};

function problemsOf(env: Record<string, string | undefined>, transport: 'http' | 'stdio' = 'http'): string[] {
  try {
    loadConfig(env, transport);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n').slice(1).map((line) => line.trim());
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig reports every problem at once', () => {
  it('accepts a complete environment', () => {
    const config = loadConfig(complete);
    expect(config.backend.url).toBe('https://admin.example.com/api');
    expect(config.tokens).toMatchObject({ provider: 'client_credentials', tokenUrl: 'https://auth.example.com/oauth/token' });
  });

  it('names all four missing variables of an empty environment, each with a fix', () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'DEPUTY_AUTH_ISSUER',
      'DEPUTY_BACKEND_URL',
      'DEPUTY_OAUTH_CLIENT_ID',
      'DEPUTY_OAUTH_CLIENT_SECRET',
    ]);
    for (const problem of problems) expect(problem).toMatch(/is not set — \S+/);
  });

  it('reports invalid values together with missing ones', () => {
    const problems = problemsOf({ PORT: 'eighty', DEPUTY_MODE: 'sometimes', DEPUTY_BACKEND_URL: 'not a url', DEPUTY_TOKEN_PROVIDER: 'static' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: .* — set it to a port number 0-65535$/),
        expect.stringMatching(/^DEPUTY_MODE: .* — set it to stateful or stateless$/),
        expect.stringMatching(/^DEPUTY_BACKEND_URL: .* — set it to an absolute URL/),
        expect.stringMatching(/^DEPUTY_AUTH_ISSUER is not set — /),
        expect.stringMatching(/^DEPUTY_TOKEN_FILE is not set — /),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('DEPUTY_BACKEND_FAIR_SHARE: 0.5 by default, any share in (0, 1], nothing else', () => {
    expect(loadConfig(complete).backend.fairShare).toBe(0.5);
    expect(loadConfig({ ...complete, DEPUTY_BACKEND_FAIR_SHARE: '1' }).backend.fairShare).toBe(1);
    expect(loadConfig({ ...complete, DEPUTY_BACKEND_FAIR_SHARE: '0.25' }).backend.fairShare).toBe(0.25);
    for (const bad of ['0', '1.5', '-0.1', 'half']) {
      expect(problemsOf({ ...complete, DEPUTY_BACKEND_FAIR_SHARE: bad })).toEqual([expect.stringMatching(/^DEPUTY_BACKEND_FAIR_SHARE: .* — set it to a number above 0 and at most 1/)]);
    }
  });

  it('DEPUTY_BODY_TIMEOUT_SECONDS: 30 s by default, whole seconds from 1 to 3600, nothing else', () => {
    expect(loadConfig(complete).bodyTimeoutMs).toBe(30_000);
    expect(loadConfig({ ...complete, DEPUTY_BODY_TIMEOUT_SECONDS: '3600' }).bodyTimeoutMs).toBe(3_600_000);
    for (const bad of ['0', '3601', '1.5', 'soon']) {
      expect(problemsOf({ ...complete, DEPUTY_BODY_TIMEOUT_SECONDS: bad })).toEqual([expect.stringMatching(/^DEPUTY_BODY_TIMEOUT_SECONDS: .* — set it to whole seconds from 1 to 3600/)]);
    }
  });

  it('reports a variable set to an invalid empty value once', () => {
    const problems = problemsOf({ ...complete, DEPUTY_BACKEND_URL: '' });
    expect(problems).toEqual([expect.stringMatching(/^DEPUTY_BACKEND_URL: .* — set it to an absolute URL/)]);
  });

  it('asks for the token URL only when no issuer can supply it (stdio)', () => {
    const problems = problemsOf({ DEPUTY_BACKEND_URL: complete.DEPUTY_BACKEND_URL, DEPUTY_OAUTH_CLIENT_ID: 'x', DEPUTY_OAUTH_CLIENT_SECRET: 'y' }, 'stdio');
    expect(problems).toEqual([expect.stringMatching(/^DEPUTY_OAUTH_TOKEN_URL is not set — .*DEPUTY_AUTH_ISSUER/)]);
  });

  it('never echoes a secret value it refuses', () => {
    let message = '';
    try {
      loadConfig({ ...complete, DEPUTY_METRICS_TOKEN: 'short-s3cr3t' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DEPUTY_METRICS_TOKEN: .* — set it to a random token of 16\+ characters/);
    expect(message).not.toContain('short-s3cr3t');
  });
});

describe('per-user quotas and shared state', () => {
  it('defaults fit the mock backend (60 requests per 10 s per token) and keep one user well below the session cap', () => {
    const config = loadConfig(complete);
    expect(config.quotas).toEqual({ windowSeconds: 10, calls: 30, readToolCalls: 20, writeToolCalls: 5, inFlight: 4, sessions: 10, key: 'subject' });
    expect(config.quotas.writeToolCalls).toBeLessThan(config.quotas.readToolCalls);
    expect(config.redisUrl).toBeNull();
    // The session share follows the global cap: a tenth of it, at most 10, at least 1.
    expect(loadConfig({ ...complete, DEPUTY_MAX_SESSIONS: '40' }).quotas.sessions).toBe(4);
    expect(loadConfig({ ...complete, DEPUTY_MAX_SESSIONS: '5' }).quotas.sessions).toBe(1);
  });

  it('reads every quota variable and the Redis URL', () => {
    const config = loadConfig({
      ...complete,
      DEPUTY_QUOTA_WINDOW_SECONDS: '60',
      DEPUTY_QUOTA_CALLS: '100',
      DEPUTY_QUOTA_READ_TOOL_CALLS: '50',
      DEPUTY_QUOTA_WRITE_TOOL_CALLS: '2',
      DEPUTY_QUOTA_IN_FLIGHT: '3',
      DEPUTY_QUOTA_SESSIONS: '7',
      DEPUTY_QUOTA_KEY: 'subject,client',
      DEPUTY_REDIS_URL: 'rediss://:pw@redis.internal:6380/1',
    });
    expect(config.quotas).toEqual({ windowSeconds: 60, calls: 100, readToolCalls: 50, writeToolCalls: 2, inFlight: 3, sessions: 7, key: 'subject,client' });
    expect(config.redisUrl).toBe('rediss://:pw@redis.internal:6380/1');
  });

  it('refuses a session share that would let one user take every slot, the old per-session variables, and a URL that is not Redis — without echoing it', () => {
    const problems = problemsOf({
      ...complete,
      DEPUTY_MAX_SESSIONS: '20',
      DEPUTY_QUOTA_SESSIONS: '20',
      DEPUTY_SESSION_CALLS_PER_MINUTE: '120',
      DEPUTY_REDIS_URL: 'http://user:hunter2-secret@redis:6379',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^DEPUTY_REDIS_URL: must start with redis:\/\/ or rediss:\/\/ — set it to redis:\/\//),
      expect.stringMatching(/^DEPUTY_SESSION_CALLS_PER_MINUTE is no longer read — use DEPUTY_QUOTA_CALLS per DEPUTY_QUOTA_WINDOW_SECONDS/),
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problemsOf({ ...complete, DEPUTY_MAX_SESSIONS: '20', DEPUTY_QUOTA_SESSIONS: '20' })).toEqual([
      expect.stringMatching(/^DEPUTY_QUOTA_SESSIONS: 20 is not below DEPUTY_MAX_SESSIONS \(20\) — set it to a number below DEPUTY_MAX_SESSIONS/),
    ]);
  });
});
