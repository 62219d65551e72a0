/**
 * The dev authorization server's MCP-facing flows over real HTTP on loopback: token
 * introspection (RFC 7662), dynamic client registration (RFC 7591), the authorization code
 * flow with PKCE and `resource` (RFC 6749 §4.1, RFC 7636, RFC 8707) driven by plain HTTP and by
 * the MCP TypeScript SDK's own client OAuth helpers, and refresh token rotation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTokenPrivileges } from '../../src/backend/tokenPrivileges.ts';
import { startAuthServer, type RunningAuthServer } from '../helpers/authServer.ts';

const MCP_URL = 'http://127.0.0.1:3000/mcp';
const REDIRECT = 'http://127.0.0.1:5173/oauth/callback';
const DEPUTY = ['deputy', 'dev-secret-deputy'] as const;
const AGENT = ['deputy-dev-agent', 'dev-secret-deputy-dev-agent'] as const;
const REPORTING_BOT = ['reporting-bot', 'dev-secret-reporting-bot'] as const;
const STATIC_DRAFTS_READ = 'acme_dev_drafts_read_7f3c9a1e5b2d4f60';
const STATIC_DRAFTS_PUBLISH = 'acme_dev_drafts_publish_2b8e6d0c4a9f1e37';
const STATIC_EXPIRED = 'acme_dev_expired_5f9b1d3a7e0c2468';
const STATIC_REVOKED = 'acme_dev_revoked_3d7f1b5e9a2c0864';

let as: RunningAuthServer;
beforeAll(async () => {
  as = await startAuthServer();
});
afterAll(() => as.close());

type Json = Record<string, unknown>;
type Credentials = readonly [id: string, secret: string];
const basic = ([id, secret]: Credentials) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function postForm(path: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(`${as.base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
    redirect: 'manual',
  });
  return response;
}

async function jsonOf(response: Response) {
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
}

function expectError(reply: { status: number; body: Json }, status: number, error: string, description?: RegExp) {
  expect(reply.body.error, JSON.stringify(reply.body)).toBe(error);
  expect(reply.status).toBe(status);
  expect(typeof reply.body.error_description).toBe('string');
  if (description) expect(reply.body.error_description).toMatch(description);
  expect(reply.body).not.toHaveProperty('access_token');
}

async function mintToken(params: Record<string, string>, client: Credentials): Promise<string> {
  const reply = await jsonOf(await postForm('/oauth/token', params, { Authorization: basic(client) }));
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.access_token as string;
}

// -------------------------------------------------------------------------------------------
describe('token introspection (RFC 7662)', () => {
  const introspect = async (token: string, client: Credentials | null = DEPUTY, how: 'basic' | 'post' = 'basic') => {
    const params: Record<string, string> = { token };
    const headers: Record<string, string> = {};
    if (client && how === 'basic') headers.Authorization = basic(client);
    if (client && how === 'post') Object.assign(params, { client_id: client[0], client_secret: client[1] });
    return jsonOf(await postForm('/oauth/introspect', params, headers));
  };

  it('describes a live backend JWT it issued', async () => {
    const token = await mintToken({ grant_type: 'client_credentials', scope: 'drafts:read tickets:read' }, DEPUTY);
    const reply = await introspect(token);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const claims = decodeJwt(token);
    expect(reply.body).toEqual({
      active: true,
      scope: 'drafts:read tickets:read',
      client_id: 'deputy',
      sub: 'deputy',
      aud: as.base,
      exp: claims.exp,
      iat: claims.iat,
      iss: as.base,
      jti: claims.jti,
      token_type: 'Bearer',
    });
    expect(reply.body.exp).toBe((claims.iat as number) + 900);
  });

  it('describes tokens for any audience, and the actor of an exchanged token', async () => {
    const agent = await mintToken(
      { grant_type: 'password', username: 'alice', password: 'dev-password-alice', resource: MCP_URL, scope: 'drafts:read' },
      AGENT,
    );
    expect((await introspect(agent)).body).toMatchObject({ active: true, aud: MCP_URL, sub: 'alice', client_id: 'deputy-dev-agent', scope: 'drafts:read' });
    const exchanged = await mintToken(
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: agent,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      },
      DEPUTY,
    );
    expect((await introspect(exchanged, DEPUTY, 'post')).body).toMatchObject({ active: true, aud: as.base, sub: 'alice', act: { sub: 'deputy' } });
  });

  it('describes the static API tokens, and reports expired and revoked ones as inactive', async () => {
    expect((await introspect(STATIC_DRAFTS_READ)).body).toEqual({
      active: true,
      scope: 'drafts:read',
      client_id: 'key-drafts-read',
      sub: 'svc-deputy',
      aud: as.base,
      iss: as.base,
      token_type: 'Bearer',
    });
    expect((await introspect(STATIC_EXPIRED)).body).toEqual({ active: false });
    expect((await introspect(STATIC_REVOKED)).body).toEqual({ active: false });
  });

  it('answers only {active:false} for expired, tampered, foreign or unknown tokens', async () => {
    const other = await startAuthServer();
    try {
      const token = await mintToken({ grant_type: 'client_credentials', scope: 'drafts:read' }, DEPUTY);
      const [h, p, sig] = token.split('.') as [string, string, string];
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'admin:sql' })).toString('base64url')}.${sig}`;
      const foreign = (await other.auth.mintAccessToken({ subject: 'deputy', clientId: 'deputy', audience: as.base, scopes: ['drafts:read'] })).accessToken;
      for (const t of [tampered, foreign, 'not-a-token', `${h}.${p}.`, 'a.b.c']) {
        expect((await introspect(t)).body).toEqual({ active: false });
      }
      as.clock.ms += 901_000;
      try {
        expect((await introspect(token)).body).toEqual({ active: false });
      } finally {
        as.clock.ms -= 901_000;
      }
      expect((await introspect(token)).body).toMatchObject({ active: true });
    } finally {
      await other.close();
    }
  });

  it('refuses unauthenticated callers (401) and clients not allowed to introspect (403)', async () => {
    const token = await mintToken({ grant_type: 'client_credentials', scope: 'drafts:read' }, DEPUTY);
    const anonymous = await introspect(token, null);
    expectError(anonymous, 401, 'invalid_client');
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    expectError(await introspect(token, ['deputy', 'wrong-secret']), 401, 'invalid_client');
    expectError(await introspect(token, REPORTING_BOT), 403, 'unauthorized_client', /may not introspect/);
    expectError(await introspect(token, AGENT), 403, 'unauthorized_client');
    for (const reply of [anonymous, await introspect(token, REPORTING_BOT)]) {
      expect(reply.body).not.toHaveProperty('active');
      expect(JSON.stringify(reply.body)).not.toContain(token);
    }
    expectError(await jsonOf(await postForm('/oauth/introspect', {}, { Authorization: basic(DEPUTY) })), 400, 'invalid_request', /token is required/);
  });

  it("lets Deputy's over-privilege check see through opaque backend tokens", async () => {
    const introspection = { url: `${as.base}/oauth/introspect`, clientId: DEPUTY[0], clientSecret: DEPUTY[1] };
    expect(await checkTokenPrivileges(STATIC_DRAFTS_PUBLISH, ['drafts:read'], { introspection })).toMatchObject({
      method: 'introspection',
      active: true,
      extraScopes: ['drafts:publish'],
      missingScopes: ['drafts:read'],
    });
    expect(await checkTokenPrivileges(STATIC_REVOKED, ['drafts:read'], { introspection })).toMatchObject({ method: 'introspection', active: false });
  });
});

// -------------------------------------------------------------------------------------------
async function register(metadata: Json) {
  const response = await fetch(`${as.base}/oauth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  return jsonOf(response);
}

async function registerOk(metadata: Json = {}): Promise<{ client_id: string } & Json> {
  const reply = await register({
    client_name: 'Test Client',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...metadata,
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body as { client_id: string } & Json;
}

describe('dynamic client registration (RFC 7591)', () => {
  it('registers a public client with a random id and returns its metadata', async () => {
    const before = Math.floor(as.clock.ms / 1000);
    const reply = await register({
      client_name: 'MCP Inspector',
      client_uri: 'https://github.com/modelcontextprotocol/inspector',
      redirect_uris: ['http://localhost:6274/oauth/callback', 'https://app.example.com/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'drafts:read tickets:read',
      software_statement: 'ignored',
    });
    expect(reply.status).toBe(201);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toEqual({
      client_id: expect.stringMatching(/^dcr_[A-Za-z0-9_-]{22}$/),
      client_id_issued_at: before,
      client_name: 'MCP Inspector',
      client_uri: 'https://github.com/modelcontextprotocol/inspector',
      redirect_uris: ['http://localhost:6274/oauth/callback', 'https://app.example.com/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'drafts:read tickets:read',
    });
    const again = await registerOk();
    expect(again.client_id).not.toBe(reply.body.client_id);
    expect(as.auth.clients.get(reply.body.client_id as string)?.name).toBe('MCP Inspector');
  });

  it('fills in the defaults: public client, authorization_code, code', async () => {
    const reply = await register({ redirect_uris: ['http://127.0.0.1:9999/cb'] });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'] });
    expect(reply.body).not.toHaveProperty('client_secret');
  });

  it('refuses redirect URIs other than loopback http or https', async () => {
    for (const uri of ['http://example.com/cb', 'http://192.168.1.5:8080/cb', 'javascript:alert(1)', 'cursor://x/cb', 'http://127.0.0.1:5173/cb#frag', 'relative/cb', 'http://user:pw@127.0.0.1/cb']) {
      const reply = await register({ redirect_uris: [REDIRECT, uri] });
      expectError(reply, 400, 'invalid_redirect_uri');
      expect(reply.body).not.toHaveProperty('client_id');
    }
  });

  it('refuses malformed or unsupported metadata with invalid_client_metadata', async () => {
    const raw = async (body: string, type = 'application/json') =>
      jsonOf(await fetch(`${as.base}/oauth/register`, { method: 'POST', headers: { 'Content-Type': type }, body }));
    expectError(await raw('{"redirect_uris": ['), 400, 'invalid_client_metadata', /not valid JSON/);
    expectError(await raw('[1,2]'), 400, 'invalid_client_metadata', /JSON object/);
    expectError(await raw(JSON.stringify({ redirect_uris: [REDIRECT] }), 'text/plain'), 400, 'invalid_client_metadata', /application\/json/);
    expectError(await register({}), 400, 'invalid_client_metadata', /redirect_uris/);
    expectError(await register({ redirect_uris: [] }), 400, 'invalid_client_metadata', /redirect_uris/);
    expectError(await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt' }), 400, 'invalid_client_metadata', /none, client_secret_basic, client_secret_post/);
    expectError(await register({ redirect_uris: [REDIRECT], grant_types: ['client_credentials'] }), 400, 'invalid_client_metadata');
    expectError(await register({ redirect_uris: [REDIRECT], grant_types: ['refresh_token'] }), 400, 'invalid_client_metadata', /authorization_code/);
    expectError(await register({ redirect_uris: [REDIRECT], response_types: ['token'] }), 400, 'invalid_client_metadata');
    expectError(await register({ redirect_uris: [REDIRECT], scope: 'drafts:read root' }), 400, 'invalid_client_metadata', /unknown scope 'root'/);
    expectError(await register({ redirect_uris: [REDIRECT], client_name: 42 }), 400, 'invalid_client_metadata', /client_name/);
  });

  it('answers CORS preflights for the endpoints browser clients call', async () => {
    for (const path of ['/oauth/register', '/oauth/token', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(`${as.base}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://localhost:6274', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-headers')).toMatch(/Content-Type/i);
    }
    const metadata = await fetch(`${as.base}/.well-known/oauth-authorization-server`, { headers: { Origin: 'http://localhost:6274' } });
    expect(metadata.headers.get('access-control-allow-origin')).toBe('*');
  });
});

// -------------------------------------------------------------------------------------------
function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

interface AuthzParams {
  client_id: string;
  redirect_uri?: string;
  response_type?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  scope?: string;
  state?: string;
  resource?: string;
}

function authorizeParams(clientId: string, challenge: string, overrides: Partial<Record<keyof AuthzParams, string | null>> = {}): Record<string, string> {
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'drafts:read drafts:publish',
    state: 'st-123',
    resource: MCP_URL,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== null));
}

const getAuthorize = (params: Record<string, string>) =>
  fetch(`${as.base}/oauth/authorize?${new URLSearchParams(params).toString()}`, { redirect: 'manual' });

const postLogin = (params: Record<string, string>, username: string, password: string, headers: Record<string, string> = {}) =>
  postForm('/oauth/authorize', { ...params, username, password }, headers);

const location = (response: Response): URL => {
  const value = response.headers.get('location');
  expect(value, `status ${response.status}`).toBeTruthy();
  return new URL(value!);
};

/** The hidden inputs of the login form, unescaped: what a browser would post back. */
function hiddenFields(html: string): Record<string, string> {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescape(m[1]!)] = unescape(m[2]!);
  return fields;
}

