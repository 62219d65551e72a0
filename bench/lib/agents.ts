/**
 * The load generator's side: tokens from the dev authorization server, MCP SDK agents over
 * Streamable HTTP, direct backend calls with undici, and the check every response gets (it is
 * the customer its caller asked for).
 */
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'undici';
import type { Customer as CustomerRecord } from '../../mock-backend/apiTypes.ts';
import { createSeed } from '../../mock-backend/seed.ts';
import { DEPUTY_CLIENT_SECRET } from './processes.ts';

/** The dev agent client and user (mock-backend/fixtures/clients.yaml, users.yaml). */
const AGENT_CLIENT = { id: 'deputy-dev-agent', secret: 'dev-secret-deputy-dev-agent' };
const AGENT_USER = { username: 'dev', password: 'dev-password-dev' };

/** The part of a customer record the load generator asks for and checks. */
export type Customer = Pick<CustomerRecord, 'id' | 'name'>;

/** The seeded customers (54, deterministic): each session asks for a different one. */
export const CUSTOMERS: readonly Customer[] = createSeed().customers.map(({ id, name }) => ({ id, name }));

async function tokenRequest(tokenUrl: string, client: { id: string; secret: string }, form: Record<string, string>): Promise<string> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || typeof body.access_token !== 'string') throw new Error(`token request failed: ${response.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
  return body.access_token;
}

/** An agent token for Deputy (password grant for the dev user, audience = Deputy's MCP URL). */
export function mintAgentToken(backendUrl: string, deputyUrl: string, scopes = 'customers:read'): Promise<string> {
  return tokenRequest(`${backendUrl}/oauth/token`, AGENT_CLIENT, {
    grant_type: 'password',
    username: AGENT_USER.username,
    password: AGENT_USER.password,
    resource: deputyUrl,
    scope: scopes,
  });
}

/** A backend token for `customers:read` (client credentials as Deputy's own client): what Deputy itself gets. */
export function mintBackendToken(backendUrl: string, scopes = 'customers:read'): Promise<string> {
  return tokenRequest(`${backendUrl}/oauth/token`, { id: 'deputy', secret: DEPUTY_CLIENT_SECRET }, { grant_type: 'client_credentials', scope: scopes, resource: backendUrl });
}

export interface McpAgent {
  client: Client;
  close(): Promise<void>;
}

/**
 * `fetch` with a private AbortSignal per request. The SDK's transport passes one shared signal
 * to every fetch of a session, and undici adds an abort listener to it per request that only
 * garbage collection removes: over thousands of calls the load generator would pile up
 * listeners (MaxListenersExceededWarning) and spend time on them. The parent signal is bridged
 * and the bridge removed once a POST/DELETE settles; a GET (the long-lived SSE stream) keeps it
 * so closing the client still ends the stream.
 */
const isolatingFetch: typeof fetch = async (input, init) => {
  const parent = init?.signal;
  if (!parent) return fetch(input, init);
  // Up to one bridge per call in flight on the session (32 in the bench): not a leak.
  setMaxListeners(0, parent);
  const own = new AbortController();
  const onAbort = () => own.abort(parent.reason);
  if (parent.aborted) own.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  const keep = (init.method ?? 'GET').toUpperCase() === 'GET';
  try {
    return await fetch(input, { ...init, signal: own.signal });
  } finally {
    if (!keep) parent.removeEventListener('abort', onAbort);
  }
};

/** One agent session: an MCP SDK client over Streamable HTTP, initialized. */
export async function connectAgent(deputyUrl: string, token: string): Promise<McpAgent> {
  const client = new Client({ name: 'deputy-bench', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(deputyUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    fetch: isolatingFetch,
  });
  await client.connect(transport);
  return {
    client,
    async close() {
      await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    },
  };
}

/**
 * One 2026-07-28 agent: the v2 SDK client pinned to that revision. It holds no session: every
 * call is one stateless POST carrying its own `_meta`.
 */
export async function connectModernAgent(deputyUrl: string, token: string): Promise<{ client: ModernClient; close(): Promise<void> }> {
  const client = new ModernClient({ name: 'deputy-bench-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new ModernTransport(new URL(deputyUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: isolatingFetch }));
  return { client, close: () => client.close().catch(() => {}) };
}

export type CallOutcome = 'ok' | 'mismatch' | 'error';

export interface DirectClient {
  dispatcher: Agent;
  call(customer: Customer): Promise<CallOutcome>;
  close(): Promise<void>;
}

/** `GET /customers/{id}` straight to the backend with undici (keep-alive, no connection cap). */
export function directClient(backendUrl: string, token: string): DirectClient {
  const dispatcher = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  return {
    dispatcher,
    async call(customer) {
      const response = await request(`${backendUrl}/customers/${encodeURIComponent(customer.id)}`, { dispatcher, headers });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return 'error';
      }
      const data = (await response.body.json()) as { id?: unknown; name?: unknown };
      return data.id === customer.id && data.name === customer.name ? 'ok' : 'mismatch';
    },
    close: () => dispatcher.close(),
  };
}
