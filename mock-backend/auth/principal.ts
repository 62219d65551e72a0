/**
 * What the mock backend knows about the caller of one request, once its bearer token checks out.
 * Shared by the authorization server (which issues and verifies tokens) and the API handlers
 * (which enforce scopes and rate limits per token).
 */
export interface Principal {
  /** `sub` of a JWT, or the subject a static API token was issued to. */
  subject: string;
  /** The OAuth client the token was issued to (`client_id`), or the static token's id. */
  clientId: string;
  /** Exactly the scopes the token carries. */
  scopes: string[];
  /** `jwt` for tokens from the dev authorization server, `static` for fixture API tokens. */
  kind: 'jwt' | 'static';
  /** RFC 8693 `act` claim: who is acting on behalf of `subject` (token exchange). */
  actor?: { sub: string };
  /** The tenant the token belongs to: a static key's `tenant`, or a JWT's `tenant` claim. */
  tenant?: string;
  /** A stable, non-secret key for per-token bookkeeping (rate limits): the JWT `jti` or the static token id. */
  tokenId: string;
}

export type VerifyResult =
  | { ok: true; principal: Principal }
  /** `error` and `description` go into `WWW-Authenticate` (RFC 6750 §3); never echo the token. */
  | { ok: false; error: 'invalid_token'; description: string };
