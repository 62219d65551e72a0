/**
 * POST /oauth/token: client authentication, then one function per grant. Each grant decides
 * subject, audience and scopes; minting is shared. Every refusal is an OAuthError whose
 * description names the rule broken, never a credential.
 */
import type { AccessTokenIssuer, ActorClaim, MintAccessTokenInput } from './accessTokens.ts';
import { authenticateClient, checkUserPassword } from './credentials.ts';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_PASSWORD,
  GRANT_TOKEN_EXCHANGE,
  LOOPBACK_RESOURCES,
  type AuthFixtures,
  type ClientFixture,
  type GrantType,
} from './fixtures.ts';
import { NO_STORE, OAuthError } from './oauthErrors.ts';

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
}

interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  issued_token_type?: string;
}

export async function handleTokenRequest(ctx: TokenEndpointContext, request: Request): Promise<Response> {
  try {
    const form = await readForm(request);
    const client = authenticateClient(ctx.fixtures.clients, request.headers.get('authorization'), form);
    const grantType = form.get('grant_type');
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
    const body = await grant(ctx, client, grantType, form);
    return Response.json(body, { headers: NO_STORE });
  } catch (err) {
    if (err instanceof OAuthError) return err.toResponse();
    // An unexpected failure: report it without details (they could carry request data).
    console.error('[mock-backend auth] token endpoint failed:', err instanceof Error ? err.name : typeof err);
    return new OAuthError('server_error', 'the token endpoint failed unexpectedly').toResponse();
  }
}

async function readForm(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new OAuthError('invalid_request', 'the token request must be application/x-www-form-urlencoded (RFC 6749 §3.2)');
  }
  const form = new URLSearchParams(await request.text());
  const seen = new Set<string>();
  for (const key of form.keys()) {
    if (seen.has(key) && !REPEATABLE.has(key)) throw new OAuthError('invalid_request', `parameter '${key}' is repeated`);
    seen.add(key);
  }
  return form;
}

async function grant(ctx: TokenEndpointContext, client: ClientFixture, grantType: string, form: URLSearchParams): Promise<TokenResponse> {
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
  const response = await mint(ctx, { subject: user.username, clientId: client.id, audience: ctx.backendAudience, scopes, actor });
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
  return mint(ctx, { subject: user.username, clientId: client.id, audience, scopes });
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

/** Two resource URLs name the same thing once normalised (`http://h:1` ≡ `http://h:1/`). */
function sameResource(a: string, b: string): boolean {
  return URL.canParse(a) && URL.canParse(b) && new URL(a).href === new URL(b).href;
}

function isLoopbackHttpUrl(url: URL): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password) return false;
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
}
