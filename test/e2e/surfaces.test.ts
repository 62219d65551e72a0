/**
 * Surfaces (openapi/README.md, "Surfaces"; src/README.md D42), through the front door: the
 * shipped manifest's `support` (read-only) and `content` surfaces on one Deputy, driven by the v1
 * SDK client (2025 era) and the v2 client (2026-07-28). Each surface lists and calls only its own
 * tools, accepts only tokens for its own audience, publishes its own metadata, keeps its own
 * sessions and uses its own token file entries; per-user quotas are one budget across them; a
 * read-only surface provably cannot write, and refuses to start holding a credential that could.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { loadConfig } from '../../src/config.ts';
import { profile, tools, type SurfaceDefinition } from '../../src/generated/tools.ts';
import { serveHttp, type Deputy } from '../../src/serve.ts';
import { StartupError } from '../../src/serveCommon.ts';
import { createAuditLog } from '../../src/tools/audit.ts';
import { findLeaks, jsonRpcMessages, postModernTo, postTo, setup, textOf, type Harness } from '../helpers/deputy.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../helpers/debianPackages.ts';
import { ensureNginx, startNginx, type Nginx } from '../helpers/nginx.ts';
import { startStdioDeputy } from '../helpers/stdioDeputy.ts';
import { mintBackendToken } from '../helpers/tokens.ts';

const SURFACES: readonly SurfaceDefinition[] = profile.surfaces!;
const toolsOf = (name: string) => SURFACES.find((s) => s.name === name)!.tools;

/** The mock's opaque static keys (mock-backend/fixtures/static-tokens.yaml): public dev values. */
const KEYS = {
  draftsRead: 'acme_dev_drafts_read_7f3c9a1e5b2d4f60', // subject svc-deputy
  reporting: 'acme_dev_reporting_8a0c4e2f6b1d9357', // drafts:read + posts:read, subject svc-reporting
  draftsPublish: 'acme_dev_drafts_publish_2b8e6d0c4a9f1e37',
  customersRead: 'acme_dev_customers_read_9d1f7b3e5c0a2846',
  ticketsRead: 'acme_dev_tickets_read_4e6a2c8f0b7d1935',
  ticketsWrite: 'acme_dev_tickets_write_1c5e9a3d7f2b6048',
};