async function loginForCode(clientId: string, challenge: string, username = 'alice', overrides: Partial<Record<keyof AuthzParams, string | null>> = {}) {
  const params = authorizeParams(clientId, challenge, overrides);
  const response = await postLogin(params, username, `dev-password-${username}`);
  expect(response.status, await response.clone().text()).toBe(302);
  const url = location(response);
  return { code: url.searchParams.get('code')!, url, params };
}

async function redeem(params: Record<string, string>) {
  return jsonOf(await postForm('/oauth/token', { grant_type: 'authorization_code', ...params }));
}

describe('authorization code flow with PKCE', () => {
  let client: { client_id: string };
  beforeAll(async () => {
    client = await registerOk({ client_name: 'Claude Code (deputy)' });
  });

  it('renders a login form, redirects with a code, and exchanges it for a user token for the resource', async () => {
    const { verifier, challenge } = pkce();
    const params = authorizeParams(client.client_id, challenge);
    const page = await getAuthorize(params);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('Claude Code (deputy)');
    expect(html).toContain(MCP_URL);
    expect(html).toContain('<code>drafts:publish</code>');
    expect(html).toMatch(/<form method="post" action="\/oauth\/authorize">/);
    expect(html).toContain('dev-password-alice'); // the dev users are listed
    expect(hiddenFields(html)).toEqual(params);

    const login = await postLogin(hiddenFields(html), 'alice', 'dev-password-alice');
    expect(login.status).toBe(302);
    const redirect = location(login);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('st-123');
    expect(redirect.searchParams.get('iss')).toBe(as.base);
    const code = redirect.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const reply = await redeem({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id, resource: MCP_URL });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'drafts:read drafts:publish' });
    expect(reply.body.refresh_token).toEqual(expect.any(String));
    const { payload } = await jwtVerify(reply.body.access_token as string, createLocalJWKSet(as.auth.jwks), { issuer: as.base, audience: MCP_URL });
    expect(payload).toMatchObject({ sub: 'alice', aud: MCP_URL, client_id: client.client_id, scope: 'drafts:read drafts:publish' });
    // An agent token, not a backend token: the API refuses it.
    expect(await as.auth.verifyBackendToken(reply.body.access_token as string)).toMatchObject({ ok: false, description: 'token audience is not this API' });
  });

  it("grants requested ∩ the user's scopes; without scope, the user's ∩ the client's", async () => {
    const { verifier, challenge } = pkce();
    const first = await loginForCode(client.client_id, challenge, 'alice', { scope: 'drafts:read posts:read customers:read' });
    const a = await redeem({ code: first.code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id });
    expect(a.body.scope).toBe('drafts:read posts:read');

    const narrow = await registerOk({ scope: 'drafts:read drafts:delete tickets:read' });
    const second = pkce();
    const noScope = await loginForCode(narrow.client_id, second.challenge, 'alice', { scope: null });
    const b = await redeem({ code: noScope.code, redirect_uri: REDIRECT, code_verifier: second.verifier, client_id: narrow.client_id });
    expect(b.body.scope).toBe('drafts:read');
    // A scope the client did not register is refused at the authorization endpoint.
    const refused = await getAuthorize(authorizeParams(narrow.client_id, second.challenge, { scope: 'posts:read' }));
    expect(location(refused).searchParams.get('error')).toBe('invalid_scope');
  });

  it('refuses a wrong verifier, and the code is spent afterwards', async () => {
    const { verifier, challenge } = pkce();
    const { code } = await loginForCode(client.client_id, challenge);
    expectError(await redeem({ code, redirect_uri: REDIRECT, code_verifier: pkce().verifier, client_id: client.client_id }), 400, 'invalid_grant', /code_verifier/);
    expectError(await redeem({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id }), 400, 'invalid_grant', /already used/);
    expectError(await redeem({ code, redirect_uri: REDIRECT, client_id: client.client_id }), 400, 'invalid_request', /code_verifier/);
  });

  it('refuses a reused code and revokes the refresh token minted from it', async () => {
    const { verifier, challenge } = pkce();
    const { code } = await loginForCode(client.client_id, challenge);
    const params = { code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id };
    const first = await redeem(params);
    expect(first.status).toBe(200);
    expectError(await redeem(params), 400, 'invalid_grant', /already used/);
    const refresh = await jsonOf(await postForm('/oauth/token', { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string, client_id: client.client_id }));
    expectError(refresh, 400, 'invalid_grant', /revoked/);
  });

  it('refuses an expired code (60 s)', async () => {
    const { verifier, challenge } = pkce();
    const { code } = await loginForCode(client.client_id, challenge);
    as.clock.ms += 61_000;
    try {
      expectError(await redeem({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id }), 400, 'invalid_grant', /expired/);
    } finally {
      as.clock.ms -= 61_000;
    }
    const fresh = pkce();
    const ok = await loginForCode(client.client_id, fresh.challenge);
    as.clock.ms += 59_000;
    try {
      expect((await redeem({ code: ok.code, redirect_uri: REDIRECT, code_verifier: fresh.verifier, client_id: client.client_id })).status).toBe(200);
    } finally {
      as.clock.ms -= 59_000;
    }
  });

  it('binds the code to the redirect URI, the client and the resource', async () => {
    const other = await registerOk();
    const attempts: [Record<string, string>, string, RegExp][] = [
      [{ redirect_uri: 'http://127.0.0.1:5173/other' }, 'invalid_grant', /redirect_uri/],
      [{ redirect_uri: '' }, 'invalid_grant', /redirect_uri/],
      [{ client_id: other.client_id }, 'invalid_grant', /another client/],
      [{ resource: 'http://127.0.0.1:3001/mcp' }, 'invalid_target', /resource/],
    ];
    for (const [override, error, description] of attempts) {
      const { verifier, challenge } = pkce();
      const { code } = await loginForCode(client.client_id, challenge);
      const params = { code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id, ...override };
      if (override.redirect_uri === '') delete (params as Partial<typeof params>).redirect_uri;
      expectError(await redeem(params), 400, error, description);
    }
    expectError(await redeem({ code: 'x', code_verifier: pkce().verifier, client_id: 'dcr_unknown' }), 401, 'invalid_client', /register again/);
    expectError(await redeem({ code: 'x', code_verifier: pkce().verifier }), 401, 'invalid_client');
  });

  it('accepts a registered loopback redirect URI on any port (RFC 8252 §7.3), nothing else unregistered', async () => {
    const { verifier, challenge } = pkce();
    const moved = 'http://127.0.0.1:61234/oauth/callback';
    const { code, url } = await loginForCode(client.client_id, challenge, 'alice', { redirect_uri: moved });
    expect(`${url.origin}${url.pathname}`).toBe(moved);
    expect((await redeem({ code, redirect_uri: moved, code_verifier: verifier, client_id: client.client_id })).status).toBe(200);

    for (const bad of ['http://127.0.0.1:5173/elsewhere', 'http://localhost:5173/oauth/callback', 'https://127.0.0.1:5173/oauth/callback', 'http://evil.example/oauth/callback']) {
      const page = await getAuthorize(authorizeParams(client.client_id, challenge, { redirect_uri: bad }));
      expect(page.status).toBe(400);
      expect(page.headers.get('location')).toBeNull();
      expect(await page.text()).toContain('redirect_uri is not one this client registered');
    }
  });

  it('re-renders the form on a wrong password, without a code or the password', async () => {
    const { challenge } = pkce();
    const params = authorizeParams(client.client_id, challenge);
    const response = await postLogin(params, 'alice', 'not-her-password-42');
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('Wrong username or password.');
    expect(html).not.toContain('not-her-password-42');
    expect(html).toContain('value="alice"');
    expect(hiddenFields(html)).toEqual(params);
    const unknownUser = await postLogin(params, 'mallory', 'x');
    expect(unknownUser.status).toBe(200);
    expect(await unknownUser.text()).toContain('Wrong username or password.');
  });

  it('re-renders the form when the user holds none of the requested scopes', async () => {
    const { challenge } = pkce();
    const response = await postLogin(authorizeParams(client.client_id, challenge, { scope: 'tickets:read' }), 'dana', 'dev-password-dana');
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('holds none of the requested scopes');
  });

  it('sends the user back with access_denied on cancel', async () => {
    const { challenge } = pkce();
    const response = await postForm('/oauth/authorize', { ...authorizeParams(client.client_id, challenge), decision: 'deny' });
    expect(response.status).toBe(302);
    const url = location(response);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ error: 'access_denied', state: 'st-123', iss: as.base });
    expect(url.searchParams.has('code')).toBe(false);
  });

  it('redirects request errors to the client: missing or wrong resource, plain or missing PKCE, bad response_type', async () => {
    const { challenge } = pkce();
    const cases: [Partial<Record<keyof AuthzParams, string | null>>, string, RegExp][] = [
      [{ resource: null }, 'invalid_request', /resource is required/],
      [{ resource: as.base }, 'invalid_target', /not for the backend/],
      [{ resource: 'https://deputy.example.com/mcp' }, 'invalid_target', /loopback/],
      [{ resource: 'http://127.0.0.1:3000/mcp#x' }, 'invalid_target', /fragment/],
      [{ code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) }, 'invalid_request', /S256/],
      [{ code_challenge_method: null }, 'invalid_request', /S256/],
      [{ code_challenge: null }, 'invalid_request', /code_challenge is required/],
      [{ code_challenge: 'short' }, 'invalid_request', /malformed/],
      [{ response_type: 'token' }, 'unsupported_response_type', /code/],
      [{ scope: 'drafts:read root' }, 'invalid_scope', /unknown scope 'root'/],
    ];
    for (const [override, error, description] of cases) {
      for (const send of [() => getAuthorize(authorizeParams(client.client_id, challenge, override)), () => postLogin(authorizeParams(client.client_id, challenge, override), 'alice', 'dev-password-alice')]) {
        const response = await send();
        expect(response.status, JSON.stringify(override)).toBe(302);
        const url = location(response);
        expect(`${url.origin}${url.pathname}`).toBe(REDIRECT);
        expect(url.searchParams.get('error'), JSON.stringify(override)).toBe(error);
        expect(url.searchParams.get('error_description')).toMatch(description);
        expect(url.searchParams.get('state')).toBe('st-123');
        expect(url.searchParams.has('code')).toBe(false);
      }
    }
    // Two resources in one request.
    const two = await fetch(`${as.base}/oauth/authorize?${new URLSearchParams(authorizeParams(client.client_id, challenge)).toString()}&resource=${encodeURIComponent('http://127.0.0.1:3001/mcp')}`, { redirect: 'manual' });
    expect(location(two).searchParams.get('error')).toBe('invalid_target');
  });

  it('shows an error page, never a redirect, for an unknown client or a missing client_id', async () => {
    const { challenge } = pkce();
    for (const override of [{ client_id: 'dcr_nobody' }, { client_id: 'deputy' }, { client_id: null }]) {
      const response = await getAuthorize(authorizeParams(client.client_id, challenge, override));
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    }
  });

  it('refuses a cross-origin form post', async () => {
    const { challenge } = pkce();
    const params = authorizeParams(client.client_id, challenge);
    const forged = await postLogin(params, 'alice', 'dev-password-alice', { Origin: 'http://evil.example' });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
    const sameOrigin = await postLogin(params, 'alice', 'dev-password-alice', { Origin: as.base });
    expect(sameOrigin.status).toBe(302);
  });

  it('escapes everything it puts on the page', async () => {
    const evil = await registerOk({ client_name: '<script>alert("x")</script>' });
    const { challenge } = pkce();
    const state = '"><img src=x onerror=alert(1)>';
    const response = await getAuthorize(authorizeParams(evil.client_id, challenge, { state }));
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(hiddenFields(html).state).toBe(state);
  });

  it('rotates refresh tokens and revokes the family when a used one comes back', async () => {
    const { verifier, challenge } = pkce();
    const { code } = await loginForCode(client.client_id, challenge, 'sam', { scope: 'tickets:read tickets:write' });
    const first = await redeem({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id });
    const refresh = (token: string, extra: Record<string, string> = {}) =>
      postForm('/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id, ...extra }).then(jsonOf);

    const second = await refresh(first.body.refresh_token as string, { scope: 'tickets:read', resource: MCP_URL });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.scope).toBe('tickets:read');
    expect(decodeJwt(second.body.access_token as string)).toMatchObject({ sub: 'sam', aud: MCP_URL, scope: 'tickets:read' });
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expectError(await refresh(second.body.refresh_token as string, { scope: 'tickets:write' }), 400, 'invalid_scope');
    expectError(await refresh(second.body.refresh_token as string, { resource: 'http://127.0.0.1:3001/mcp' }), 400, 'invalid_target');
    expectError(await refresh(second.body.refresh_token as string, { client_id: (await registerOk()).client_id }), 400, 'invalid_grant', /another client/);
    // Refused requests do not spend the token.
    const third = await refresh(second.body.refresh_token as string);
    expect(third.status, JSON.stringify(third.body)).toBe(200);
    expect(third.body.scope).toBe('tickets:read');

    // Replaying a spent token revokes every token of that login.
    expectError(await refresh(first.body.refresh_token as string), 400, 'invalid_grant', /already used/);
    expectError(await refresh(third.body.refresh_token as string), 400, 'invalid_grant', /revoked/);

    const codeOnly = await registerOk({ grant_types: ['authorization_code'] });
    const p = pkce();
    const c = await loginForCode(codeOnly.client_id, p.challenge);
    const noRefresh = await redeem({ code: c.code, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: codeOnly.client_id });
    expect(noRefresh.status).toBe(200);
    expect(noRefresh.body).not.toHaveProperty('refresh_token');
  });

  it('keeps public clients off the confidential grants, and confidential clients off the code grant', async () => {
    expectError(await jsonOf(await postForm('/oauth/token', { grant_type: 'client_credentials', client_id: client.client_id })), 401, 'invalid_client');
    expectError(await jsonOf(await postForm('/oauth/token', { grant_type: 'authorization_code', code: 'x', code_verifier: pkce().verifier }, { Authorization: basic(DEPUTY) })), 400, 'unauthorized_client');
  });
});

