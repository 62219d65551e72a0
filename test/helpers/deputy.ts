/**
 * Test through the front door: the mock backend and Deputy on real loopback ports, and a real
 * MCP SDK client over Streamable HTTP with a real agent token from the dev authorization
 * server. Everything a test starts, `teardown()` stops. Two clients: `connect` is the 2025-era
 * v1 SDK client (`@modelcontextprotocol/sdk`), `connectModern` the v2 client pinned to
 * 2026-07-28 (`@modelcontextprotocol/client`); `postModern` sends one raw 2026-07-28 request.
 *
 * Besides the client, the harness records what the "no secret anywhere" checks need: every
 * agent token it minted, every token the authorization server issued to Deputy (a recording
 * proxy sits in front of the token endpoint), every token the backend was shown, every line of
 * Deputy's application and audit logs, and every tool result a test received.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitRequestSchema,
  LATEST_PROTOCOL_VERSION,
  type CallToolResult,
  type ElicitRequestFormParams,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import pino from 'pino';
import { startMockBackend, type MockBackend, type MockBackendOptions } from '../../mock-backend/server.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { tools as generatedTools, type SurfaceDefinition, type ToolDefinition } from '../../src/generated/tools.ts';
import { serveHttp, type Deputy } from '../../src/serve.ts';
import { createAuditLog } from '../../src/tools/audit.ts';

/** The scopes of the seven first tools. */
export const ALL_TOOL_SCOPES = ['drafts:read', 'drafts:publish', 'customers:read', 'tickets:read', 'tickets:write'];

/** Deputy's client secret at the dev authorization server (mock-backend/fixtures/clients.yaml). */
export const DEPUTY_CLIENT_SECRET = 'dev-secret-deputy';

