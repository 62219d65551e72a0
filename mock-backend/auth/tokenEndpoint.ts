/**
 * POST /oauth/token: client authentication, then one function per grant. Each grant decides
 * subject, audience and scopes; minting is shared. Every refusal is an OAuthError whose
 * description names the rule broken, never a credential.
 *
 * Confidential clients (the fixtures) authenticate with a secret; registered public clients
 * (RFC 7591) send only `client_id` and may use only `authorization_code` and `refresh_token`.
 */
import type { AccessTokenIssuer, ActorClaim, MintAccessTokenInput } from './accessTokens.ts';
import {
  GRANT_AUTHORIZATION_CODE,
  GRANT_REFRESH_TOKEN,
  PUBLIC_CLIENT_GRANTS,
  type ClientRegistry,
  type PublicClient,
} from './clients.ts';
import { authenticateClient, authenticateRegistered, checkUserPassword, requestedClientId } from './credentials.ts';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_PASSWORD,
  GRANT_TOKEN_EXCHANGE,
  LOOPBACK_RESOURCES,
  type AuthFixtures,
  type ClientFixture,
  type GrantType,
} from './fixtures.ts';
import { verifyPkce, type Grant, type GrantStore } from './grantStore.ts';
import { errorResponse, NO_STORE, OAuthError, readForm } from './oauthErrors.ts';
import { isLoopbackHttpUrl, sameResource } from './urls.ts';

export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const SUBJECT_TOKEN_TYPES = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT];

/** RFC 8707 §2 and RFC 8693 §2.1 allow these more than once; RFC 6749 §3.2 forbids repeats of the rest. */
const REPEATABLE = new Set(['resource', 'audience']);

export interface TokenEndpointContext {
  fixtures: AuthFixtures;
  tokens: AccessTokenIssuer;
  backendAudience: string;
  scopesSupported: ReadonlySet<string>;
  clients: ClientRegistry;
  grants: GrantStore;
}

interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  issued_token_type?: string;
  refresh_token?: string;
}

const isPublicClientGrant = (g: string | null): boolean => g !== null && (PUBLIC_CLIENT_GRANTS as readonly string[]).includes(g);

export async function handleTokenRequest(ctx: TokenEndpointContext, request: Request): Promise<Response> {
  try {
    const form = await readForm(request, 'token request (RFC 6749 §3.2)', REPEATABLE);
    const grantType = form.get('grant_type');
    const authorization = request.headers.get('authorization');
    let body: TokenResponse;
    const clientId = isPublicClientGrant(grantType) ? requestedClientId(authorization, form) : null;
    const registered = await ctx.clients.resolve(clientId);
    const fixture = clientId !== null && ctx.fixtures.clients.some((c) => c.id === clientId);
    if (isPublicClientGrant(grantType) && !fixture) {
      // A registered client, authenticated by the method it registered (RFC 7591 §2); a public
      // one identifies itself with client_id only (RFC 6749 §3.2.1).
      if (!registered) {
        throw new OAuthError('invalid_client', clientId ? 'unknown client_id (registrations are forgotten when the mock restarts; register again)' : 'client_id is required for public clients');
      }
      authenticateRegistered(registered, authorization, form);
      body = await publicGrant(ctx, registered, grantType!, form);
    } else {
      const client = authenticateClient(ctx.fixtures.clients, authorization, form);
      if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
      body = await grant(ctx, client, grantType, form);
    }
    return Response.json(body, { headers: NO_STORE });
  } catch (err) {
    return errorResponse(err, 'token endpoint');
  }
}