// -------------------------------------------------------------------------------------------
describe('the MCP TypeScript SDK client logs in', () => {
  it('discovers, registers, authorizes (a human fills in the form), exchanges and refreshes', async () => {
    const metadata = await discoverAuthorizationServerMetadata(as.base);
    expect(metadata?.authorization_endpoint).toBe(`${as.base}/oauth/authorize`);
    const redirectUrl = 'http://localhost:43117/callback';
    const clientInformation = await registerClient(as.base, {
      metadata,
      clientMetadata: {
        client_name: 'SDK test client',
        redirect_uris: [redirectUrl],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
    });
    expect(clientInformation.client_id).toMatch(/^dcr_/);

    const { authorizationUrl, codeVerifier } = await startAuthorization(as.base, {
      metadata,
      clientInformation,
      redirectUrl,
      scope: 'drafts:read customers:read tickets:read',
      state: 'sdk-state',
      resource: new URL(MCP_URL),
    });

    // The human: open the page, read the client's name, type sam's password, submit.
    const page = await fetch(authorizationUrl, { redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('SDK test client');
    const submitted = await postLogin(hiddenFields(html), 'sam', 'dev-password-sam', { Origin: as.base });
    expect(submitted.status).toBe(302);
    const callback = location(submitted);
    expect(callback.searchParams.get('state')).toBe('sdk-state');

    const tokens = await exchangeAuthorization(as.base, {
      metadata,
      clientInformation,
      authorizationCode: callback.searchParams.get('code')!,
      codeVerifier,
      redirectUri: redirectUrl,
      resource: new URL(MCP_URL),
    });
    expect(tokens.scope).toBe('customers:read tickets:read');
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(as.auth.jwks), { issuer: as.base, audience: MCP_URL });
    expect(payload).toMatchObject({ sub: 'sam', client_id: clientInformation.client_id });

    const refreshed = await refreshAuthorization(as.base, { metadata, clientInformation, refreshToken: tokens.refresh_token!, resource: new URL(MCP_URL) });
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: 'sam', aud: MCP_URL, scope: 'customers:read tickets:read' });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });
});

