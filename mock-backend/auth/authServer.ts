/**
 * The development OAuth authorization server of the mock backend, as msw request handlers
 * served on the same socket as the API (`@mswjs/http-middleware`):
 *
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
 *   GET  /.well-known/jwks.json                     the public signing key
 *   POST /oauth/token                               client_credentials, token exchange (RFC 8693),
 *                                                   password (dev agent tokens for Deputy's MCP endpoint),
 *                                                   authorization_code + PKCE and refresh_token (public clients)
 *   POST /oauth/register                            dynamic client registration (RFC 7591)
 *   GET  /oauth/authorize, POST /oauth/authorize    authorization code flow with a dev login page
 *   POST /oauth/introspect                          token introspection (RFC 7662) for allowed clients
 *
 * so that MCP clients (Inspector, Claude Code, the SDK) log in through the standard MCP
 * authorization flow, and Deputy can check what its backend tokens hold.
 *
 * plus `verifyBackendToken`, which the API handlers call for every request's bearer token.
 * Audience rules: backend tokens carry `aud` = `backendAudience`; agent tokens carry the MCP
 * endpoint's URL and are refused by the backend, so a test that sees the backend accept a
 * request proves Deputy did not forward the caller's token.
 */
import { http, HttpResponse, type RequestHandler } from 'msw';
import type { JSONWebKeySet } from 'jose';
import { createAccessTokenIssuer, type MintAccessTokenInput, type MintedAccessToken } from './accessTokens.ts';
import { handleAuthorizeGet, handleAuthorizePost } from './authorize.ts';
import { ClientRegistry, handleRegistration, PUBLIC_CLIENT_GRANTS } from './clients.ts';
import { StaticTokenStore } from './credentials.ts';
import { checkAuthFixtures, GRANT_TYPES, loadAuthFixtures, type AuthFixtures } from './fixtures.ts';
import { DEFAULT_REFRESH_TOKEN_TTL_SECONDS, GrantStore } from './grantStore.ts';
import { handleIntrospection, introspect, type IntrospectionResponse } from './introspect.ts';
import { errorResponse } from './oauthErrors.ts';
import type { VerifyResult } from './principal.ts';
import { DEFAULT_SPEC_PATH, readYaml, specScopes } from './specScopes.ts';
import { handleTokenRequest } from './tokenEndpoint.ts';

export type { AuthFixtures } from './fixtures.ts';
export type { MintAccessTokenInput, MintedAccessToken, ActorClaim } from './accessTokens.ts';
export type { ClientRegistrationResponse } from './clients.ts';
export type { IntrospectionResponse } from './introspect.ts';

export interface AuthServerOptions {
  /** The mock's base URL, e.g. `http://127.0.0.1:4010` (no path). Becomes `iss`. */
  issuer: string;
  /** The audience the API accepts; use the issuer URL. */
  backendAudience: string;
  /** Default: `mock-backend/fixtures/{clients,users,static-tokens}.yaml`. */
  fixtures?: AuthFixtures;
  /** Milliseconds since the epoch; inject to test expiry. Default `Date.now`. */
  now?: () => number;
  /** Default 900 (15 minutes). */
  accessTokenTtlSeconds?: number;
  /** Refresh tokens of the authorization code flow. Default 28,800 (8 hours). */
  refreshTokenTtlSeconds?: number;
  /** Default: every scope of the OAuth2 scheme in `openapi/admin-api.yaml`. */
  scopesSupported?: readonly string[];
}

/** RFC 8414 §2, listing only what this server implements. */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  introspection_endpoint: string;
  jwks_uri: string;
  scopes_supported: string[];
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  code_challenge_methods_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
  client_id_metadata_document_supported: boolean;
}

export interface AuthServer {
  /** msw handlers for every endpoint above; serve before the API's catch-all. */
  handlers: RequestHandler[];
  /** Checks a bearer token presented to the API: a backend-audience JWT from this server, or a static API token. */
  verifyBackendToken(token: string): Promise<VerifyResult>;
  /** Mints a token without HTTP (tests, `npm start`): no client or scope checks, use with care. */
  mintAccessToken(input: MintAccessTokenInput): Promise<MintedAccessToken>;
  /** RFC 7662 answer for a token, as `POST /oauth/introspect` gives it (without client authentication). */
  introspect(token: string): Promise<IntrospectionResponse>;
  /** Public clients registered since start (RFC 7591). */
  clients: ClientRegistry;
  issuer: string;
  backendAudience: string;
  jwks: JSONWebKeySet;
  metadata: AuthorizationServerMetadata;
  fixtures: AuthFixtures;
}

export const METADATA_PATH = '/.well-known/oauth-authorization-server';
export const JWKS_PATH = '/.well-known/jwks.json';
export const TOKEN_PATH = '/oauth/token';
export const AUTHORIZE_PATH = '/oauth/authorize';
export const REGISTER_PATH = '/oauth/register';
export const INTROSPECT_PATH = '/oauth/introspect';

/**
 * Browser-based clients (MCP Inspector) discover, register and redeem codes from another
 * origin. These endpoints take no cookies, so any origin may call them. Not the authorization
 * endpoint (a page the user navigates to) and not introspection (server to server).
 */
