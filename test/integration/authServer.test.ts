/**
 * The mock backend's development authorization server over real HTTP on loopback: metadata,
 * JWKS, every grant and its refusals, backend token verification, and the token CLI end to end.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, UnsecuredJWT, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAuthFixtures, loadAuthFixtures } from '../../mock-backend/auth/fixtures.ts';
import { DEFAULT_SPEC_PATH, DEFAULT_TOOLS_PATH, readYaml, scopesForTools, specScopes } from '../../mock-backend/auth/specScopes.ts';
import { startAuthServer, type RunningAuthServer } from '../helpers/authServer.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const MCP_URL = 'http://127.0.0.1:3000/mcp';
const JWT_LINE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;
const DEPUTY = ['deputy', 'dev-secret-deputy'] as const;
const AGENT = ['deputy-dev-agent', 'dev-secret-deputy-dev-agent'] as const;
const REPORTING_BOT = ['reporting-bot', 'dev-secret-reporting-bot'] as const;

let as: RunningAuthServer;
beforeAll(async () => {
  as = await startAuthServer();
});
afterAll(() => as.close());

type Credentials = readonly [id: string, secret: string];
interface TokenReply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function requestToken(
  params: Record<string, string | string[]>,
  client: Credentials | null,
  method: 'basic' | 'post' = 'basic',
  base = as.base,
): Promise<TokenReply> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const value of [v].flat()) form.append(k, value);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (client && method === 'basic') headers.Authorization = `Basic ${Buffer.from(`${client[0]}:${client[1]}`).toString('base64')}`;
  if (client && method === 'post') {
    form.set('client_id', client[0]);
    form.set('client_secret', client[1]);
  }
  const response = await fetch(`${base}/oauth/token`, { method: 'POST', headers, body: form });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

async function mintOk(params: Record<string, string | string[]>, client: Credentials, method: 'basic' | 'post' = 'basic', base = as.base) {
  const reply = await requestToken(params, client, method, base);
  expect(reply.body, JSON.stringify(reply.body.error_description)).toHaveProperty('access_token');
  expect(reply.status).toBe(200);
  return { ...reply, token: reply.body.access_token as string, claims: decodeJwt(reply.body.access_token as string) };
}

function expectOAuthError(reply: TokenReply, status: number, error: string, description?: RegExp) {
  expect(reply.status).toBe(status);
  expect(reply.body.error).toBe(error);
  expect(typeof reply.body.error_description).toBe('string');
  if (description) expect(reply.body.error_description).toMatch(description);
  expect(reply.body).not.toHaveProperty('access_token');
  expect(reply.headers.get('cache-control')).toBe('no-store');
}

const agentToken = (username: string, password: string, extra: Record<string, string> = {}) =>
  mintOk({ grant_type: 'password', username, password, resource: MCP_URL, ...extra }, AGENT);

describe('discovery', () => {
  it('publishes RFC 8414 metadata listing only what it implements, with scopes from the spec', async () => {
    const response = await fetch(`${as.base}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    const metadata = (await response.json()) as { scopes_supported: string[] };
    expect(metadata).toEqual({
      issuer: as.base,
      authorization_endpoint: `${as.base}/oauth/authorize`,
      token_endpoint: `${as.base}/oauth/token`,
      registration_endpoint: `${as.base}/oauth/register`,
      introspection_endpoint: `${as.base}/oauth/introspect`,
      jwks_uri: `${as.base}/.well-known/jwks.json`,
      scopes_supported: specScopes(await readYaml(DEFAULT_SPEC_PATH)),
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['client_credentials', TOKEN_EXCHANGE, 'password', 'authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(metadata.scopes_supported).toHaveLength(13);
  });

  it('publishes the public signing key, which verifies the tokens it issues', async () => {
    const jwks = (await (await fetch(`${as.base}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0]!;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key.kid).toEqual(expect.any(String));
    expect(key).not.toHaveProperty('d');

    const { token } = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read' }, DEPUTY);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: key.kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: as.base, audience: as.base });
    expect(payload.scope).toBe('drafts:read');
  });
});

describe('client_credentials', () => {
  it('issues a token with exactly the requested scopes and RFC 9068 claims', async () => {
    const { claims, body, headers } = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read customers:read' }, DEPUTY);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'drafts:read customers:read' });
    expect(claims).toMatchObject({ iss: as.base, sub: 'deputy', aud: as.base, client_id: 'deputy', scope: 'drafts:read customers:read' });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.jti).toEqual(expect.any(String));

    const again = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read customers:read' }, DEPUTY);
    expect(again.claims.jti).not.toBe(claims.jti);
  });

  it('accepts client_secret_post as well as client_secret_basic, but not both at once', async () => {
    const { claims } = await mintOk({ grant_type: 'client_credentials', scope: 'tickets:write' }, DEPUTY, 'post');
    expect(claims).toMatchObject({ client_id: 'deputy', scope: 'tickets:write' });

    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'drafts:read', client_id: DEPUTY[0], client_secret: DEPUTY[1] });
    const response = await fetch(`${as.base}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(DEPUTY.join(':')).toString('base64')}` },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a scope the client may not have, and a scope the API does not define', async () => {
    expectOAuthError(
      await requestToken({ grant_type: 'client_credentials', scope: 'drafts:read drafts:publish' }, REPORTING_BOT),
      400,
      'invalid_scope',
      /drafts:publish/,
    );
    expectOAuthError(await requestToken({ grant_type: 'client_credentials', scope: 'drafts:everything' }, DEPUTY), 400, 'invalid_scope', /unknown scope/);
  });

  it('without scope grants the client its default scopes, or refuses when it has none', async () => {
    const { claims } = await mintOk({ grant_type: 'client_credentials' }, REPORTING_BOT);
    expect(claims.scope).toBe('drafts:read posts:read');
    expectOAuthError(await requestToken({ grant_type: 'client_credentials' }, DEPUTY), 400, 'invalid_scope', /no default scopes/);
  });

  it('answers a wrong secret or unknown client with 401 invalid_client and WWW-Authenticate: Basic', async () => {
    for (const client of [['deputy', 'dev-secret-wrong'], ['nobody', 'dev-secret-deputy']] as const) {
      for (const method of ['basic', 'post'] as const) {
        const reply = await requestToken({ grant_type: 'client_credentials', scope: 'drafts:read' }, client, method);
        expectOAuthError(reply, 401, 'invalid_client');
        expect(reply.headers.get('www-authenticate')).toMatch(/^Basic /);
        expect(JSON.stringify(reply.body)).not.toContain(client[1]);
      }
    }
    expectOAuthError(await requestToken({ grant_type: 'client_credentials', scope: 'drafts:read' }, null), 401, 'invalid_client');
  });

  it('issues for the backend resource, refuses resources the client may not target', async () => {
    const { claims } = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read', resource: `${as.base}/` }, DEPUTY);
    expect(claims.aud).toBe(as.base);
    expectOAuthError(
      await requestToken({ grant_type: 'client_credentials', scope: 'drafts:read', resource: MCP_URL }, DEPUTY),
      400,
      'invalid_target',
    );
  });

  it('refuses unknown grant types, grants the client lacks, and repeated parameters', async () => {
    expectOAuthError(await requestToken({ grant_type: 'urn:example:unknown', code: 'x' }, DEPUTY), 400, 'unsupported_grant_type');
    // The code and refresh grants are for registered public clients (authServerFlows.test.ts).
    expectOAuthError(await requestToken({ grant_type: 'authorization_code', code: 'x' }, DEPUTY), 400, 'unauthorized_client', /public clients/);
    expectOAuthError(await requestToken({ grant_type: 'client_credentials', scope: 'drafts:read' }, AGENT), 400, 'unauthorized_client');
    expectOAuthError(await requestToken({ grant_type: 'client_credentials', scope: ['drafts:read', 'admin:sql'] }, DEPUTY), 400, 'invalid_request', /repeated/);
  });
});

describe('token exchange (RFC 8693)', () => {
  const exchange = (subjectToken: string, extra: Record<string, string> = {}, client: Credentials = DEPUTY) =>
    requestToken({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, ...extra }, client);

  it("turns a user's agent token into a backend token with requested ∩ the user's scopes and act = the client", async () => {
    const alice = await agentToken('alice', 'dev-password-alice');
    expect(alice.claims.aud).toBe(MCP_URL);

    const reply = await exchange(alice.token, { scope: 'drafts:read drafts:publish customers:read', resource: as.base });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', scope: 'drafts:read drafts:publish' });
    const claims = decodeJwt(reply.body.access_token as string);
    expect(claims).toMatchObject({ iss: as.base, sub: 'alice', aud: as.base, client_id: 'deputy', scope: 'drafts:read drafts:publish', act: { sub: 'deputy' } });

    const verified = await as.auth.verifyBackendToken(reply.body.access_token as string);
    expect(verified).toEqual({
      ok: true,
      principal: { subject: 'alice', clientId: 'deputy', scopes: ['drafts:read', 'drafts:publish'], kind: 'jwt', actor: { sub: 'deputy' }, tokenId: claims.jti },
    });
  });

  it('refuses when the user holds none of the requested scopes', async () => {
    const dana = await agentToken('dana', 'dev-password-dana');
    expectOAuthError(await exchange(dana.token, { scope: 'customers:read' }), 400, 'invalid_scope', /dana/);
  });

  it('refuses missing parameters with invalid_request', async () => {
    const alice = await agentToken('alice', 'dev-password-alice');
    expectOAuthError(await requestToken({ grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'drafts:read' }, DEPUTY), 400, 'invalid_request', /subject_token/);
    expectOAuthError(await requestToken({ grant_type: TOKEN_EXCHANGE, subject_token: alice.token, scope: 'drafts:read' }, DEPUTY), 400, 'invalid_request', /subject_token_type/);
    expectOAuthError(await exchange(alice.token, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }), 400, 'invalid_request');
  });

  it('refuses garbage, tampered, foreign and non-user subject tokens with invalid_grant', async () => {
    expectOAuthError(await exchange('not-a-jwt', { scope: 'drafts:read' }), 400, 'invalid_grant');

    const alice = await agentToken('alice', 'dev-password-alice');
    const [h, , s] = alice.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...alice.claims, sub: 'olivia' })).toString('base64url');
    expectOAuthError(await exchange(`${h}.${forged}.${s}`, { scope: 'admin:sql' }), 400, 'invalid_grant', /signature/);

    const other = await startAuthServer();
    try {
      const foreign = await mintOk({ grant_type: 'password', username: 'alice', password: 'dev-password-alice', resource: MCP_URL }, AGENT, 'basic', other.base);
      expectOAuthError(await exchange(foreign.token, { scope: 'drafts:read' }), 400, 'invalid_grant');
    } finally {
      await other.close();
    }

    const clientToken = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read' }, DEPUTY);
    expectOAuthError(await exchange(clientToken.token, { scope: 'drafts:read' }), 400, 'invalid_grant', /not issued to a user/);
  });

  it('refuses an expired subject token with invalid_grant', async () => {
    const local = await startAuthServer();
    try {
      const alice = await mintOk({ grant_type: 'password', username: 'alice', password: 'dev-password-alice', resource: MCP_URL }, AGENT, 'basic', local.base);
      local.clock.ms += 901_000;
      const reply = await requestToken(
        { grant_type: TOKEN_EXCHANGE, subject_token: alice.token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'drafts:read' },
        DEPUTY,
        'basic',
        local.base,
      );
      expectOAuthError(reply, 400, 'invalid_grant', /expired/);
    } finally {
      await local.close();
    }
  });

  it('refuses clients without the grant and audiences other than the backend', async () => {
    const alice = await agentToken('alice', 'dev-password-alice');
    expectOAuthError(await exchange(alice.token, { scope: 'drafts:read' }, REPORTING_BOT), 400, 'unauthorized_client');
    expectOAuthError(await exchange(alice.token, { scope: 'drafts:read', audience: 'http://127.0.0.1:9/other' }), 400, 'invalid_target');
  });
});

describe('password grant (dev agent tokens for MCP)', () => {
  it("issues a token for the MCP resource with the requested scopes, or all the user's", async () => {
    const scoped = await agentToken('sam', 'dev-password-sam', { scope: 'tickets:read' });
    expect(scoped.claims).toMatchObject({ iss: as.base, sub: 'sam', aud: MCP_URL, client_id: 'deputy-dev-agent', scope: 'tickets:read' });

    const all = await agentToken('sam', 'dev-password-sam');
    expect(all.claims.scope).toBe('customers:read tickets:read tickets:write');
  });

  it("refuses scopes beyond the user's, wrong passwords, and non-loopback or backend resources", async () => {
    const base = { grant_type: 'password', username: 'dana', password: 'dev-password-dana', resource: MCP_URL };
    expectOAuthError(await requestToken({ ...base, scope: 'drafts:read drafts:publish' }, AGENT), 400, 'invalid_scope', /drafts:publish/);
    expectOAuthError(await requestToken({ ...base, password: 'dev-password-wrong' }, AGENT), 400, 'invalid_grant');
    expectOAuthError(await requestToken({ ...base, username: 'mallory' }, AGENT), 400, 'invalid_grant');
    expectOAuthError(await requestToken({ ...base, resource: 'https://mcp.example.com/mcp' }, AGENT), 400, 'invalid_target');
    expectOAuthError(await requestToken({ ...base, resource: as.base }, AGENT), 400, 'invalid_target', /not backend tokens/);
    const { resource: _, ...withoutResource } = base;
    expectOAuthError(await requestToken(withoutResource, AGENT), 400, 'invalid_request', /resource/);
    expectOAuthError(await requestToken(base, DEPUTY), 400, 'unauthorized_client');
  });
});

describe('verifyBackendToken', () => {
  it('accepts a backend JWT and reports its principal', async () => {
    const { token, claims } = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:publish' }, DEPUTY);
    expect(await as.auth.verifyBackendToken(token)).toEqual({
      ok: true,
      principal: { subject: 'deputy', clientId: 'deputy', scopes: ['drafts:publish'], kind: 'jwt', tokenId: claims.jti },
    });
  });

  it('rejects an expired JWT', async () => {
    const local = await startAuthServer({ accessTokenTtlSeconds: 60 });
    try {
      const { token } = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read' }, DEPUTY, 'basic', local.base);
      expect((await local.auth.verifyBackendToken(token)).ok).toBe(true);
      local.clock.ms += 61_000;
      expect(await local.auth.verifyBackendToken(token)).toEqual({ ok: false, error: 'invalid_token', description: 'token expired' });
    } finally {
      await local.close();
    }
  });

  it("rejects an agent token: the backend never accepts the MCP caller's token", async () => {
    const { token } = await agentToken('olivia', 'dev-password-olivia');
    expect(await as.auth.verifyBackendToken(token)).toEqual({ ok: false, error: 'invalid_token', description: 'token audience is not this API' });
  });

  it('rejects tampered, foreign-signed and unsigned JWTs without echoing them', async () => {
    const { token, claims } = await mintOk({ grant_type: 'client_credentials', scope: 'drafts:read' }, DEPUTY);
    const [h, , s] = token.split('.');
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'admin:sql' })).toString('base64url');
    const badSig = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const other = await startAuthServer({ issuer: as.base, backendAudience: as.base });
    const foreign = (await other.auth.mintAccessToken({ subject: 'deputy', clientId: 'deputy', audience: as.base, scopes: ['admin:sql'] })).accessToken;
    await other.close();
    const unsigned = new UnsecuredJWT({ ...claims }).encode();

    for (const [bad, description] of [
      [`${h}.${widened}.${s}`, 'token signature is invalid'],
      [badSig, 'token signature is invalid'],
      [foreign, 'token was not signed by this authorization server'],
      [unsigned, undefined],
    ] as const) {
      const result = await as.auth.verifyBackendToken(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        if (description) expect(result.description).toBe(description);
        expect(result.description).not.toContain(bad);
      }
    }
  });

  it('accepts static API tokens with their own scopes, keyed by id, and refuses unknown, revoked and expired ones', async () => {
    expect(await as.auth.verifyBackendToken('acme_dev_drafts_publish_2b8e6d0c4a9f1e37')).toEqual({
      ok: true,
      principal: { subject: 'svc-deputy', clientId: 'key-drafts-publish', scopes: ['drafts:publish'], kind: 'static', tokenId: 'key-drafts-publish' },
    });
    expect(await as.auth.verifyBackendToken('acme_dev_drafts_publish_2b8e6d0c4a9f1e38')).toEqual({ ok: false, error: 'invalid_token', description: 'unknown token' });
    expect(await as.auth.verifyBackendToken('acme_dev_revoked_3d7f1b5e9a2c0864')).toMatchObject({ ok: false, description: 'token revoked' });
    expect(await as.auth.verifyBackendToken('acme_dev_expired_5f9b1d3a7e0c2468')).toMatchObject({ ok: false, description: 'token expired' });
    expect(await as.auth.verifyBackendToken('')).toMatchObject({ ok: false });
  });
});

describe('fixtures and spec scopes', () => {
  it('refuses fixtures naming a scope the spec does not define', async () => {
    const fixtures = await loadAuthFixtures();
    const scopes = specScopes(await readYaml(DEFAULT_SPEC_PATH));
    expect(() => checkAuthFixtures(fixtures, scopes)).not.toThrow();
    expect(() => checkAuthFixtures(fixtures, scopes.filter((s) => s !== 'tickets:write'))).toThrow(/unknown scope 'tickets:write'/);
  });

  it("derives the tools' scopes from each operation's security, and fails on an unknown operation", async () => {
    const spec = await readYaml(DEFAULT_SPEC_PATH);
    const manifest = { tools: [{ name: 'listDrafts', operation: 'listDrafts' }, { name: 'publishDraft', operation: 'publishDraft' }, { name: 'getDraft', operation: 'getDraft' }] };
    expect(scopesForTools(spec, manifest)).toEqual(['drafts:read', 'drafts:publish']);
    expect(() => scopesForTools(spec, { tools: [{ name: 'x', operation: 'dropDatabase' }] })).toThrow(/dropDatabase/);
  });
});

describe('token CLI', () => {
  const TSX = `${ROOT}node_modules/.bin/tsx`;
  const runCli = (args: string[], base = as.base) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const { PORT: _, ...env } = process.env;
      execFile(TSX, ['mock-backend/token.ts', ...args], { cwd: ROOT, env: { ...env, MOCK_BACKEND_URL: base } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('--for backend prints exactly one backend JWT with exactly the requested scope', async () => {
    const { code, stdout } = await runCli(['--for', 'backend', '--scope', 'drafts:read']);
    expect(code).toBe(0);
    expect(stdout).toMatch(JWT_LINE);
    const token = stdout.trim();
    expect(decodeJwt(token)).toMatchObject({ scope: 'drafts:read', aud: as.base, client_id: 'deputy' });
    expect(await as.auth.verifyBackendToken(token)).toMatchObject({ ok: true, principal: { scopes: ['drafts:read'] } });
  });

  it("--for mcp prints an agent token for Deputy's endpoint, by default with every scope Deputy's tools need", async () => {
    const scoped = await runCli(['--for', 'mcp', '--user', 'alice', '--scope', 'drafts:publish', '--resource', MCP_URL]);
    expect(scoped.code).toBe(0);
    expect(scoped.stdout).toMatch(JWT_LINE);
    expect(decodeJwt(scoped.stdout)).toMatchObject({ sub: 'alice', aud: MCP_URL, scope: 'drafts:publish' });

    const byDefault = await runCli(['--for', 'mcp', '--resource', MCP_URL]);
    expect(byDefault.code).toBe(0);
    expect(byDefault.stdout).toMatch(JWT_LINE);
    const expected = existsSync(DEFAULT_TOOLS_PATH)
      ? scopesForTools(await readYaml(DEFAULT_SPEC_PATH), await readYaml(DEFAULT_TOOLS_PATH))
      : ['drafts:read', 'drafts:publish', 'customers:read', 'tickets:read', 'tickets:write'];
    expect(decodeJwt(byDefault.stdout)).toMatchObject({ sub: 'dev', aud: MCP_URL, scope: expected.join(' ') });
  });

  it('--tenant puts the tenant in the agent token (DEPUTY_TENANT_CLAIM=tenant), and refuses one that is not a name', async () => {
    const { code, stdout } = await runCli(['--for', 'mcp', '--surface', 'support', '--tenant', 'north', '--scope', 'drafts:read']);
    expect(code).toBe(0);
    expect(decodeJwt(stdout)).toMatchObject({ sub: 'dev', tenant: 'north', scope: 'drafts:read' });
    const bad = await runCli(['--for', 'mcp', '--surface', 'support', '--tenant', 'no/such', '--scope', 'drafts:read']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^invalid_request: tenant must be/m);
  });

  it('--for mcp --surface NAME: the audience is the surface\'s path, the scopes its tools\' (openapi/README.md, "Surfaces")', async () => {
    const support = await runCli(['--for', 'mcp', '--surface', 'support']);
    expect(support.code).toBe(0);
    const scopesOf = (token: string) => String(decodeJwt(token).scope).split(' ').sort();
    expect(decodeJwt(support.stdout)).toMatchObject({ sub: 'dev', aud: MCP_URL.replace(/\/mcp$/, '/mcp/support') });
    expect(scopesOf(support.stdout)).toEqual(['customers:read', 'drafts:read', 'tickets:read']);
    const content = await runCli(['--for', 'mcp', '--surface', 'content']);
    expect(decodeJwt(content.stdout)).toMatchObject({ aud: MCP_URL.replace(/\/mcp$/, '/mcp/content') });
    expect(scopesOf(content.stdout)).toEqual(['drafts:publish', 'drafts:read', 'tickets:read', 'tickets:write']);
    // The shipped manifest declares surfaces, so /mcp is not served: the CLI asks which surface.
    const unnamed = await runCli(['--for', 'mcp']);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('openapi/tools.yaml declares surfaces (content, support); pass --surface NAME');
    const unknown = await runCli(['--for', 'mcp', '--surface', 'billing']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no surface 'billing' (it has content, support)");
  });

  it('shows the server\'s refusal as "error: description" on stderr and exits 1, printing nothing on stdout', async () => {
    const { code, stdout, stderr } = await runCli(['--for', 'backend', '--client', 'reporting-bot', '--scope', 'admin:sql']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^invalid_scope: .*admin:sql/m);
    expect(stderr).not.toContain('dev-secret-reporting-bot');
  });

  it('exits 2 with a hint when no mock backend answers', async () => {
    const { code, stdout, stderr } = await runCli(['--for', 'backend', '--scope', 'drafts:read'], 'http://127.0.0.1:9');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('no mock backend at http://127.0.0.1:9; start it with `npm run mock-backend`');
  });
});