// -------------------------------------------------------------------------------------------
describe('registration with each advertised token endpoint auth method', () => {
  const methods = ['none', 'client_secret_basic', 'client_secret_post'] as const;

  it('the metadata advertises exactly the methods registration accepts', async () => {
    const metadata = (await (await fetch(`${as.base}/.well-known/oauth-authorization-server`)).json()) as Json;
    expect(new Set(metadata.token_endpoint_auth_methods_supported as string[])).toEqual(new Set(methods));
  });

  for (const method of methods) {
    it(`${method}: registers, then redeems a code authenticated that way (and no other)`, async () => {
      const client = await registerOk({ token_endpoint_auth_method: method });
      expect(client.token_endpoint_auth_method).toBe(method);
      const secret = client.client_secret as string | undefined;
      if (method === 'none') expect(secret).toBeUndefined();
      else expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const authenticated = (how: 'none' | 'client_secret_basic' | 'client_secret_post', params: Record<string, string>, secretValue = secret ?? 'x') => {
        if (how === 'client_secret_basic') return postForm('/oauth/token', params, { Authorization: basic([client.client_id, secretValue]) });
        if (how === 'client_secret_post') return postForm('/oauth/token', { ...params, client_id: client.client_id, client_secret: secretValue });
        return postForm('/oauth/token', { ...params, client_id: client.client_id });
      };
      const { verifier, challenge } = pkce();
      const { code } = await loginForCode(client.client_id, challenge);
      const params = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
      for (const other of methods.filter((m) => m !== method)) {
        expectError(await jsonOf(await authenticated(other, params)), 401, 'invalid_client', new RegExp(`registered token_endpoint_auth_method '${method}'`));
      }
      if (method !== 'none') expectError(await jsonOf(await authenticated(method, params, 'wrong-secret')), 401, 'invalid_client', /authentication failed/);

      const reply = await jsonOf(await authenticated(method, params));
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(decodeJwt(reply.body.access_token as string)).toMatchObject({ sub: 'alice', client_id: client.client_id });
      const refreshed = await jsonOf(await authenticated(method, { grant_type: 'refresh_token', refresh_token: reply.body.refresh_token as string }));
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    });
  }
});

