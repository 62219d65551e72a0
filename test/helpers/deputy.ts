/**
 * Test through the front door: the mock backend and Deputy on real loopback ports, and a real
 * MCP SDK client over Streamable HTTP with a real agent token from the dev authorization
 * server. Everything a test starts, `teardown()` stops.
 */
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { startMockBackend, type MockBackend, type MockBackendOptions } from '../../mock-backend/server.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { tools as generatedTools } from '../../src/generated/tools.ts';
import { serveHttp, type Deputy } from '../../src/serve.ts';
import { createAuditLog } from '../../src/tools/audit.ts';

/** The scopes of the seven first tools. */
export const ALL_TOOL_SCOPES = ['drafts:read', 'drafts:publish', 'customers:read', 'tickets:read', 'tickets:write'];

export interface Harness {
  backend: MockBackend;
  deputy: Deputy;
  /** Every line Deputy wrote to its application log and its audit log. */
  logLines: string[];
  auditLines: () => Record<string, unknown>[];
  /** Every token minted during the test (for the "no token anywhere" checks). */
  issuedTokens: string[];
  agentToken(scopes?: readonly string[], subject?: string): Promise<string>;
  connect(options?: ConnectOptions): Promise<Client>;
  callTool(client: Client, name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  teardown(): Promise<void>;
}

export interface ConnectOptions {
  token?: string;
  scopes?: readonly string[];
  subject?: string;
  /** Answer elicitation requests (approval prompts); omitted → the client lacks the capability. */
  onElicit?: (message: string) => ElicitResult | Promise<ElicitResult>;
}

export interface SetupOptions {
  env?: Record<string, string>;
  backend?: MockBackendOptions;
}

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
}

export async function setup(options: SetupOptions = {}): Promise<Harness> {
  const backend = await startMockBackend({ rateLimit: { limit: 10_000, windowSeconds: 60 }, ...options.backend });
  const logLines: string[] = [];
  const auditRaw: string[] = [];
  const issuedTokens: string[] = [];
  const config: Config = loadConfig({
    PORT: '0',
    DEPUTY_AUTH_ISSUER: backend.auth.issuer,
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
    DEPUTY_BACKEND_TIMEOUT_MS: '3000',
    ...options.env,
  });
  const deputy = await serveHttp(config, {
    tools: generatedTools,
    log: pino({ level: 'debug' }, sink(logLines)),
    audit: createAuditLog({ destination: sink(auditRaw), redactArguments: config.audit.redactArguments }),
  });
  const clients: Client[] = [];

  const agentToken = async (scopes: readonly string[] = ALL_TOOL_SCOPES, subject = 'dev') => {
    const { accessToken } = await backend.auth.mintAccessToken({ subject, clientId: 'deputy-dev-agent', audience: deputy.url, scopes });
    issuedTokens.push(accessToken);
    return accessToken;
  };

  return {
    backend,
    deputy,
    logLines,
    auditLines: () => auditRaw.map((line) => JSON.parse(line) as Record<string, unknown>),
    issuedTokens,
    agentToken,
    async connect(connectOptions: ConnectOptions = {}) {
      const token = connectOptions.token ?? (await agentToken(connectOptions.scopes, connectOptions.subject));
      const client = new Client(
        { name: 'deputy-e2e', version: '1.0.0' },
        { capabilities: connectOptions.onElicit ? { elicitation: { form: {} } } : {} },
      );
      if (connectOptions.onElicit) {
        const answer = connectOptions.onElicit;
        client.setRequestHandler(ElicitRequestSchema, async (request) => answer(request.params.message));
      }
      const transport = new StreamableHTTPClientTransport(new URL(deputy.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async callTool(client, name, args = {}) {
      return (await client.callTool({ name, arguments: args })) as CallToolResult;
    },
    async teardown() {
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      await deputy.close();
      await backend.close();
    },
  };
}

/** The text of a tool result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : '';
}
