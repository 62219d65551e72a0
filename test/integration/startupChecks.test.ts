/**
 * Deputy refuses to start without a backend credential for every operation it may call, and
 * warns loudly about credentials holding more scopes than their operation needs (src/README.md D3).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { loadConfig } from '../../src/config.ts';
import { tools, type ToolDefinition } from '../../src/generated/tools.ts';
import { serveHttp } from '../../src/serve.ts';
import { StartupError } from '../../src/serveCommon.ts';
import { createAuditLog } from '../../src/tools/audit.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
let backend: MockBackend;
const dir = mkdtempSync(join(tmpdir(), 'deputy-startup-'));
beforeAll(async () => {
  backend = await startMockBackend();
});
afterAll(async () => {
  await backend?.close();
});

function tokenFile(name: string, entries: { id: string; scopes: string[]; token: string }[]): string {
  const path = join(dir, name);
  writeFileSync(path, `tokens:\n${entries.map((e) => `  - id: ${e.id}\n    scopes: [${e.scopes.join(', ')}]\n    token: ${e.token}\n`).join('')}`);
  return path;
}

function start(file: string, extraEnv: Record<string, string> = {}) {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
  const config = loadConfig({
    PORT: '0',
    DEPUTY_AUTH_ISSUER: backend.url,
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_TOKEN_PROVIDER: 'static',
    DEPUTY_TOKEN_FILE: file,
    ...extraEnv,
  });
  const running = serveHttp(config, { tools, log: pino(sink), audit: createAuditLog({ destination: sink, redactArguments: [] }) });
  return { running, lines };
}

const KEYS = {
  draftsRead: 'acme_dev_drafts_read_7f3c9a1e5b2d4f60',
  draftsPublish: 'acme_dev_drafts_publish_2b8e6d0c4a9f1e37',
  customersRead: 'acme_dev_customers_read_9d1f7b3e5c0a2846',
  ticketsRead: 'acme_dev_tickets_read_4e6a2c8f0b7d1935',
  ticketsWrite: 'acme_dev_tickets_write_1c5e9a3d7f2b6048',
  reporting: 'acme_dev_reporting_8a0c4e2f6b1d9357',
};

describe('start-up credential checks', () => {
  it('refuses to start without a credential for every operation, naming them', async () => {
    const file = tokenFile('partial.yaml', [{ id: 'drafts-read', scopes: ['drafts:read'], token: KEYS.draftsRead }]);
    const { running } = start(file);
    const error = await running.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    const message = (error as Error).message;
    for (const op of ['publishDraft', 'getCustomer', 'searchCustomers', 'listCustomerTickets', 'addTicketNote']) expect(message).toContain(op);
    expect(message).not.toContain('listDrafts (');
    expect(message).not.toContain(KEYS.draftsRead);
  });

  it('warns loudly about an over-privileged key found by introspection, without printing it', async () => {
    const file = tokenFile('broad.yaml', [
      // The reporting key holds drafts:read AND posts:read, but serves drafts:read operations.
      { id: 'reporting', scopes: ['drafts:read'], token: KEYS.reporting },
      { id: 'publish', scopes: ['drafts:publish'], token: KEYS.draftsPublish },
      { id: 'customers', scopes: ['customers:read'], token: KEYS.customersRead },
      { id: 'tickets-read', scopes: ['tickets:read'], token: KEYS.ticketsRead },
      { id: 'tickets-write', scopes: ['tickets:write'], token: KEYS.ticketsWrite },
    ]);
    const { running, lines } = start(file, {
      DEPUTY_OAUTH_INTROSPECTION_URL: `${backend.url}/oauth/introspect`,
      DEPUTY_OAUTH_CLIENT_ID: 'deputy',
      DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
    });
    const deputy = await running;
    await deputy.close();
    const warnings = lines.filter((line) => line.includes('OVER-PRIVILEGED'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.join('\n')).toContain('posts:read');
    expect(warnings.join('\n')).toContain('listDrafts');
    expect(lines.join('\n')).not.toContain(KEYS.reporting);
    expect(lines.join('\n')).not.toContain('dev-secret-deputy');
  });
});

describe('an OAuth provider with the token file alongside', () => {
  // The Acme tools, with listDrafts also needing a partner API key in a header (a requirement
  // that combines an oauth2 token and an API key): OAuth can mint the first, never the second.
  const withPartnerKey = structuredClone(tools) as unknown as ToolDefinition[];
  withPartnerKey.find((t) => t.name === 'listDrafts')!.operation.credentials.push({ scheme: 'partnerKey', kind: 'header', name: 'X-Partner-Key', scopes: [] });
  const oauth = { DEPUTY_TOKEN_PROVIDER: 'client_credentials', DEPUTY_OAUTH_CLIENT_ID: 'deputy', DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy' };
  const PARTNER_KEY = 'partner_key_5d3b1f9e7c';

  function startOAuth(extraEnv: Record<string, string>) {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const config = loadConfig({ PORT: '0', DEPUTY_AUTH_ISSUER: backend.url, DEPUTY_BACKEND_URL: backend.url, ...oauth, ...extraEnv });
    return serveHttp(config, { tools: withPartnerKey, log: pino(sink), audit: createAuditLog({ destination: sink, redactArguments: [] }) });
  }

  it('refuses to start when nothing serves the API key, naming operation and scheme', async () => {
    const error = await startOAuth({}).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toBe(
      'OAuth mints bearer tokens only; no credential for: listDrafts (scheme partnerKey: header API key). Set DEPUTY_TOKEN_FILE to a token file with a `scheme:` entry for each.',
    );
  });

  it('refuses a token file that lacks the scheme, and starts with one that has it', async () => {
    const other = join(dir, 'other-scheme.yaml');
    writeFileSync(other, `tokens:\n  - {id: other, scheme: otherKey, token: ${PARTNER_KEY}}\n`);
    const error = await startOAuth({ DEPUTY_TOKEN_FILE: other }).then(() => null, (e: unknown) => e);
    expect((error as Error).message).toContain('listDrafts (scheme partnerKey: header API key) — the static token file has no entry with `scheme: partnerKey`');
    expect((error as Error).message).not.toContain(PARTNER_KEY);

    const good = join(dir, 'partner.yaml');
    writeFileSync(good, `tokens:\n  - {id: partner, scheme: partnerKey, token: ${PARTNER_KEY}}\n`);
    const deputy = await startOAuth({ DEPUTY_TOKEN_FILE: good });
    await deputy.close();
  });
});

describe('operator messages at start-up', () => {
  const oauthEnv = (extra: Record<string, string>) =>
    loadConfig({
      PORT: '0',
      DEPUTY_AUTH_ISSUER: backend.url,
      DEPUTY_BACKEND_URL: backend.url,
      DEPUTY_TOKEN_PROVIDER: 'client_credentials',
      DEPUTY_OAUTH_CLIENT_ID: 'deputy',
      DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
      ...extra,
    });
  const startWith = (config: ReturnType<typeof loadConfig>) => {
    const sink = new Writable({ write: (_chunk, _e, done) => done() });
    return serveHttp(config, { tools, log: pino(sink), audit: createAuditLog({ destination: sink, redactArguments: [] }) });
  };
  const operations = [...new Set(tools.map((t) => t.operation.operationId))];

  it('a wrong client secret is one line naming every operation, with the fix and no secret', async () => {
    const error = await startWith(oauthEnv({ DEPUTY_OAUTH_CLIENT_SECRET: 'wrong-secret-4f1c' })).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    const [head, ...lines] = (error as Error).message.split('\n');
    expect(head).toBe('cannot obtain backend tokens (1 cause):');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/invalid_client\), for .* — fix: check DEPUTY_OAUTH_CLIENT_ID and DEPUTY_OAUTH_CLIENT_SECRET/);
    for (const op of operations) expect(lines[0]).toContain(op);
    expect((error as Error).message).not.toContain('wrong-secret-4f1c');
  });

  it('an unreachable token endpoint is one line pointing at DEPUTY_OAUTH_TOKEN_URL', async () => {
    const error = await startWith(oauthEnv({ DEPUTY_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/oauth/token' })).then(() => null, (e: unknown) => e);
    const lines = (error as Error).message.split('\n').slice(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unreachable \(ECONNREFUSED\)\), for .* — fix: check DEPUTY_OAUTH_TOKEN_URL \(http:\/\/127\.0\.0\.1:9\/oauth\/token\)/);
  });

  it('an occupied port names PORT', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const error = await startWith(oauthEnv({ PORT: String(port) })).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(StartupError);
      expect((error as Error).message).toBe(`127.0.0.1:${port} is already in use — set PORT to a free port (or stop the process holding it)`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('the mock backend on an occupied port', () => {
  it('names MOCK_BACKEND_PORT', { timeout: 60_000 }, async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile('npx', ['tsx', 'mock-backend/main.ts'], { cwd: root, env: { ...process.env, MOCK_BACKEND_PORT: String(port) } }, (err, _stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`mock-backend: could not start: port ${port} is already in use — set MOCK_BACKEND_PORT to a free port`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('start-up with an unreachable backend', () => {
  it('warns loudly and /readyz says so, from a cached state', async () => {
    let hits = 0;
    const counting = createServer((_req, res) => (hits++, res.writeHead(503).end()));
    await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve));
    const backendUrl = `http://127.0.0.1:${(counting.address() as AddressInfo).port}`;
    const file = tokenFile('all.yaml', [
      { id: 'drafts-read', scopes: ['drafts:read'], token: KEYS.draftsRead },
      { id: 'publish', scopes: ['drafts:publish'], token: KEYS.draftsPublish },
      { id: 'customers', scopes: ['customers:read'], token: KEYS.customersRead },
      { id: 'tickets-read', scopes: ['tickets:read'], token: KEYS.ticketsRead },
      { id: 'tickets-write', scopes: ['tickets:write'], token: KEYS.ticketsWrite },
    ]);
    const { running, lines } = start(file, { DEPUTY_BACKEND_URL: backendUrl });
    const deputy = await running;
    try {
      expect(lines.filter((line) => line.includes('BACKEND UNREACHABLE at start-up')).join('\n')).toContain('check DEPUTY_BACKEND_URL');
      expect(lines.some((line) => line.includes('AUTHORIZATION SERVER UNREACHABLE'))).toBe(false);
      const origin = new URL(deputy.url).origin;
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${origin}/readyz`)));
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(await answer.json()).toEqual({ status: 'not_ready', checks: { backend: false, authorizationServer: true } });
      }
      // The start-up check, and at most one refresh: never one outbound call per request.
      expect(hits).toBeLessThanOrEqual(2);
    } finally {
      await deputy.close();
      counting.close();
    }
  });
});

describe('a request during start-up', () => {
  it('is answered once Deputy is ready, not left hanging', async () => {
    // The backend holds Deputy's start-up readiness check until released: Deputy is then
    // listening but not yet ready.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let checked!: () => void;
    const readinessChecked = new Promise<void>((resolve) => (checked = resolve));
    const holding = createServer((_req, res) => (checked(), void released.then(() => res.writeHead(200).end())));
    await new Promise<void>((resolve) => holding.listen(0, '127.0.0.1', resolve));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const file = tokenFile('early.yaml', [
      { id: 'drafts-read', scopes: ['drafts:read'], token: KEYS.draftsRead },
      { id: 'publish', scopes: ['drafts:publish'], token: KEYS.draftsPublish },
      { id: 'customers', scopes: ['customers:read'], token: KEYS.customersRead },
      { id: 'tickets-read', scopes: ['tickets:read'], token: KEYS.ticketsRead },
      { id: 'tickets-write', scopes: ['tickets:write'], token: KEYS.ticketsWrite },
    ]);
    const { running } = start(file, { PORT: String(port), DEPUTY_BACKEND_URL: `http://127.0.0.1:${(holding.address() as AddressInfo).port}` });
    try {
      await readinessChecked;
      const early = fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
      // Let the request reach Deputy while it still waits on the check.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      const answer = await early;
      expect(answer.status).toBe(200);
    } finally {
      release();
      await (await running).close();
      holding.close();
    }
  });
});

describe('stdio start-up with an unreachable backend', () => {
  it('warns loudly on stderr', { timeout: 60_000 }, async () => {
    const down = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const file = tokenFile('stdio-all.yaml', [
      { id: 'drafts-read', scopes: ['drafts:read'], token: KEYS.draftsRead },
      { id: 'publish', scopes: ['drafts:publish'], token: KEYS.draftsPublish },
      { id: 'customers', scopes: ['customers:read'], token: KEYS.customersRead },
      { id: 'tickets-read', scopes: ['tickets:read'], token: KEYS.ticketsRead },
      { id: 'tickets-write', scopes: ['tickets:write'], token: KEYS.ticketsWrite },
    ]);
    const backendUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'stdio', '--backend-url', backendUrl, '--token-file', file], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DEPUTY_AUDIT_LOG: 'stderr' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    try {
      const warning = await new Promise<string>((resolve, reject) => {
        let seen = '';
        child.stderr.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          const line = seen.split('\n').find((l) => l.includes('BACKEND UNREACHABLE'));
          if (line) resolve(line);
        });
        child.once('exit', () => reject(new Error(`exited before warning: ${seen}`)));
      });
      expect(warning).toContain('check DEPUTY_BACKEND_URL');
      expect(warning).toContain(backendUrl);
    } finally {
      child.kill();
      down.close();
    }
  });
});
