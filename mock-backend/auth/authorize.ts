/**
 * The authorization endpoint (RFC 6749 §4.1, OAuth 2.1, PKCE S256 only, RFC 8707 `resource`
 * required) with a development login page:
 *
 *   GET  /oauth/authorize   validates the request and renders a login form listing the dev users
 *   POST /oauth/authorize   the form posts back every authorization parameter plus the user's
 *                           name and password; on success, 302 to `redirect_uri?code=…&state=…&iss=…`
 *
 * There is no session and no cookie: each POST carries the credentials and is validated from
 * scratch exactly like the GET, so a forged POST achieves nothing without a password, and a
 * cross-origin POST (an `Origin` header other than this server's) is refused outright.
 * Errors about the client or its redirect URI are shown as a page, never redirected
 * (RFC 6749 §4.1.2.1); every other error goes back to the client's redirect URI.
 */
import type { PublicClient } from './clients.ts';
import { GRANT_AUTHORIZATION_CODE, type ClientRegistry } from './clients.ts';
import { checkUserPassword } from './credentials.ts';
import type { AuthFixtures, UserFixture } from './fixtures.ts';
import { isPkceValue, type GrantStore } from './grantStore.ts';
import { OAuthError, rejectRepeats } from './oauthErrors.ts';
import { isLoopbackHttpUrl, redirectUriMatches, sameResource } from './urls.ts';

export interface AuthorizeContext {
  issuer: string;
  fixtures: AuthFixtures;
  clients: ClientRegistry;
  grants: GrantStore;
  backendAudience: string;
  scopesSupported: ReadonlySet<string>;
}

/** The authorization request parameters the form carries back (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707). */
const FORWARDED = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'resource'] as const;

/** A problem with the client or redirect URI: shown to the user, never redirected. */
class PageError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
  ) {
    super(description);
  }
}

interface ValidRequest {
  client: PublicClient;
  redirectUri: string;
  redirectUriWasGiven: boolean;
  state: string | null;
  codeChallenge: string;
  resource: string;
  /** Undefined when the request has no `scope`. */
  requestedScopes: string[] | undefined;
  /** The parameters to echo into the form's hidden fields. */
  forwarded: [string, string][];
}

export async function handleAuthorizeGet(ctx: AuthorizeContext, request: Request): Promise<Response> {
  const params = new URL(request.url).searchParams;
  return respond(ctx, params, (valid) => loginPage(ctx, valid));
}

export async function handleAuthorizePost(ctx: AuthorizeContext, request: Request): Promise<Response> {
  const origin = request.headers.get('origin');
  if (origin !== null && origin !== new URL(ctx.issuer).origin && origin !== new URL(request.url).origin) {
    return errorPage(403, 'This form only accepts submissions from its own page (cross-origin request refused).');
  }
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get('content-type') ?? '')) {
    return errorPage(400, 'The login form must be posted as application/x-www-form-urlencoded.');
  }
  const form = new URLSearchParams(await request.text());
  return respond(ctx, form, (valid) => login(ctx, valid, form));
}

async function respond(
  ctx: AuthorizeContext,
  params: URLSearchParams,
  onValid: (valid: ValidRequest) => Response | Promise<Response>,
): Promise<Response> {
  try {
    return await onValid(await validate(ctx, params));
  } catch (err) {
    if (err instanceof PageError) return errorPage(err.status, err.description);
    if (err instanceof RedirectError) return err.response;
    // Unexpected: no details (they could carry request data, such as the password).
    console.error('[mock-backend auth] authorization endpoint failed:', err instanceof Error ? err.name : typeof err);
    return errorPage(500, 'The authorization endpoint failed unexpectedly.');
  }
}

class RedirectError extends Error {
  constructor(readonly response: Response) {
    super('authorization error redirect');
  }
}

