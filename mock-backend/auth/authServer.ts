/**
 * The development OAuth authorization server of the mock backend, as msw request handlers
 * served on the same socket as the API (`@mswjs/http-middleware`):
 *
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
 *   GET  /.well-known/jwks.json                     the public signing key
 *   POST /oauth/token                               client_credentials, token exchange (RFC 8693),
 *                                                   password (dev agent tokens for Deputy's MCP endpoint)
 *
 * plus `verifyBackendToken`, which the API handlers call for every request's bearer token.
 * Audience rules: backend tokens carry `aud` = `backendAudience`; agent tokens carry the MCP
 * endpoint's URL and are refused by the backend, so a test that sees the backend accept a
 * request proves Deputy did not forward the caller's token.
 */
import { http, HttpResponse, type RequestHandler } from 'msw';
import type { JSONWebKeySet } from 'jose';
import { createAccessTokenIssuer, type MintAccessTokenInput, type MintedAccessToken } from './accessTokens.ts';
import { StaticTokenStore } from './credentials.ts';
import { checkAuthFixtures, GRANT_TYPES, loadAuthFixtures, type AuthFixtures } from './fixtures.ts';
import type { VerifyResult } from './principal.ts';
import { DEFAULT_SPEC_PATH, readYaml, specScopes } from './specScopes.ts';
import { handleTokenRequest } from './tokenEndpoint.ts';

export type { AuthFixtures } from './fixtures.ts';
export type { MintAccessTokenInput, MintedAccessToken, ActorClaim } from './accessTokens.ts';

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
  /** Default: every scope of the OAuth2 scheme in `openapi/admin-api.yaml`. */
  scopesSupported?: readonly string[];
}

/** RFC 8414 §2, listing only what this server implements. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  scopes_supported: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
}

export interface AuthServer {
  /** msw handlers for the metadata, JWKS and token endpoints; serve before the API's catch-all. */
  handlers: RequestHandler[];
  /** Checks a bearer token presented to the API: a backend-audience JWT from this server, or a static API token. */
  verifyBackendToken(token: string): Promise<VerifyResult>;
  /** Mints a token without HTTP (tests, `npm start`): no client or scope checks, use with care. */
  mintAccessToken(input: MintAccessTokenInput): Promise<MintedAccessToken>;
  issuer: string;
  backendAudience: string;
  jwks: JSONWebKeySet;
  metadata: AuthorizationServerMetadata;
  fixtures: AuthFixtures;
}

export const METADATA_PATH = '/.well-known/oauth-authorization-server';
export const JWKS_PATH = '/.well-known/jwks.json';
export const TOKEN_PATH = '/oauth/token';

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
  const ctx = { fixtures, tokens, backendAudience: opts.backendAudience, scopesSupported: new Set(scopesSupported) };

  const metadata: AuthorizationServerMetadata = {
    issuer,
    token_endpoint: `${issuer}${TOKEN_PATH}`,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    scopes_supported: scopesSupported,
    // Required by RFC 8414, and honestly empty: there is no authorization endpoint.
    response_types_supported: [],
    grant_types_supported: [...GRANT_TYPES],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
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
        principal: { subject: known.subject, clientId: known.id, scopes: [...known.scopes], kind: 'static', tokenId: known.id },
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
        tokenId: claims.jti,
      },
    };
  }

  const handlers: RequestHandler[] = [
    http.get(METADATA_PATH, () => HttpResponse.json(metadata)),
    // Keys are generated per process: no caching hint, a restarted mock publishes a new key.
    http.get(JWKS_PATH, () => HttpResponse.json(tokens.jwks)),
    http.post(TOKEN_PATH, ({ request }) => handleTokenRequest(ctx, request)),
  ];

  return {
    handlers,
    verifyBackendToken,
    mintAccessToken: (input) => tokens.mint(input),
    issuer,
    backendAudience: opts.backendAudience,
    jwks: tokens.jwks,
    metadata,
    fixtures,
  };
}
