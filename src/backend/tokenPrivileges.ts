/**
 * Over-privilege check: does a backend token hold more scopes than its operation needs?
 * For JWTs the `scope` (RFC 9068 §2.2.3) or `scp` claim is decoded without verification — the
 * result only feeds a start-up warning, never an access decision. Opaque tokens are asked
 * about through RFC 7662 introspection when an endpoint is configured.
 */
// The one function, not jose's index (~70 ms and 7 MiB at start; src/README.md D45).
import { decodeJwt } from 'jose/jwt/decode';
import { OAuthTokenEndpoint, type OAuthClientConfig } from './oauthTokenEndpoint.ts';
import { kindOf, scopeKey, secretHash, type OperationScopes, type TokenProvider, type TokenRequest } from './tokenProvider.ts';

export interface PrivilegeReport {
  /** How the granted scopes were learned. `unknown`: an opaque token and no introspection endpoint. */
  method: 'jwt' | 'introspection' | 'unknown';
  /** The scopes the token holds, when known. */
  grantedScopes?: string[];
  /** Scopes held beyond those needed: each one is a warning. */
  extraScopes: string[];
  /** Needed scopes the token lacks: calls will fail with 403. */
  missingScopes: string[];
  /** Introspection only: `active: false` means the token is expired, revoked or unknown. */
  active?: boolean;
}

export interface IntrospectionConfig extends Omit<OAuthClientConfig, 'tokenUrl'> {
  /** The RFC 7662 introspection endpoint. */
  url: string;
}

function scopesFromClaims(claims: Record<string, unknown>): string[] | undefined {
  const { scope, scp } = claims;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scp) && scp.every((s) => typeof s === 'string')) return scp;
  if (typeof scp === 'string') return scp.split(' ').filter(Boolean);
  return undefined;
}

function report(method: PrivilegeReport['method'], granted: string[] | undefined, needed: readonly string[], active?: boolean): PrivilegeReport {
  const result: PrivilegeReport = { method, extraScopes: [], missingScopes: [] };
  if (active !== undefined) result.active = active;
  if (granted === undefined) return result;
  const have = new Set(granted);
  const want = new Set(needed);
  result.grantedScopes = [...have].sort();
  result.extraScopes = [...have].filter((s) => !want.has(s)).sort();
  result.missingScopes = [...want].filter((s) => !have.has(s)).sort();
  return result;
}

function jwtScopes(token: string): string[] | undefined | null {
  if (token.split('.').length !== 3) return null;
  try {
    return scopesFromClaims(decodeJwt(token));
  } catch {
    return null; // not a JWT after all
  }
}

/**
 * Compare what `token` holds with `neededScopes`. Introspection is used for opaque tokens, and
 * for JWTs that carry no scope claim.
 */
export async function checkTokenPrivileges(
  token: string,
  neededScopes: readonly string[],
  opts: { introspection?: IntrospectionConfig; operationId?: string } = {},
): Promise<PrivilegeReport> {
  const fromJwt = jwtScopes(token);
  if (fromJwt) return report('jwt', fromJwt, neededScopes);
  if (!opts.introspection) return report('unknown', undefined, neededScopes);

  const endpoint = new OAuthTokenEndpoint({ ...opts.introspection, tokenUrl: opts.introspection.url });
  try {
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const { status, json } = await endpoint.postForm(form, opts.operationId ?? 'introspection', 'introspection endpoint');
    if (status !== 200 || !json || typeof json !== 'object') return report('unknown', undefined, neededScopes);
    const body = json as Record<string, unknown>;
    if (body.active !== true) return report('introspection', undefined, neededScopes, false);
    return report('introspection', scopesFromClaims(body) ?? [], neededScopes, true);
  } finally {
    await endpoint.close();
  }
}

export interface OverPrivilegeFinding extends PrivilegeReport {
  operationId: string;
  scopes: readonly string[];
  /** The tenant whose credential it is (tenants on, src/README.md D41). */
  tenant?: string;
}

/**
 * For start-up: fetch each operation's token and report those holding extra (or missing)
 * scopes, or that introspection says are inactive. Operations whose token cannot be fetched
 * without a caller (token exchange) are skipped; fetch failures are reported by the coverage
 * check, not here. Each distinct token is checked once. Only bearer tokens are checked: an API
 * key or basic pair is not a JWT and must never be sent to an introspection endpoint.
 */
export async function findOverPrivilegedTokens(
  provider: TokenProvider,
  operations: readonly (OperationScopes & Pick<TokenRequest, 'scheme' | 'kind' | 'tenant'>)[],
  opts: { introspection?: IntrospectionConfig } = {},
): Promise<OverPrivilegeFinding[]> {
  const findings: OverPrivilegeFinding[] = [];
  const checked = new Map<string, PrivilegeReport>();
  for (const op of operations) {
    if (kindOf(op) !== 'bearer') continue;
    let token: string;
    try {
      const req: TokenRequest = { operationId: op.operationId, scopes: op.scopes };
      if (op.scheme !== undefined) req.scheme = op.scheme;
      if (op.tenant !== undefined) req.tenant = op.tenant;
      token = await provider.getToken(req);
    } catch {
      continue;
    }
    const key = `${secretHash(token)} ${scopeKey(op.scopes)}`;
    let result = checked.get(key);
    if (!result) {
      result = await checkTokenPrivileges(token, op.scopes, { ...opts, operationId: op.operationId });
      checked.set(key, result);
    }
    if (result.extraScopes.length > 0 || result.missingScopes.length > 0 || result.active === false) {
      findings.push({ ...result, operationId: op.operationId, scopes: op.scopes, ...(op.tenant !== undefined ? { tenant: op.tenant } : {}) });
    }
  }
  return findings;
}