async function validate(ctx: AuthorizeContext, params: URLSearchParams): Promise<ValidRequest> {
  for (const key of ['client_id', 'redirect_uri']) {
    if (params.getAll(key).length > 1) throw new PageError(400, `The parameter '${key}' is repeated.`);
  }
  const clientId = params.get('client_id');
  if (!clientId) throw new PageError(400, 'The request has no client_id.');
  let client: PublicClient | undefined;
  try {
    client = await ctx.clients.resolve(clientId);
  } catch (err) {
    // A URL client id whose metadata document is unusable: shown, never redirected (its
    // redirect URIs are not known to be the client's).
    if (err instanceof OAuthError) throw new PageError(400, `The client_id URL cannot be used: ${err.description}`);
    throw err;
  }
  if (!client) {
    throw new PageError(400, 'Unknown client_id. Register the client first (POST /oauth/register); registrations are forgotten when the mock backend restarts.');
  }
  const given = params.get('redirect_uri');
  let redirectUri: string;
  if (given === null) {
    // OAuth 2.1 §4.1.1: optional only when the client registered exactly one.
    if (client.redirectUris.length !== 1) throw new PageError(400, 'The request has no redirect_uri, and the client registered more than one.');
    redirectUri = client.redirectUris[0]!;
  } else {
    if (!redirectUriMatches(client.redirectUris, given)) throw new PageError(400, 'The redirect_uri is not one this client registered.');
    redirectUri = given;
  }
  const state = params.get('state');
  const fail = (error: OAuthError): never => {
    throw new RedirectError(redirectWithParams(redirectUri, { error: error.error, error_description: error.description, state, iss: ctx.issuer }));
  };

  try {
    rejectRepeats(params, new Set(['resource']));
  } catch (err) {
    if (err instanceof OAuthError) fail(err);
    throw err;
  }
  const responseType = params.get('response_type');
  if (responseType === null) fail(new OAuthError('invalid_request', 'response_type is required'));
  if (responseType !== 'code') fail(new OAuthError('unsupported_response_type', "only response_type 'code' is supported"));
  if (!client.grants.includes(GRANT_AUTHORIZATION_CODE)) {
    fail(new OAuthError('unauthorized_client', 'the client did not register the authorization_code grant'));
  }
  const codeChallenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (!codeChallenge) fail(new OAuthError('invalid_request', 'code_challenge is required (PKCE, RFC 7636)'));
  // OAuth 2.1 §4.1.1: an absent method means `plain`, which this server does not accept.
  if (method !== 'S256') fail(new OAuthError('invalid_request', "code_challenge_method must be 'S256'"));
  if (!isPkceValue(codeChallenge!)) fail(new OAuthError('invalid_request', 'code_challenge is malformed (RFC 7636 §4.2)'));

  const resources = params.getAll('resource');
  if (resources.length === 0) fail(new OAuthError('invalid_request', "resource is required (RFC 8707): the URL of Deputy's MCP endpoint"));
  if (resources.length > 1) fail(new OAuthError('invalid_target', 'request one resource per authorization'));
  const resource = resources[0]!;
  const resourceUrl = URL.canParse(resource) && !resource.includes('#') ? new URL(resource) : undefined;
  if (!resourceUrl) fail(new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment'));
  if (sameResource(resource, ctx.backendAudience)) {
    fail(new OAuthError('invalid_target', "the authorization code flow issues tokens for Deputy's MCP endpoint, not for the backend"));
  }
  if (!isLoopbackHttpUrl(resourceUrl!)) fail(new OAuthError('invalid_target', 'resource must be an http(s) URL on a loopback host'));

  let requestedScopes: string[] | undefined;
  const scope = params.get('scope');
  if (scope !== null) {
    requestedScopes = [...new Set(scope.split(' ').filter(Boolean))];
    if (requestedScopes.length === 0) requestedScopes = undefined;
    for (const s of requestedScopes ?? []) {
      if (!ctx.scopesSupported.has(s)) fail(new OAuthError('invalid_scope', `unknown scope '${s.slice(0, 64)}'`));
      if (!client.scopes.includes(s)) fail(new OAuthError('invalid_scope', `the client did not register scope '${s.slice(0, 64)}'`));
    }
  }

  const forwarded: [string, string][] = [];
  for (const key of FORWARDED) {
    const value = params.get(key);
    if (value !== null) forwarded.push([key, value]);
  }
  return {
    client,
    redirectUri,
    redirectUriWasGiven: given !== null,
    state,
    codeChallenge: codeChallenge!,
    resource,
    requestedScopes,
    forwarded,
  };
}

function login(ctx: AuthorizeContext, valid: ValidRequest, form: URLSearchParams): Response {
  if (form.get('decision') === 'deny') {
    return redirectWithParams(valid.redirectUri, {
      error: 'access_denied',
      error_description: 'the user cancelled the login',
      state: valid.state,
      iss: ctx.issuer,
    });
  }
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const user = username ? checkUserPassword(ctx.fixtures.users, username, password) : undefined;
  if (!user) return loginPage(ctx, valid, { username, error: 'Wrong username or password.' });

  const candidates = valid.requestedScopes ?? valid.client.scopes;
  const scopes = candidates.filter((s) => user.scopes.includes(s));
  if (scopes.length === 0) {
    return loginPage(ctx, valid, { username, error: `User '${user.username}' holds none of the requested scopes. Log in as another user, or cancel.` });
  }
  const code = ctx.grants.issueCode({
    clientId: valid.client.clientId,
    subject: user.username,
    scopes,
    resource: valid.resource,
    redirectUri: valid.redirectUri,
    redirectUriWasGiven: valid.redirectUriWasGiven,
    codeChallenge: valid.codeChallenge,
  });
  return redirectWithParams(valid.redirectUri, { code, state: valid.state, iss: ctx.issuer });
}

/** Appends to the redirect URI's own query (RFC 6749 §3.1.2); RFC 9207 `iss` names this server. */
function redirectWithParams(redirectUri: string, params: Record<string, string | null>): Response {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.append(k, v);
  return new Response(null, { status: 302, headers: { Location: url.href, 'Cache-Control': 'no-store', Pragma: 'no-cache' } });
}

// ---------------------------------------------------------------------------------------------
// HTML. Everything interpolated goes through `esc`; the page loads nothing and runs no script.

const esc = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  // No script, no external resources, no framing (clickjacking). No form-action: browsers apply
  // it to the redirect to the client's callback after the POST.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Same-origin form posts keep their Origin header (checked above); nothing leaks cross-origin.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}code{background:#f3f3f3;padding:0 .25em}table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;font-size:.9rem}.warn{background:#fff4d6;padding:.5rem .75rem}
.error{background:#fde2e2;padding:.5rem .75rem;font-weight:600}label{display:block;margin:.5rem 0}input[type=text],input[type=password]{width:16rem}
button{margin:.75rem .5rem 0 0;padding:.35rem 1rem}`;

function page(title: string, body: string, status = 200): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body></html>
`;
  return new Response(html, { status, headers: PAGE_HEADERS });
}

function errorPage(status: number, message: string): Response {
  return page('Authorization request refused', `<h1>Authorization request refused</h1>\n<p class="error">${esc(message)}</p>\n<p>Nothing was sent back to the client.</p>`, status);
}

function loginPage(ctx: AuthorizeContext, valid: ValidRequest, state: { username?: string; error?: string } = {}): Response {
  const scopeList = valid.requestedScopes
    ? valid.requestedScopes.map((s) => `<code>${esc(s)}</code>`).join(' ')
    : `none named: the token gets every scope the user holds that the client may request`;
  const users = ctx.fixtures.users.map((u: UserFixture) =>
    `<tr><td><code>${esc(u.username)}</code></td><td><code>${esc(u.password)}</code></td><td>${u.scopes.map((s) => `<code>${esc(s)}</code>`).join(' ')}</td></tr>`,
  );
  const hidden = valid.forwarded.map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`);
  const body = `<h1>Log in to Deputy (development)</h1>
<p class="warn">Development authorization server of Deputy's mock backend. The passwords below are public; never use them anywhere real.</p>
${state.error ? `<p class="error" role="alert">${esc(state.error)}</p>\n` : ''}<p><strong>${esc(valid.client.name)}</strong> wants an access token for
<code>${esc(valid.resource)}</code>.</p>
<p>Requested scopes: ${scopeList}.<br>You get those the user holds.</p>
<form method="post" action="/oauth/authorize">
${hidden.join('\n')}
<label>Username <input type="text" name="username" autocomplete="username" required value="${esc(state.username ?? '')}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit" name="decision" value="allow">Log in and allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Cancel</button>
</form>
<h2>Development users</h2>
<table><thead><tr><th>User</th><th>Password</th><th>Scopes</th></tr></thead>
<tbody>
${users.join('\n')}
</tbody></table>
<p>The code goes back to <code>${esc(valid.redirectUri)}</code>.</p>`;
  return page(`Log in: ${valid.client.name}`, body);
}