export interface Harness {
  backend: MockBackend;
  deputy: Deputy;
  config: Config;
  /** Every line Deputy wrote to its application log. */
  logLines: string[];
  /** Every raw line of the audit log. */
  auditRaw: string[];
  auditLines: () => AuditLine[];
  /** Every agent token minted during the test (for the "no token anywhere" checks). */
  issuedTokens: string[];
  /** Every token the authorization server issued to Deputy, and every token the backend was shown. */
  backendTokens: string[];
  /** Every tool result `callTool` returned. */
  results: CallToolResult[];
  /**
   * An agent token: `tenant` goes in its `tenant` claim (src/README.md D41); `audience` defaults to
   * `deputy.url` (the single /mcp or the first surface).
   */
  agentToken(scopes?: readonly string[], subject?: string, options?: { tenant?: string; audience?: string }): Promise<string>;
  connect(options?: ConnectOptions): Promise<Client>;
  /** A v2 SDK client pinned to protocol revision 2026-07-28 (stateless; approvals by multi-round-trip). */
  connectModern(options?: ConnectOptions): Promise<ModernClient>;
  /** One raw 2026-07-28 request: the `_meta` envelope and the Mcp-Method/Mcp-Name headers filled in. */
  postModern(id: number | string, method: string, params: Record<string, unknown>, options?: ModernRawOptions): Promise<Response>;
  callTool(client: Client, name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** One raw JSON-RPC POST to /mcp with `fetch` (no SDK in between). */
  post(body: unknown, options?: RawOptions): Promise<Response>;
  /** Opens a session with raw `fetch` (initialize + initialized) and returns its id. */
  openSession(token: string): Promise<string>;
  /**
   * Closes the mock backend and starts a new one on the same port (fresh store, request log and
   * signing key, as a real restart would have); `backend` then names the new one. Deputy keeps
   * running. Options default to those the harness started the first one with.
   */
  restartBackend(options?: MockBackendOptions): Promise<MockBackend>;
  teardown(): Promise<void>;
}

export interface AuditLine {
  level: string;
  time: string;
  event: string;
  correlationId: string;
  /** The caller's tenant (src/README.md D41); null with tenants off. */
  tenant: string | null;
  caller: { subject: string; clientId: string };
  sessionId: string | null;
  tool: string;
  risk: string;
  arguments: Record<string, unknown> | null;
  argumentsSha256: string;
  approval: string;
  backend: { status: number | null; durationMs: number | null; errorCode: string | null } | null;
  result: { bytes: number; items: number | null; redactions: number; truncated: boolean } | null;
  outcome: string;
  durationMs: number;
}

export interface ConnectOptions {
  /** The MCP endpoint (default `deputy.url`); a minted token's audience follows it. */
  url?: string;
  token?: string;
  scopes?: readonly string[];
  subject?: string;
  /** The agent token's `tenant` claim. */
  tenant?: string;
  /** Answer elicitation requests (approval prompts); omitted → the client lacks the capability. */
  onElicit?: (message: string, params: ElicitRequestFormParams) => ElicitResult | Promise<ElicitResult>;
}

export interface RawOptions {
  token?: string | null;
  sessionId?: string;
  headers?: Record<string, string>;
  /** Sent as is instead of `JSON.stringify(body)`. */
  rawBody?: string;
}

export interface ModernRawOptions extends RawOptions {
  /** The client capabilities the envelope declares; default: form elicitation. */
  capabilities?: Record<string, unknown>;
}

/**
 * Per-user quotas raised out of the way: the harness default, so a test measures what it names;
 * the quota tests (test/e2e/limits.test.ts, test/e2e/sharedState.test.ts) set their own.
 */
export const QUOTAS_RAISED: Record<string, string> = {
  DEPUTY_QUOTA_CALLS: '1000000000',
  DEPUTY_QUOTA_READ_TOOL_CALLS: '1000000000',
  DEPUTY_QUOTA_WRITE_TOOL_CALLS: '1000000000',
  DEPUTY_QUOTA_IN_FLIGHT: '100000',
};

/** The protocol revision of the modern era. */
export const MODERN_REVISION = '2026-07-28';

export interface SetupOptions {
  env?: Record<string, string>;
  backend?: MockBackendOptions;
  /** The tools to serve (default: the generated ones). */
  tools?: readonly ToolDefinition[];
  /** The clock pending approvals expire by. */
  now?: () => number;
  /** Manifest surfaces to serve (src/README.md D42); absent: the single /mcp. */
  surfaces?: readonly SurfaceDefinition[];
}

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
}

/**
 * A pass-through in front of the authorization server's token endpoint that keeps a copy of
 * every `access_token` it hands to Deputy (client credentials and token exchange).
 */
async function recordingTokenProxy(target: string, record: (token: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type', 'accept']) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        const upstream = await fetch(target, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) });
        const text = await upstream.text();
        try {
          const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
          if (typeof token === 'string') record(token);
        } catch {
          // not JSON: nothing to record
        }
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      })().catch(() => {
        res.writeHead(502).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One raw JSON-RPC POST to an MCP endpoint with `fetch` (no SDK in between). */
export function postTo(url: string, body: unknown, raw: RawOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    ...raw.headers,
  };
  if (raw.token) headers.authorization = `Bearer ${raw.token}`;
  if (raw.sessionId) headers['mcp-session-id'] = raw.sessionId;
  return fetch(url, { method: 'POST', headers, body: raw.rawBody ?? JSON.stringify(body) });
}

/** One raw 2026-07-28 request to an MCP endpoint: the `_meta` envelope and the Mcp-Method/Mcp-Name headers filled in. */
export function postModernTo(url: string, id: number | string, method: string, params: Record<string, unknown>, raw: ModernRawOptions = {}): Promise<Response> {
  const name = typeof params.name === 'string' ? params.name : undefined;
  const meta = {
    'io.modelcontextprotocol/protocolVersion': MODERN_REVISION,
    'io.modelcontextprotocol/clientInfo': { name: 'raw-modern-e2e', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': raw.capabilities ?? { elicitation: { form: {} } },
  };
  return postTo(
    url,
    { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } },
    { ...raw, headers: { 'mcp-protocol-version': MODERN_REVISION, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}), ...raw.headers } },
  );
}

