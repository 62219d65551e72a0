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