const dir = mkdtempSync(join(tmpdir(), 'deputy-surfaces-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tokenFile(name: string, entries: Record<string, unknown>[]): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({ tokens: entries }));
  return path;
}

/** Each surface reads drafts with its own key, so the backend can tell which surface called. */
const PER_SURFACE = [
  { id: 'support-drafts', scopes: ['drafts:read'], surfaces: ['support'], token: KEYS.draftsRead },
  { id: 'content-drafts', scopes: ['drafts:read'], surfaces: ['content'], token: KEYS.reporting },
  { id: 'content-publish', scopes: ['drafts:publish'], surfaces: ['content'], token: KEYS.draftsPublish },
  { id: 'customers', scopes: ['customers:read'], token: KEYS.customersRead },
  { id: 'tickets-read', scopes: ['tickets:read'], token: KEYS.ticketsRead },
  { id: 'content-tickets-write', scopes: ['tickets:write'], surfaces: ['content'], token: KEYS.ticketsWrite },
];

const STATIC = (file: string) => ({ DEPUTY_TOKEN_PROVIDER: 'static', DEPUTY_TOKEN_FILE: file });

describe('two surfaces on one Deputy', () => {
  let h: Harness;
  let support: string;
  let content: string;
  beforeAll(async () => {
    h = await setup({ surfaces: SURFACES, env: STATIC(tokenFile('per-surface.yaml', PER_SURFACE)) });
    support = h.deputy.surfaces.find((s) => s.name === 'support')!.url;
    content = h.deputy.surfaces.find((s) => s.name === 'content')!.url;
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('serves each surface at its own path, with its own resource URL', () => {
    const origin = new URL(h.deputy.url).origin;
    expect(h.deputy.surfaces.map((s) => [s.name, s.url, s.readOnly])).toEqual([
      ['content', `${origin}/mcp/content`, false],
      ['support', `${origin}/mcp/support`, true],
    ]);
  });

  it('each surface lists only its own tools (2025-era client and 2026-07-28 client)', async () => {
    for (const [name, url] of [['support', support], ['content', content]] as const) {
      const legacy = await h.connect({ url });
      expect((await legacy.listTools()).tools.map((t) => t.name).sort()).toEqual([...toolsOf(name)]);
      const modern = await h.connectModern({ url });
      expect((await modern.listTools()).tools.map((t) => t.name).sort()).toEqual([...toolsOf(name)]);
    }
    expect(toolsOf('support')).not.toContain('publishDraft');
    expect(toolsOf('content')).toContain('publishDraft');
  });

  it('a token for one surface is refused on the other with 401 invalid_token', async () => {
    const forContent = await h.agentToken(undefined, 'dev', { audience: content });
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    const refused = await postTo(support, init, { token: forContent });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(refused.headers.get('www-authenticate')).toContain('/.well-known/oauth-protected-resource/mcp/support');
    await refused.body?.cancel();
    const accepted = await postTo(content, init, { token: forContent });
    expect(accepted.status).toBe(200);
    await accepted.body?.cancel();
    // A token for the single /mcp is no token for either surface, and /mcp itself is not served.
    const forMcp = await h.agentToken(undefined, 'dev', { audience: `${new URL(support).origin}/mcp` });
    expect((await postTo(support, init, { token: forMcp })).status).toBe(401);
    expect((await postTo(`${new URL(support).origin}/mcp`, init, { token: forMcp })).status).toBe(404);
  });

  it('publishes Protected Resource Metadata per surface, with only its tools\' scopes', async () => {
    const origin = new URL(support).origin;
    const doc = async (path: string) => (await fetch(`${origin}/.well-known/oauth-protected-resource${path}`)).json() as Promise<{ resource: string; scopes_supported: string[]; resource_name: string }>;
    const ofSupport = await doc('/mcp/support');
    expect(ofSupport.resource).toBe(support);
    expect(ofSupport.scopes_supported).toEqual(['customers:read', 'drafts:read', 'tickets:read']);
    expect(ofSupport.resource_name).toBe('Deputy: Customer support (read-only)');
    const ofContent = await doc('/mcp/content');
    expect(ofContent.resource).toBe(content);
    expect(ofContent.scopes_supported).toEqual(['drafts:publish', 'drafts:read', 'tickets:read', 'tickets:write']);
    // The root variant could not say which resource it describes.
    expect((await fetch(`${origin}/.well-known/oauth-protected-resource`)).status).toBe(404);
  });

  it('a session opened on one surface is unknown on the other', async () => {
    const token = await h.agentToken(undefined, 'dev', { audience: support });
    const init = await postTo(support, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, { token });
    const sessionId = init.headers.get('mcp-session-id')!;
    await jsonRpcMessages(init);
    expect(sessionId).toBeTruthy();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const here = await postTo(support, list, { token, sessionId });
    expect(here.status).toBe(200);
    await here.body?.cancel();
    const tokenForContent = await h.agentToken(undefined, 'dev', { audience: content });
    const there = await postTo(content, list, { token: tokenForContent, sessionId });
    expect(there.status).toBe(404);
    expect(await there.json()).toMatchObject({ error: { message: expect.stringMatching(/Session not found/) } });
  });

  it('a write tool called on the read-only surface is an unknown tool there, and the backend sees no write', async () => {
    h.backend.requestLog.clear();
    const legacy = await h.connect({ url: support });
    await expect(legacy.callTool({ name: 'publishDraft', arguments: { filename: 'q3-pricing-update.md' } })).rejects.toThrow(/Unknown tool: publishDraft/);
    await expect(legacy.callTool({ name: 'addTicketNote', arguments: { ticketId: 'TCK-1001', note: 'x' } })).rejects.toThrow(/Unknown tool: addTicketNote/);
    const modern = await postModernTo(support, 7, 'tools/call', { name: 'publishDraft', arguments: { filename: 'q3-pricing-update.md' } }, { token: await h.agentToken(undefined, 'dev', { audience: support }) });
    const [answer] = await jsonRpcMessages(modern);
    expect(answer).toMatchObject({ id: 7, error: { message: expect.stringMatching(/Unknown tool: publishDraft/) } });
    // Not one request reached the backend, let alone a write.
    expect(h.backend.requestLog.entries()).toEqual([]);
    const refusals = h.auditLines().filter((l) => l.outcome === 'unknown_tool');
    expect(refusals.map((l) => [(l as unknown as { surface: string }).surface, l.tool])).toEqual(
      expect.arrayContaining([['support', 'publishDraft'], ['support', 'addTicketNote']]),
    );
  });

  it('each surface calls the backend with its own token file entries, and its audit lines name it', async () => {
    h.backend.requestLog.clear();
    const onSupport = await h.connect({ url: support });
    const onContent = await h.connectModern({ url: content });
    expect((await h.callTool(onSupport, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
    const fromContent = await onContent.callTool({ name: 'listDrafts', arguments: { limit: 1 } });
    expect(fromContent.isError).toBeFalsy();
    const subjects = h.backend.requestLog.forOperation('listDrafts').map((e) => e.subject);
    expect(subjects).toEqual(['svc-deputy', 'svc-reporting']);
    const lines = h.auditLines().filter((l) => l.tool === 'listDrafts' && l.outcome === 'ok');
    expect(lines.map((l) => (l as unknown as { surface: string }).surface).slice(-2)).toEqual(['support', 'content']);
    expect(findLeaks(h)).toEqual([]);
  });

  it('the write surface writes, after a human approves, with its own keys', async () => {
    h.backend.requestLog.clear();
    const client = await h.connect({ url: content, onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
    const result = await h.callTool(client, 'publishDraft', { filename: 'q3-pricing-update.md' });
    expect(result.isError, textOf(result)).toBeFalsy();
    // The approval lookup with content's drafts:read key, the write with its drafts:publish key.
    expect(h.backend.requestLog.entries().map((e) => [e.method, e.subject])).toEqual([
      ['GET', 'svc-reporting'],
      ['POST', 'svc-deputy'],
    ]);
    expect(h.backend.requestLog.forOperation('publishDraft')).toHaveLength(1);
  });

  it('metrics carry the surface', async () => {
    const text = await (await fetch(`${new URL(support).origin}/metrics`)).text();
    expect(text).toMatch(/deputy_tool_calls_total\{tool="listDrafts",risk="read",outcome="ok",surface="support"\} [1-9]/);
    expect(text).toMatch(/deputy_tool_calls_total\{tool="listDrafts",risk="read",outcome="ok",surface="content"\} [1-9]/);
  });
});

describe('quotas across surfaces', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup({ surfaces: SURFACES, env: { DEPUTY_QUOTA_CALLS: '3', DEPUTY_QUOTA_WINDOW_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('one user has one budget, whichever surface the calls come in on', async () => {
    const [content, support] = h.deputy.surfaces;
    const onSupport = await h.connect({ url: support!.url });
    const onContent = await h.connect({ url: content!.url });
    for (const client of [onSupport, onSupport, onContent]) expect((await h.callTool(client, 'listDrafts', { limit: 1 })).isError).toBeFalsy();
    const refused = await h.callTool(onContent, 'listDrafts', { limit: 1 });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/Quota reached \(calls\): this user may start 3 tool calls/);
    expect(textOf(await h.callTool(onSupport, 'getDraft', { filename: 'q3-pricing-update.md' }))).toMatch(/Quota reached \(calls\)/);
  });
});

describe('a manifest without surfaces', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup();
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('still serves every tool at the single /mcp', async () => {
    expect(new URL(h.deputy.url).pathname).toBe('/mcp');
    expect(h.deputy.surfaces.map((s) => s.name)).toEqual([null]);
    const client = await h.connect();
    expect((await client.listTools()).tools).toHaveLength(tools.length);
    const metadata = (await (await fetch(`${new URL(h.deputy.url).origin}/.well-known/oauth-protected-resource`)).json()) as { resource: string };
    expect(metadata.resource).toBe(h.deputy.url);
    expect(h.auditLines().every((l) => !('surface' in l))).toBe(true);
  });
});

describe('a read-only surface refuses to start with a credential that could write', () => {
  let backend: MockBackend;
  beforeAll(async () => {
    backend = await startMockBackend({});
  });
  afterAll(async () => {
    await backend?.close();
  });

  async function start(entries: Record<string, unknown>[], env: Record<string, string> = {}) {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const config = loadConfig({ PORT: '0', DEPUTY_AUTH_ISSUER: backend.url, DEPUTY_BACKEND_URL: backend.url, ...STATIC(tokenFile(`f${Math.random()}.yaml`, entries)), ...env });
    const error = await serveHttp(config, { tools, surfaces: SURFACES, log: pino(sink), audit: createAuditLog({ destination: sink, redactArguments: [] }) }).then(
      async (deputy) => {
        await deputy.close();
        return null;
      },
      (e: unknown) => e,
    );
    return { error: error as Error | null, lines };
  }
  const rest = PER_SURFACE.filter((e) => e.id !== 'support-drafts');

  it('the token file declares a write scope on an entry the surface uses', async () => {
    const { error } = await start([{ id: 'drafts-everything', operations: ['listDrafts', 'getDraft'], scopes: ['drafts:read', 'drafts:publish'], surfaces: ['support'], token: KEYS.draftsRead }, ...rest]);
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.message).toMatch(/surface 'support' is read-only, but token file entry 'drafts-everything', used for (listDrafts|getDraft), holds drafts:publish \(a write scope\)/);
    expect(error!.message).not.toContain(KEYS.draftsRead);
  });

  it("a JWT's scope claim shows a write scope", async () => {
    const broad = await mintBackendToken(backend.url, ['drafts:read', 'drafts:publish']);
    const { error, lines } = await start([{ id: 'support-jwt', scopes: ['drafts:read'], surfaces: ['support'], token: broad }, ...rest]);
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.message).toMatch(/surface 'support' is read-only, but token file entry 'support-jwt', used for (listDrafts|getDraft), holds drafts:publish \(a write scope\), as its JWT's scope claim shows/);
    for (const text of [error!.message, ...lines]) expect(text).not.toContain(broad.split('.')[1]!);
  });

  it('introspection shows a scope beyond the operation\'s', async () => {
    const { error } = await start([{ id: 'support-reporting', scopes: ['drafts:read'], surfaces: ['support'], token: KEYS.reporting }, ...rest], {
      DEPUTY_OAUTH_INTROSPECTION_URL: `${backend.url}/oauth/introspect`,
      DEPUTY_OAUTH_CLIENT_ID: 'deputy',
      DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
    });
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.message).toMatch(/surface 'support' is read-only, but token file entry 'support-reporting', used for (listDrafts|getDraft), holds posts:read, as introspection shows/);
    expect(error!.message).not.toContain(KEYS.reporting);
  });

  it('the same broad credential on the write surface only warns, as without surfaces', async () => {
    const broad = await mintBackendToken(backend.url, ['drafts:read', 'drafts:publish']);
    const { error, lines } = await start([...PER_SURFACE.filter((e) => e.id !== 'content-drafts'), { id: 'content-jwt', scopes: ['drafts:read'], surfaces: ['content'], token: broad }]);
    expect(error).toBeNull();
    expect(lines.some((l) => l.includes('OVER-PRIVILEGED') && l.includes('"surface":"content"'))).toBe(true);
  });

  it('a token file entry naming a surface the manifest does not declare', async () => {
    const { error } = await start([...PER_SURFACE, { id: 'typo', scopes: ['posts:read'], surfaces: ['suport'], token: KEYS.reporting }]);
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.message).toMatch(/entry 'typo' names surface 'suport', but the manifest declares content, support/);
  });

  it('a read-only surface serving a write tool (a hand-edited compiled file) is refused again at start', async () => {
    const config = loadConfig({ PORT: '0', DEPUTY_AUTH_ISSUER: backend.url, DEPUTY_BACKEND_URL: backend.url, ...STATIC(tokenFile('edited.yaml', PER_SURFACE)) });
    const edited: SurfaceDefinition[] = SURFACES.map((s) => (s.name === 'support' ? { ...s, tools: [...s.tools, 'publishDraft'] } : s));
    await expect(serveHttp(config, { tools, surfaces: edited, log: pino({ level: 'silent' }) })).rejects.toThrow("surface 'support' is read-only but serves write tool publishDraft; compile the manifest again");
  });

  it('a surface without a credential of its own is refused, naming the surface', async () => {
    const { error } = await start(rest);
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.message).toMatch(/^surface 'support': no backend credential for: .*listDrafts/);
  });
});

describe('stdio: the whole manifest, or the surface DEPUTY_STDIO_SURFACE names', () => {
  let backend: MockBackend;
  beforeAll(async () => {
    backend = await startMockBackend({});
  });
  afterAll(async () => {
    await backend?.close();
  });
  const options = (env: Record<string, string>) => ({ spec: 'openapi/admin-api.yaml', tools: 'openapi/tools.yaml', backendUrl: backend.url, tokenFile: tokenFile(`stdio${Math.random()}.yaml`, PER_SURFACE), env });

  it('serves only the read-only surface, with its own token file entries, and no write reaches the backend', async () => {
    const deputy = await startStdioDeputy(options({ DEPUTY_STDIO_SURFACE: 'support' }));
    try {
      expect(deputy.tools.map((t) => t.name).sort()).toEqual([...toolsOf('support')]);
      backend.requestLog.clear();
      expect((await deputy.callTool('listDrafts', { limit: 1 })).isError).toBeFalsy();
      await expect(deputy.callTool('publishDraft', { filename: 'q3-pricing-update.md' })).rejects.toThrow(/Unknown tool: publishDraft/);
      expect(backend.requestLog.entries().map((e) => [e.method, e.subject])).toEqual([['GET', 'svc-deputy']]);
      expect(deputy.prompts).toEqual([]);
    } finally {
      await deputy.close();
    }
  });

  it('refuses a surface the manifest does not declare', async () => {
    await expect(startStdioDeputy(options({ DEPUTY_STDIO_SURFACE: 'billing' }))).rejects.toThrow(/DEPUTY_STDIO_SURFACE names surface 'billing', but the manifest declares content, support/);
  });
});

describe('behind the nginx template (.deploy/nginx), two replicas', () => {
  let backend: MockBackend;
  let nginx: Nginx;
  const replicas: Deputy[] = [];
  const clients: Client[] = [];
  beforeAll(async () => {
    const binary = await ensureNginx();
    backend = await startMockBackend({ rateLimit: { limit: 100_000, windowSeconds: 60 } });
    const ports = { r1: await freePort(), r2: await freePort() };
    nginx = await startNginx({ binary, port: await freePort(), replicas: { r1: `127.0.0.1:${ports.r1}`, r2: `127.0.0.1:${ports.r2}` } });
    for (const id of ['r1', 'r2'] as const) {
      const config = loadConfig({
        PORT: String(ports[id]),
        DEPUTY_PUBLIC_URL: nginx.url,
        DEPUTY_REPLICA_ID: id,
        DEPUTY_AUTH_ISSUER: backend.auth.issuer,
        DEPUTY_BACKEND_URL: backend.url,
        DEPUTY_OAUTH_CLIENT_ID: 'deputy',
        DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
      });
      replicas.push(await serveHttp(config, { tools, surfaces: SURFACES, log: pino({ level: 'silent' }), audit: createAuditLog({ destination: new Writable({ write: (_c, _e, done) => done() }), redactArguments: [] }) }));
    }
  }, 300_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all(replicas.map((r) => r.close()));
    await nginx?.stop();
    await backend?.close();
  });

  it('routes each surface path with session affinity, and serves its path-suffixed metadata', async () => {
    const support = `${nginx.url}/mcp/support`;
    expect(replicas[0]!.surfaces.map((s) => s.url)).toEqual([`${nginx.url}/mcp/content`, support]);
    // Four 2025-era sessions: initialize is round robin, every later request must reach the
    // replica that holds its session (a wrong one answers 404 and the call fails).
    for (let i = 0; i < 4; i++) {
      const { accessToken } = await backend.auth.mintAccessToken({ subject: `agent-${i}`, clientId: 'deputy-dev-agent', audience: support, scopes: ['drafts:read', 'customers:read', 'tickets:read'] });
      const client = new Client({ name: `nginx-${i}`, version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(support), { requestInit: { headers: { authorization: `Bearer ${accessToken}` } } }));
      clients.push(client);
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([...toolsOf('support')]);
      for (let call = 0; call < 2; call++) expect((await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } })).isError).toBeFalsy();
    }
    const withSession = (await nginx.accessLog()).filter((e) => e.uri === '/mcp/support' && e.sid !== '');
    expect(new Set(withSession.map((e) => e.sid.slice(0, 3)))).toEqual(new Set(['r1.', 'r2.']));
    expect(withSession.every((e) => e.status < 400)).toBe(true);
    const metadata = (await (await fetch(`${nginx.url}/.well-known/oauth-protected-resource/mcp/support`)).json()) as { resource: string };
    expect(metadata.resource).toBe(support);
  });
});