/** Reads a Streamable HTTP answer (JSON or an SSE stream) into its JSON-RPC messages. */
export async function jsonRpcMessages(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .filter(Boolean)
      .map((data) => JSON.parse(data) as Record<string, unknown>);
  }
  return text ? [JSON.parse(text) as Record<string, unknown>] : [];
}

export async function setup(options: SetupOptions = {}): Promise<Harness> {
  const backendOptions: MockBackendOptions = { rateLimit: { limit: 10_000, windowSeconds: 60 }, ...options.backend };
  let backend = await startMockBackend(backendOptions);
  const logLines: string[] = [];
  const auditRaw: string[] = [];
  const issuedTokens: string[] = [];
  const backendTokens: string[] = [];
  const results: CallToolResult[] = [];
  const remember = (token: string) => {
    if (!backendTokens.includes(token)) backendTokens.push(token);
  };

  // Every bearer token the API is shown passes through here (the handlers look it up per request).
  const recordTokensShown = (api: MockBackend) => {
    const verify = api.auth.verifyBackendToken.bind(api.auth);
    api.auth.verifyBackendToken = (token) => {
      remember(token);
      return verify(token);
    };
  };
  recordTokensShown(backend);
  const tokenProxy = await recordingTokenProxy(`${backend.auth.issuer}/oauth/token`, remember);

  const config: Config = loadConfig({
    PORT: '0',
    DEPUTY_AUTH_ISSUER: backend.auth.issuer,
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET,
    DEPUTY_OAUTH_TOKEN_URL: tokenProxy.url,
    DEPUTY_BACKEND_TIMEOUT_MS: '3000',
    ...QUOTAS_RAISED,
    ...options.env,
  });
  let deputy: Deputy;
  try {
    deputy = await serveHttp(config, {
      tools: options.tools ?? generatedTools,
      ...(options.now ? { now: options.now } : {}),
      ...(options.surfaces ? { surfaces: options.surfaces } : {}),
      log: pino({ level: 'debug' }, sink(logLines)),
      audit: createAuditLog({ destination: sink(auditRaw), redactArguments: config.audit.redactArguments }),
    });
  } catch (error) {
    await tokenProxy.close();
    await backend.close();
    throw error;
  }
  const clients: Client[] = [];

  const agentToken = async (scopes: readonly string[] = ALL_TOOL_SCOPES, subject = 'dev', options: { tenant?: string; audience?: string } = {}) => {
    const { accessToken } = await backend.auth.mintAccessToken({ subject, clientId: 'deputy-dev-agent', audience: options.audience ?? deputy.url, scopes, ...(options.tenant !== undefined ? { tenant: options.tenant } : {}) });
    issuedTokens.push(accessToken);
    return accessToken;
  };

  const post = (body: unknown, raw: RawOptions = {}) => postTo(deputy.url, body, raw);
  const postModern = (id: number | string, method: string, params: Record<string, unknown>, raw: ModernRawOptions = {}) => postModernTo(deputy.url, id, method, params, raw);
  const modernClients: ModernClient[] = [];

  const harness: Harness = {
    backend,
    deputy,
    config,
    logLines,
    auditRaw,
    auditLines: () => auditRaw.map((line) => JSON.parse(line) as AuditLine),
    issuedTokens,
    backendTokens,
    results,
    agentToken,
    async connect(connectOptions: ConnectOptions = {}) {
      const url = connectOptions.url ?? deputy.url;
      const token = connectOptions.token ?? (await agentToken(connectOptions.scopes, connectOptions.subject, { audience: url, ...(connectOptions.tenant !== undefined ? { tenant: connectOptions.tenant } : {}) }));
      const client = new Client(
        { name: 'deputy-e2e', version: '1.0.0' },
        { capabilities: connectOptions.onElicit ? { elicitation: { form: {} } } : {} },
      );
      if (connectOptions.onElicit) {
        const answer = connectOptions.onElicit;
        client.setRequestHandler(ElicitRequestSchema, async (request) =>
          answer(request.params.message, request.params as ElicitRequestFormParams),
        );
      }
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async connectModern(connectOptions: ConnectOptions = {}) {
      const url = connectOptions.url ?? deputy.url;
      const token = connectOptions.token ?? (await agentToken(connectOptions.scopes, connectOptions.subject, { audience: url, ...(connectOptions.tenant !== undefined ? { tenant: connectOptions.tenant } : {}) }));
      const client = new ModernClient(
        { name: 'deputy-e2e-modern', version: '1.0.0' },
        {
          capabilities: connectOptions.onElicit ? { elicitation: { form: {} } } : {},
          versionNegotiation: { mode: { pin: MODERN_REVISION } },
        },
      );
      if (connectOptions.onElicit) {
        const answer = connectOptions.onElicit;
        // On 2026-07-28 the SDK fulfils input-required results through this same handler.
        client.setRequestHandler('elicitation/create', async (request) => answer(request.params.message, request.params as ElicitRequestFormParams));
      }
      await client.connect(new ModernTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      modernClients.push(client);
      return client;
    },
    postModern,
    async callTool(client, name, args = {}) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      results.push(result);
      return result;
    },
    post,
    async openSession(token) {
      const init = await post(
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw-e2e', version: '1.0.0' } },
        },
        { token },
      );
      if (init.status !== 200) throw new Error(`initialize failed: ${init.status} ${await init.text()}`);
      const sessionId = init.headers.get('mcp-session-id');
      await jsonRpcMessages(init);
      if (!sessionId) throw new Error('initialize returned no Mcp-Session-Id');
      const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { token, sessionId });
      await initialized.body?.cancel();
      return sessionId;
    },
    async restartBackend(restartOptions = backendOptions) {
      await backend.close();
      backend = await startMockBackend({ ...restartOptions, port: backend.port, host: backend.host });
      recordTokensShown(backend);
      harness.backend = backend;
      return backend;
    },
    async teardown() {
      await Promise.all([...clients, ...modernClients].map((client) => client.close().catch(() => {})));
      await deputy.close();
      await tokenProxy.close();
      await backend.close();
    },
  };
  return harness;
}