async function grant(ctx: TokenEndpointContext, client: ClientFixture, grantType: string, form: URLSearchParams): Promise<TokenResponse> {
  if (isPublicClientGrant(grantType)) {
    throw new OAuthError('unauthorized_client', `the ${grantType} grant is for registered public clients (POST /oauth/register), not for client '${client.id}'`);
  }
  const grants: Record<GrantType, () => Promise<TokenResponse>> = {
    [GRANT_CLIENT_CREDENTIALS]: () => clientCredentials(ctx, client, form),
    [GRANT_TOKEN_EXCHANGE]: () => tokenExchange(ctx, client, form),
    [GRANT_PASSWORD]: () => password(ctx, client, form),
  };
  if (!Object.hasOwn(grants, grantType)) {
    throw new OAuthError('unsupported_grant_type', `grant_type '${grantType}' is not supported`);
  }
  if (!client.grants.includes(grantType as GrantType)) {
    throw new OAuthError('unauthorized_client', `client '${client.id}' may not use the ${grantType} grant`);
  }
  return grants[grantType as GrantType]();
}

/** RFC 6749 §4.4. The token is the client's own: `sub` = `client_id` (RFC 9068 §2.2). */
async function clientCredentials(ctx: TokenEndpointContext, client: ClientFixture, form: URLSearchParams) {
  const requested = parseScope(ctx, form) ?? client.defaultScopes;
  // RFC 6749 §3.3: without a scope, use a pre-defined default or fail with invalid_scope.
  if (!requested) {
    throw new OAuthError('invalid_scope', `scope is required: client '${client.id}' has no default scopes`);
  }
  const scopes = requireAllowed(requested, client.scopes, `client '${client.id}'`);
  const audience = backendOrClientResource(ctx, client, form.getAll('resource'));
  return mint(ctx, { subject: client.id, clientId: client.id, audience, scopes });
}

/**
 * RFC 8693: a user's access token from this server (any audience, e.g. Deputy's MCP endpoint)
 * in, a backend token for that user out, with `act` naming the exchanging client (§4.1).
 */
async function tokenExchange(ctx: TokenEndpointContext, client: ClientFixture, form: URLSearchParams) {
  const subjectToken = form.get('subject_token');
  const subjectTokenType = form.get('subject_token_type');
  if (!subjectToken) throw new OAuthError('invalid_request', 'subject_token is required');
  if (!subjectTokenType) throw new OAuthError('invalid_request', 'subject_token_type is required');
  if (!SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw new OAuthError('invalid_request', `subject_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
  }
  if (form.has('actor_token')) {
    throw new OAuthError('invalid_request', 'actor_token is not supported: the authenticated client is the actor');
  }
  const requestedType = form.get('requested_token_type');
  if (requestedType !== null && !SUBJECT_TOKEN_TYPES.includes(requestedType)) {
    throw new OAuthError('invalid_request', `requested_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
  }
  for (const target of [...form.getAll('resource'), ...form.getAll('audience')]) {
    if (!sameResource(target, ctx.backendAudience)) {
      throw new OAuthError('invalid_target', `tokens can only be exchanged for the backend (${ctx.backendAudience})`);
    }
  }

  const subject = await ctx.tokens.verify(subjectToken);
  if (!subject.ok) throw new OAuthError('invalid_grant', `subject ${subject.description}`);
  const user = ctx.fixtures.users.find((u) => u.username === subject.claims.sub);
  if (!user) throw new OAuthError('invalid_grant', 'subject token was not issued to a user');

  const requested = parseScope(ctx, form);
  const candidates = requested ? requireAllowed(requested, client.scopes, `client '${client.id}'`) : client.scopes;
  const scopes = candidates.filter((s) => user.scopes.includes(s));
  if (scopes.length === 0) {
    throw new OAuthError('invalid_scope', `user '${user.username}' holds none of the requested scopes`);
  }
  const actor: ActorClaim = { sub: client.id, ...(subject.claims.act ? { act: subject.claims.act } : {}) };
  // The exchanged token stays in the subject token's tenant.
  const tenant = subject.claims.tenant;
  const response = await mint(ctx, { subject: user.username, clientId: client.id, audience: ctx.backendAudience, scopes, actor, ...(tenant !== undefined ? { tenant } : {}) });
  return { ...response, issued_token_type: TOKEN_TYPE_ACCESS_TOKEN };
}

/**
 * RFC 6749 §4.3, development only: a dev user's name and password in, an agent token for
 * Deputy's MCP endpoint (`resource`, RFC 8707) out. Never a backend token: agents reach the
 * backend only through Deputy.
 */
async function password(ctx: TokenEndpointContext, client: ClientFixture, form: URLSearchParams) {
  const username = form.get('username');
  const pass = form.get('password');
  if (!username) throw new OAuthError('invalid_request', 'username is required');
  if (pass === null) throw new OAuthError('invalid_request', 'password is required');
  const resources = form.getAll('resource');
  if (resources.length === 0) throw new OAuthError('invalid_request', "resource is required: the URL of Deputy's MCP endpoint");
  const [resource] = resources;
  if (resources.length > 1 || resource === undefined) throw new OAuthError('invalid_target', 'request one resource per token');
  if (sameResource(resource, ctx.backendAudience)) {
    throw new OAuthError('invalid_target', "the password grant issues agent tokens for Deputy's MCP endpoint, not backend tokens");
  }
  const audience = backendOrClientResource(ctx, client, resources);

  const user = checkUserPassword(ctx.fixtures.users, username, pass);
  if (!user) throw new OAuthError('invalid_grant', 'username or password is wrong');
  const requested = parseScope(ctx, form) ?? user.scopes;
  const scopes = requireAllowed(requireAllowed(requested, user.scopes, `user '${user.username}'`), client.scopes, `client '${client.id}'`);
  // Development only: the agent picks the tenant to act in (`tenant`), as a sign-in that asks for
  // an organisation would; a real authorization server decides it from the user's memberships.
  const tenant = form.get('tenant');
  if (tenant !== null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(tenant)) throw new OAuthError('invalid_request', 'tenant must be letters, digits and _.- (at most 64)');
  return mint(ctx, { subject: user.username, clientId: client.id, audience, scopes, ...(tenant !== null ? { tenant } : {}) });
}

async function mint(ctx: TokenEndpointContext, input: MintAccessTokenInput): Promise<TokenResponse> {
  const { accessToken, expiresIn, scope } = await ctx.tokens.mint(input);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope };
}

