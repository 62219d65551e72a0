/** Prometheus metrics at /metrics (src/README.md, "Metrics"), counted from the same events as the audit trail. */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { setup, type Harness } from '../helpers/deputy.ts';

const base = { DEPUTY_AUTH_ISSUER: 'http://127.0.0.1:4010', DEPUTY_BACKEND_URL: 'http://127.0.0.1:4010', DEPUTY_OAUTH_CLIENT_ID: 'deputy', DEPUTY_OAUTH_CLIENT_SECRET: 'x' };

/** The value of one sample line, e.g. `deputy_tool_calls_total{tool="listDrafts",outcome="ok"}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics, scraped before any call', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup();
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('is served on the first scrape, when prom-client loads (src/http/metrics.ts), and counts from then on', async () => {
    const metricsUrl = h.deputy.url.replace(/\/mcp$/, '/metrics');
    const first = await fetch(metricsUrl);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const before = await first.text();
    expect(sample(before, 'deputy_open_sessions')).toBe(0);
    expect(sample(before, 'deputy_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(before, 'deputy_tool_calls_total')).toBeUndefined();

    const client = await h.connect();
    await h.callTool(client, 'listDrafts', { limit: 1 });
    const after = await (await fetch(metricsUrl)).text();
    expect(sample(after, 'deputy_tool_calls_total', { tool: 'listDrafts', outcome: 'ok' })).toBe(1);
    expect(sample(after, 'deputy_open_sessions')).toBe(1);
  });
});

describe('/metrics', () => {
  let h: Harness;
  const metricsUrl = () => h.deputy.url.replace(/\/mcp$/, '/metrics');
  beforeAll(async () => {
    // Fair share off: one caller meets the backend's own 429 (the gate's metrics: fairShare.test.ts).
    h = await setup({ env: { DEPUTY_BACKEND_FAIR_SHARE: '1' }, backend: { rateLimit: { limit: 3, windowSeconds: 60 } } });
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('counts calls by outcome, approvals, backend statuses, rate-limit hits and open sessions', async () => {
    const client = await h.connect({ onElicit: () => ({ action: 'decline' }) });
    // The drafts:read token may make 3 requests: the approval lookup, two listDrafts, then a 429.
    await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' }); // declined
    for (let i = 0; i < 3; i++) await h.callTool(client, 'listDrafts', { limit: 1 });
    await h.callTool(client, 'getDraft', { filename: '../x.md' }); // invalid input
    const text = await (await fetch(metricsUrl())).text();

    expect(sample(text, 'deputy_tool_calls_total', { tool: 'listDrafts', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'deputy_tool_calls_total', { tool: 'listDrafts', outcome: 'tool_error' })).toBe(1);
    expect(sample(text, 'deputy_tool_calls_total', { tool: 'getDraft', outcome: 'invalid_input' })).toBe(1);
    expect(sample(text, 'deputy_approvals_total', { tool: 'publishDraft', decision: 'declined' })).toBe(1);
    expect(sample(text, 'deputy_backend_responses_total', { tool: 'listDrafts', status: '200' })).toBe(2);
    expect(sample(text, 'deputy_backend_rate_limited_total', { tool: 'listDrafts' })).toBe(1);
    expect(sample(text, 'deputy_backend_request_duration_seconds_count', { tool: 'listDrafts' })).toBe(3);
    expect(sample(text, 'deputy_tool_call_duration_seconds_count', { tool: 'listDrafts' })).toBe(3);
    expect(sample(text, 'deputy_open_sessions')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('deputy_process_resident_memory_bytes');
    for (const token of h.issuedTokens) expect(text).not.toContain(token);
  });

  it('without DEPUTY_REDIS_URL the shared state is this process: up, and no errors', async () => {
    const text = await (await fetch(metricsUrl())).text();
    expect(sample(text, 'deputy_shared_state_up')).toBe(1);
    expect(sample(text, 'deputy_shared_state_errors_total')).toBe(0);
  });

  it('every metric of its own is in the table of src/README.md, "Metrics"', async () => {
    const text = await (await fetch(metricsUrl())).text();
    const own = [...text.matchAll(/^# HELP (deputy_\w+)/gm)].map((m) => m[1]!).filter((name) => !/^deputy_(process|nodejs)_/.test(name));
    expect(own).toContain('deputy_shared_state_up');
    const readme = await readFile(new URL('../../src/README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('\n## Metrics\n'), readme.indexOf('\n## ', readme.indexOf('\n## Metrics\n') + 1));
    const documented = [...table.matchAll(/^\| `(deputy_\w+)` \|/gm)].map((m) => m[1]);
    expect(own.filter((name) => !documented.includes(name))).toEqual([]);
  });
});

describe('who may read /metrics', () => {
  it('is open on a loopback bind', () => {
    expect(loadConfig({ ...base }).metrics).toEqual({ token: null });
  });
  it('is not served on a non-loopback bind without a scrape token', () => {
    expect(loadConfig({ ...base, DEPUTY_HOST: '0.0.0.0' }).metrics).toBeNull();
  });
  it('needs the scrape token when one is set, and can be turned off', () => {
    expect(loadConfig({ ...base, DEPUTY_HOST: '0.0.0.0', DEPUTY_METRICS_TOKEN: 'scrape-token-0123456789' }).metrics).toEqual({ token: 'scrape-token-0123456789' });
    expect(loadConfig({ ...base, DEPUTY_METRICS: 'off' }).metrics).toBeNull();
  });

  it('answers 401 without the scrape token and 200 with it', async () => {
    const h = await setup({ env: { DEPUTY_METRICS_TOKEN: 'scrape-token-0123456789' } });
    try {
      const url = h.deputy.url.replace(/\/mcp$/, '/metrics');
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('deputy_open_sessions');
    } finally {
      await h.teardown();
    }
  });
});