/** The text of a tool result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : '';
}

/** Every secret the harness knows of: agent tokens, backend tokens and Deputy's client secret. */
export function knownSecrets(h: Harness): string[] {
  return [...new Set([...h.issuedTokens, ...h.backendTokens, DEPUTY_CLIENT_SECRET])];
}

/** Anything shaped like the start of a JWT (header then payload): never legitimately in Deputy's output. */
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/;

/**
 * Where a secret shows up in logs, audit lines or tool results, as `where: secret-prefix`
 * entries (empty when none leaked). Also matches a JWT's payload and signature parts on their
 * own, and anything JWT-shaped, so a token cut or reformatted is still caught.
 */
export function findLeaks(h: Harness, extraTexts: readonly string[] = []): string[] {
  const haystacks: [string, string][] = [
    ...h.logLines.map((line, i): [string, string] => [`log[${i}]`, line]),
    ...h.auditRaw.map((line, i): [string, string] => [`audit[${i}]`, line]),
    ...h.results.map((result, i): [string, string] => [`result[${i}]`, JSON.stringify(result)]),
    ...extraTexts.map((text, i): [string, string] => [`extra[${i}]`, text]),
  ];
  const needles = knownSecrets(h)
    .flatMap((secret) => {
      const parts = secret.split('.');
      return parts.length === 3 ? [secret, parts[1]!, parts[2]!] : [secret];
    })
    .filter((needle) => needle.length >= 16); // an unsigned JWT's empty signature matches everything
  const leaks: string[] = [];
  for (const [where, text] of haystacks) {
    for (const needle of needles) if (text.includes(needle)) leaks.push(`${where}: ${needle.slice(0, 12)}…`);
    if (JWT_SHAPED.test(text)) leaks.push(`${where}: something JWT-shaped`);
  }
  return leaks;
}
