/**
 * Token introspection (RFC 7662) at `POST /oauth/introspect`, so Deputy can ask what a backend
 * token really holds (its over-privilege check) even when the token is opaque.
 *
 * The caller authenticates like at the token endpoint (client_secret_basic or
 * client_secret_post). Failed authentication is 401 `invalid_client` (§2.3); an authenticated
 * client without `introspect: true` in `clients.yaml` is 403 `unauthorized_client`, since
 * introspection reveals who holds which token. Anything that is not a live token this server
 * knows is `{"active": false}` and nothing else (§2.2), whatever the reason.
 */
import type { AccessTokenIssuer } from './accessTokens.ts';
import { authenticateClient, type StaticTokenStore } from './credentials.ts';
import type { AuthFixtures } from './fixtures.ts';
import { NO_STORE, OAuthError, readForm } from './oauthErrors.ts';

export interface IntrospectionContext {
  issuer: string;
  fixtures: AuthFixtures;
  tokens: AccessTokenIssuer;
  staticTokens: StaticTokenStore;
  backendAudience: string;
  now: () => number;
}

export interface IntrospectionResponse {
  active: boolean;
  scope?: string;
  client_id?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  iss?: string;
  jti?: string;
  token_type?: 'Bearer';
  /** RFC 8693 §4.1 / §2.2.1: who acts for `sub` (token exchange). */
  act?: unknown;
}

export async function handleIntrospection(ctx: IntrospectionContext, request: Request): Promise<Response> {
  const form = await readForm(request, 'introspection request');
  const client = authenticateClient(ctx.fixtures.clients, request.headers.get('authorization'), form);
  if (!client.introspect) {
    throw new OAuthError('unauthorized_client', `client '${client.id}' may not introspect tokens`, 403);
  }
  const token = form.get('token');
  if (!token) throw new OAuthError('invalid_request', 'token is required');
  // token_type_hint is optional and only a hint (§2.1); every token kind is looked up anyway.
  return Response.json(await introspect(ctx, token), { headers: NO_STORE });
}

export async function introspect(ctx: IntrospectionContext, token: string): Promise<IntrospectionResponse> {
  const inactive: IntrospectionResponse = { active: false };
  const known = ctx.staticTokens.lookup(token);
  if (known) {
    const exp = known.expiresAt ? Math.floor(Date.parse(known.expiresAt) / 1000) : undefined;
    if (known.revoked || (known.expiresAt && Date.parse(known.expiresAt) <= ctx.now())) return inactive;
    return {
      active: true,
      scope: known.scopes.join(' '),
      client_id: known.id,
      sub: known.subject,
      aud: ctx.backendAudience,
      ...(exp !== undefined ? { exp } : {}),
      iss: ctx.issuer,
      token_type: 'Bearer',
    };
  }
  if (token.split('.').length !== 3) return inactive;
  // Any audience: the backend's tokens and agent tokens for Deputy's MCP endpoint alike.
  const checked = await ctx.tokens.verify(token);
  if (!checked.ok) return inactive;
  const c = checked.claims;
  return {
    active: true,
    scope: c.scope,
    client_id: c.client_id,
    sub: c.sub,
    aud: c.aud,
    exp: c.exp,
    iat: c.iat,
    iss: c.iss,
    jti: c.jti,
    token_type: 'Bearer',
    ...(c.act ? { act: c.act } : {}),
  };
}
