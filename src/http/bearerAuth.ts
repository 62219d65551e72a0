/**
 * The resource-server half of MCP authorization: every request to /mcp carries a bearer token
 * in the Authorization header (never the query string; OAuth 2.1 §5.1), or it is refused with
 * 401 and a `WWW-Authenticate` challenge that points at the Protected Resource Metadata
 * (RFC 9728 §5.1). A session id is not a credential: each request is authenticated anew.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Caller } from '../tools/caller.ts';
import type { CallerVerifier } from './callerAuth.ts';
import type { Refusal } from './respond.ts';

/** Who sent a request: `auth` is what the SDK transport hands to request handlers as `extra.authInfo`. */
export interface Authenticated {
  caller: Caller;
  auth: AuthInfo;
}

export function callerFromAuthInfo(auth: AuthInfo | undefined): { caller: Caller; token: string } | null {
  const caller = auth?.extra?.caller as Caller | undefined;
  return auth && caller ? { caller, token: auth.token } : null;
}

/** Quotes a value for an auth-param (RFC 9110 §11.2): no quotes or backslashes inside. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

export function challenge(resourceMetadataUrl: string, params: Record<string, string> = {}): string {
  const parts = [`resource_metadata=${quoted(resourceMetadataUrl)}`];
  for (const [key, value] of Object.entries(params)) parts.push(`${key}=${quoted(value)}`);
  return `Bearer ${parts.join(', ')}`;
}

export type BearerAuth = (req: IncomingMessage) => Promise<Authenticated | Refusal>;

export function isRefusal(result: Authenticated | Refusal): result is Refusal {
  return 'status' in result;
}

export function bearerAuth(options: { verify: CallerVerifier; resourceMetadataUrl: string; resource: string }): BearerAuth {
  const resource = new URL(options.resource);
  const refuse = (description?: string): Refusal => {
    // RFC 6750 §3.1: no error code when the request carried no credentials at all.
    const params: Record<string, string> = description ? { error: 'invalid_token', error_description: description } : {};
    return {
      status: 401,
      headers: { 'www-authenticate': challenge(options.resourceMetadataUrl, params) },
      body: { error: description ? 'invalid_token' : 'unauthorized', error_description: description ?? 'Authentication required' },
    };
  };
  return async (req) => {
    const header = req.headers.authorization;
    if (!header) return refuse();
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
    if (!match) return refuse('The Authorization header must be "Bearer <token>"');
    const token = match[1]!;
    const verified = await options.verify(token);
    if (!verified.ok && verified.unavailable) {
      // Not the caller's fault: no invalid_token challenge, which would make it drop a good token.
      return { status: 503, headers: { 'retry-after': '5' }, body: { error: 'temporarily_unavailable', error_description: verified.description } };
    }
    if (!verified.ok && verified.forbidden) {
      // A valid token of no tenant (src/README.md D41): re-authenticating the same way would not
      // help, so 403 rather than the 401 that makes a client fetch a new token and loop.
      return {
        status: 403,
        headers: { 'www-authenticate': challenge(options.resourceMetadataUrl, { error: 'invalid_token', error_description: verified.description }) },
        body: { error: 'invalid_token', error_description: verified.description },
      };
    }
    if (!verified.ok) return refuse(verified.description);
    const { caller } = verified;
    return {
      caller,
      auth: { token, clientId: caller.clientId, scopes: [...caller.scopes], expiresAt: caller.expiresAt, resource, extra: { caller } },
    };
  };
}