/** RFC 6749 §3.3: space-delimited, order irrelevant. `undefined` when the request has no `scope`. */
function parseScope(ctx: TokenEndpointContext, form: URLSearchParams): string[] | undefined {
  const value = form.get('scope');
  if (value === null) return undefined;
  const scopes = [...new Set(value.split(' ').filter(Boolean))];
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'scope is empty');
  for (const s of scopes) {
    if (!ctx.scopesSupported.has(s)) throw new OAuthError('invalid_scope', `unknown scope '${s.slice(0, 64)}'`);
  }
  return scopes;
}

function requireAllowed(requested: readonly string[], allowed: readonly string[], holder: string): string[] {
  const refused = requested.filter((s) => !allowed.includes(s));
  if (refused.length > 0) throw new OAuthError('invalid_scope', `${holder} may not have scope ${refused.map((s) => `'${s}'`).join(', ')}`);
  return [...requested];
}

/** The audience for a token: the backend by default, or a `resource` the client may target (RFC 8707). */
function backendOrClientResource(ctx: TokenEndpointContext, client: ClientFixture, resources: string[]): string {
  if (resources.length === 0) return ctx.backendAudience;
  const [resource] = resources;
  if (resources.length > 1 || resource === undefined) throw new OAuthError('invalid_target', 'request one resource per token');
  const url = URL.canParse(resource) ? new URL(resource) : undefined;
  // RFC 8707 §2: an absolute URI without a fragment.
  if (!url || resource.includes('#')) throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment');
  if (sameResource(resource, ctx.backendAudience)) return ctx.backendAudience;
  const allowed = client.resources.some((r) => (r === LOOPBACK_RESOURCES ? isLoopbackHttpUrl(url) : sameResource(r, resource)));
  if (!allowed) throw new OAuthError('invalid_target', `client '${client.id}' may not request tokens for ${url.origin}${url.pathname}`);
  return resource;
}