const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, MCP-Protocol-Version',
  'Access-Control-Expose-Headers': 'WWW-Authenticate',
  'Access-Control-Max-Age': '600',
};

function withCors(response: Response): Response {
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(CORS_HEADERS)) headers.set(k, v);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export async function createAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const issuerUrl = new URL(opts.issuer);
  if (issuerUrl.pathname !== '/' || issuerUrl.search || issuerUrl.hash) {
    throw new Error(`issuer must be a base URL without path, query or fragment (got ${issuerUrl.href})`);
  }
  const issuer = issuerUrl.origin;
  const now = opts.now ?? Date.now;
  const fixtures = opts.fixtures ?? (await loadAuthFixtures());
  const scopesSupported = opts.scopesSupported ? [...opts.scopesSupported] : specScopes(await readYaml(DEFAULT_SPEC_PATH));
  checkAuthFixtures(fixtures, scopesSupported);

  const tokens = await createAccessTokenIssuer({ issuer, now, ttlSeconds: opts.accessTokenTtlSeconds ?? 900 });
  const staticTokens = new StaticTokenStore(fixtures.staticTokens);
  const clients = new ClientRegistry(scopesSupported, now);
  const grants = new GrantStore(now, opts.refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS);
  const ctx = {
    issuer,
    fixtures,
    tokens,
    staticTokens,
    clients,
    grants,
    now,
    backendAudience: opts.backendAudience,
    scopesSupported: new Set(scopesSupported),
  };

  const metadata: AuthorizationServerMetadata = {
    issuer,
    authorization_endpoint: `${issuer}${AUTHORIZE_PATH}`,
    token_endpoint: `${issuer}${TOKEN_PATH}`,
    registration_endpoint: `${issuer}${REGISTER_PATH}`,
    introspection_endpoint: `${issuer}${INTROSPECT_PATH}`,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    scopes_supported: scopesSupported,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES, ...PUBLIC_CLIENT_GRANTS],
    // `none`: registered public clients, on the authorization_code and refresh_token grants only.
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    // RFC 9207: authorization responses carry `iss`.
    authorization_response_iss_parameter_supported: true,
    // URL client ids: the client's metadata is fetched from its client_id (clientMetadataDocument.ts).
    client_id_metadata_document_supported: true,
  };

  async function verifyBackendToken(token: string): Promise<VerifyResult> {
    const invalid = (description: string): VerifyResult => ({ ok: false, error: 'invalid_token', description });
    if (!token) return invalid('missing token');

    const known = staticTokens.lookup(token);
    if (known) {
      if (known.revoked) return invalid('token revoked');
      if (known.expiresAt && Date.parse(known.expiresAt) <= now()) return invalid('token expired');
      return {
        ok: true,
        principal: { subject: known.subject, clientId: known.id, scopes: [...known.scopes], kind: 'static', tokenId: known.id, ...(known.tenant ? { tenant: known.tenant } : {}) },
      };
    }
    if (token.split('.').length !== 3) return invalid('unknown token');

    const checked = await tokens.verify(token, opts.backendAudience);
    if (!checked.ok) return invalid(checked.description);
    const { claims } = checked;
    return {
      ok: true,
      principal: {
        subject: claims.sub,
        clientId: claims.client_id,
        scopes: claims.scope.split(' ').filter(Boolean),
        kind: 'jwt',
        ...(claims.act ? { actor: { sub: claims.act.sub } } : {}),
        ...(claims.tenant ? { tenant: claims.tenant } : {}),
        tokenId: claims.jti,
      },
    };
  }

  const preflight = () => new Response(null, { status: 204, headers: CORS_HEADERS });
  const handlers: RequestHandler[] = [
    http.get(METADATA_PATH, () => withCors(HttpResponse.json(metadata))),
    // Keys are generated per process: no caching hint, a restarted mock publishes a new key.
    http.get(JWKS_PATH, () => withCors(HttpResponse.json(tokens.jwks))),
    http.post(TOKEN_PATH, async ({ request }) => withCors(await handleTokenRequest(ctx, request))),
    http.post(REGISTER_PATH, async ({ request }) =>
      withCors(await handleRegistration(clients, request).catch((err: unknown) => errorResponse(err, 'registration endpoint'))),
    ),
    ...[METADATA_PATH, JWKS_PATH, TOKEN_PATH, REGISTER_PATH].map((path) => http.options(path, preflight)),
    http.get(AUTHORIZE_PATH, ({ request }) => handleAuthorizeGet(ctx, request)),
    http.post(AUTHORIZE_PATH, ({ request }) => handleAuthorizePost(ctx, request)),
    http.post(INTROSPECT_PATH, ({ request }) =>
      handleIntrospection(ctx, request).catch((err: unknown) => errorResponse(err, 'introspection endpoint')),
    ),
  ];

  return {
    handlers,
    verifyBackendToken,
    mintAccessToken: (input) => tokens.mint(input),
    introspect: (token) => introspect(ctx, token),
    clients,
    issuer,
    backendAudience: opts.backendAudience,
    jwks: tokens.jwks,
    metadata,
    fixtures,
  };
}