// -------------------------------------------------------------------------------------------
describe('client ID metadata documents (URL client ids)', () => {
  // A tiny client website on port 0 that publishes documents by path, and counts fetches.
  let site: Server;
  let origin: string;
  const documents = new Map<string, { status?: number; body: string }>();
  let fetches = 0;
  beforeAll(async () => {
    site = createServer((req, res) => {
      fetches++;
      const doc = documents.get(req.url ?? '');
      res.writeHead(doc?.status ?? (doc ? 200 : 404), { 'Content-Type': 'application/json' }).end(doc?.body ?? '{}');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => site.close(() => resolve())));

  const publish = (path: string, document: Json, status?: number) => {
    documents.set(path, { body: JSON.stringify(document), ...(status === undefined ? {} : { status }) });
    return `${origin}${path}`;
  };

  it('logs in with a URL client id through the whole code + PKCE flow, with no registration', async () => {
    const clientId = `${origin}/oauth/client.json`;
    publish('/oauth/client.json', { client_id: clientId, client_name: 'URL Client', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' });
    const { verifier, challenge } = pkce();
    const page = await getAuthorize(authorizeParams(clientId, challenge));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('URL Client');
    const before = fetches;
    const { code } = await loginForCode(clientId, challenge);
    const reply = await redeem({ code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: clientId, resource: MCP_URL });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const { payload } = await jwtVerify(reply.body.access_token as string, createLocalJWKSet(as.auth.jwks), { issuer: as.base, audience: MCP_URL });
    expect(payload).toMatchObject({ sub: 'alice', client_id: clientId, scope: 'drafts:read drafts:publish' });
    // Cached briefly: the login and the token request reused the document fetched for the page.
    expect(fetches).toBe(before);
    as.clock.ms += 61_000;
    await getAuthorize(authorizeParams(clientId, challenge));
    expect(fetches).toBe(before + 1);
  });

  it('refuses documents that do not name their URL, list no redirect_uris, claim a secret, are too large or missing', async () => {
    const cases: [string, Json, number | undefined, RegExp][] = [
      ['/wrong-id.json', { client_id: 'https://elsewhere.example/c.json', redirect_uris: [REDIRECT] }, undefined, /client_id equal to its URL/],
      ['/no-redirects.json', { client_id: `${origin}/no-redirects.json` }, undefined, /redirect_uris/],
      ['/secret.json', { client_id: `${origin}/secret.json`, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' }, undefined, /must use token_endpoint_auth_method/],
      ['/huge.json', { client_id: `${origin}/huge.json`, redirect_uris: [REDIRECT], client_name: 'x'.repeat(6000) }, undefined, /larger than/],
      ['/gone.json', { client_id: `${origin}/gone.json`, redirect_uris: [REDIRECT] }, 404, /HTTP 404/],
    ];
    for (const [path, document, status, why] of cases) {
      const clientId = publish(path, document, status);
      const page = await getAuthorize(authorizeParams(clientId, pkce().challenge));
      expect(page.status, path).toBe(400);
      expect(page.headers.get('location')).toBeNull();
      expect(await page.text(), path).toMatch(why);
      expectError(await redeem({ code: 'x', redirect_uri: REDIRECT, code_verifier: 'y'.repeat(43), client_id: clientId }), 401, 'invalid_client');
    }
  });

  it('treats a non-loopback http URL as an ordinary (unknown) client id, and never fetches it', async () => {
    const page = await getAuthorize(authorizeParams('http://example.com/client.json', pkce().challenge));
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('Unknown client_id');
  });
});
