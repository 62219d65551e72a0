/**
 * Sign-in for the approval page (src/README.md, "Approval out of band"): Deputy is an OAuth
 * client of the same authorization server that issues callers' tokens, and signs the human in
 * with the authorization code grant and PKCE (S256; OAuth 2.1 §4.1, RFC 7636). Its client id is
 * `DEPUTY_APPROVAL_CLIENT_ID`, or else the URL of the Client ID Metadata Document it serves
 * itself, so an authorization server that supports those needs no registration. The token is
 * asked for the page's own resource (`<public URL>/approvals`, RFC 8707): it is never an MCP
 * token, is verified like one (JWKS, issuer, audience) only to learn who signed in, and is then
 * dropped.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CallerVerifier } from './callerAuth.ts';

export interface SignInOptions {
  issuer: string;
  /** Deputy's public base URL; the page lives under `/approvals`. */
  publicUrl: string;
  clientId: string | null;
  clientSecret: string | null;
  /** Verifies the page's access token (audience: the page's resource). */
  verify: CallerVerifier;
  fetch?: typeof fetch;
}

/** A person signed in on the page. */
export interface PageIdentity {
  subject: string;
  scopes: string[];
  roles: string[];
  /** The tenant of their token (src/README.md D41); null when tenants are off. */
  tenant: string | null;
}

/** What the browser carries, sealed, between leaving for the authorization server and coming back. */
export interface LoginTransaction {
  state: string;
  verifier: string;
  /** The approval to show after sign-in. */
  approvalId: string;
}

export interface SignIn {
  /** The page's resource: the audience of its tokens. */
  resource: string;
  redirectUri: string;
  clientId: string;
  /** The Client ID Metadata Document, when Deputy names itself by its URL. */
  metadataDocument: Record<string, unknown> | null;
  begin(approvalId: string, scopes: readonly string[]): Promise<{ transaction: LoginTransaction; location: string }>;
  /** Redeems the code; null when anything is wrong (the page says sign-in failed, nothing more). */
  finish(transaction: LoginTransaction, code: string): Promise<PageIdentity | null>;
}

export const CLIENT_METADATA_PATH = '/approvals/oauth-client.json';

export function createSignIn(options: SignInOptions): SignIn {
  const doFetch = options.fetch ?? fetch;
  const resource = `${options.publicUrl}/approvals`;
  const redirectUri = `${options.publicUrl}/approvals/callback`;
  const clientId = options.clientId ?? `${options.publicUrl}${CLIENT_METADATA_PATH}`;
  let endpoints: Promise<{ authorize: string; token: string }> | null = null;

  // RFC 8414 metadata, read on the first sign-in and kept; a failure is retried on the next.
  const discover = () =>
    (endpoints ??= (async () => {
      const response = await doFetch(`${options.issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`authorization server metadata: HTTP ${response.status}`);
      const metadata = (await response.json()) as { authorization_endpoint?: unknown; token_endpoint?: unknown };
      if (typeof metadata.authorization_endpoint !== 'string' || typeof metadata.token_endpoint !== 'string') throw new Error('authorization server metadata lacks endpoints');
      return { authorize: metadata.authorization_endpoint, token: metadata.token_endpoint };
    })().catch((error: unknown) => {
      endpoints = null;
      throw error;
    }));

  return {
    resource,
    redirectUri,
    clientId,
    metadataDocument:
      options.clientId === null
        ? {
            client_id: clientId,
            client_name: 'Deputy approval page',
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none',
          }
        : null,
    async begin(approvalId, scopes) {
      const { authorize } = await discover();
      const transaction: LoginTransaction = { state: randomBytes(16).toString('base64url'), verifier: randomBytes(32).toString('base64url'), approvalId };
      const url = new URL(authorize);
      const params = {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        state: transaction.state,
        code_challenge: createHash('sha256').update(transaction.verifier).digest('base64url'),
        code_challenge_method: 'S256',
        resource,
        ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      };
      for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
      return { transaction, location: url.href };
    },
    async finish(transaction, code) {
      const { token } = await discover();
      const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: transaction.verifier, resource });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (options.clientSecret !== null) {
        headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`;
      } else {
        form.set('client_id', clientId);
      }
      const response = await doFetch(token, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(10_000) });
      if (!response.ok) {
        await response.body?.cancel();
        return null;
      }
      const accessToken = ((await response.json()) as { access_token?: unknown }).access_token;
      if (typeof accessToken !== 'string') return null;
      const verified = await options.verify(accessToken);
      if (!verified.ok) return null;
      return { subject: verified.caller.subject, scopes: [...verified.caller.scopes], roles: [...(verified.caller.roles ?? [])], tenant: verified.caller.tenant };
    },
  };
}