async function publicGrant(ctx: TokenEndpointContext, client: PublicClient, grantType: string, form: URLSearchParams): Promise<TokenResponse> {
  if (!client.grants.includes(grantType as PublicClient['grants'][number])) {
    throw new OAuthError('unauthorized_client', `the client did not register the ${grantType} grant`);
  }
  return grantType === GRANT_AUTHORIZATION_CODE ? authorizationCode(ctx, client, form) : refreshToken(ctx, client, form);
}

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5): the code is single-use and bound to the client,
 * the redirect URI, the challenge, the resource and the scopes granted at login. The token is
 * the user's, for the resource (`aud`), carrying exactly those scopes.
 */
async function authorizationCode(ctx: TokenEndpointContext, client: PublicClient, form: URLSearchParams): Promise<TokenResponse> {
  const code = form.get('code');
  const verifier = form.get('code_verifier');
  if (!code) throw new OAuthError('invalid_request', 'code is required');
  if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)');
  const resources = form.getAll('resource');
  if (resources.length > 1) throw new OAuthError('invalid_target', 'request one resource per token');

  const redeemed = ctx.grants.redeemCode(code);
  if (!redeemed.ok) throw new OAuthError('invalid_grant', redeemed.description);
  const granted = redeemed.value;
  if (granted.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'authorization code was issued to another client');
  const redirectUri = form.get('redirect_uri');
  if (granted.redirectUriWasGiven && redirectUri === null) throw new OAuthError('invalid_grant', 'redirect_uri is required: the authorization request had one');
  if (redirectUri !== null && redirectUri !== granted.redirectUri) {
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
  }
  if (!verifyPkce(verifier, granted.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
  const [resource] = resources;
  if (resource !== undefined && !sameResource(resource, granted.resource)) {
    throw new OAuthError('invalid_target', 'resource does not match the authorization request');
  }
  return mintForUser(ctx, client, granted, granted.family);
}

/** OAuth 2.1 §4.3: same user, resource and (at most the) scopes; the refresh token rotates. */
async function refreshToken(ctx: TokenEndpointContext, client: PublicClient, form: URLSearchParams): Promise<TokenResponse> {
  const presented = form.get('refresh_token');
  if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required');
  const resources = form.getAll('resource');
  if (resources.length > 1) throw new OAuthError('invalid_target', 'request one resource per token');
  const requested = parseScope(ctx, form);
  let scopes: string[] = [];
  const redeemed = ctx.grants.redeemRefreshToken(presented, client.clientId, (granted) => {
    const [resource] = resources;
    if (resource !== undefined && !sameResource(resource, granted.resource)) {
      throw new OAuthError('invalid_target', 'resource does not match the original authorization');
    }
    scopes = requested ? requireAllowed(requested, granted.scopes, 'the original authorization') : granted.scopes;
  });
  if (!redeemed.ok) throw new OAuthError('invalid_grant', redeemed.description);
  const granted = redeemed.value;
  const user = ctx.fixtures.users.find((u) => u.username === granted.subject);
  if (!user) throw new OAuthError('invalid_grant', 'the user no longer exists');
  return mintForUser(ctx, client, { ...granted, scopes: scopes.filter((s) => user.scopes.includes(s)) }, granted.family);
}

async function mintForUser(ctx: TokenEndpointContext, client: PublicClient, granted: Grant, family: string): Promise<TokenResponse> {
  if (granted.scopes.length === 0) throw new OAuthError('invalid_scope', 'no scope left to grant');
  const response = await mint(ctx, { subject: granted.subject, clientId: client.clientId, audience: granted.resource, scopes: granted.scopes });
  if (!client.grants.includes(GRANT_REFRESH_TOKEN)) return response;
  const refresh = ctx.grants.issueRefreshToken(
    { clientId: client.clientId, subject: granted.subject, scopes: granted.scopes, resource: granted.resource },
    family,
  );
  return { ...response, refresh_token: refresh };
}
