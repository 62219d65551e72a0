/**
 * Where per-operation backend tokens come from (src/README.md D3). A provider hands out a
 * token holding exactly the scopes of one operation's `security` requirement; the client asks
 * for one per call and drops it with `invalidate` when the backend answers 401.
 *
 * Providers hold secrets. Each one redacts itself for `JSON.stringify` and `util.inspect`, and
 * `describe()` names only non-secret facts (the kind, the file, the token URL, the client id).
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

export interface CallerIdentity {
  /** The caller's own (already verified) access token. Used only as an RFC 8693 subject_token, never sent to the backend. */
  token: string;
  subject: string;
}

export interface TokenRequest {
  /** Exactly the scopes of the operation's security requirement. */
  scopes: readonly string[];
  operationId: string;
  caller?: CallerIdentity;
}

export interface TokenProvider {
  getToken(req: TokenRequest): Promise<string>;
  /**
   * Forget the token cached for `req` (the backend refused it). When `rejected` is given, a
   * cached token that differs from it is kept: another call already refreshed it.
   */
  invalidate(req: TokenRequest, rejected?: string): void;
  /** A one-line, secret-free description for start-up logs. */
  describe(): string;
  /** Release connections (OAuth providers keep a small connection pool to the token endpoint). */
  close?(): Promise<void>;
}

/** An operation as far as credentials go: its id and the scopes it needs. */
export interface OperationScopes {
  operationId: string;
  scopes: readonly string[];
}

/** The cache key of a scope set: order and duplicates do not matter. */
export function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

export function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return scopeKey(a) === scopeKey(b);
}

/** sha256 of a secret, for cache keys that must not keep the secret itself. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/**
 * Base for every class that holds a secret: `JSON.stringify` and `util.inspect` show only
 * `describe()`, never fields. Private `#fields` are invisible to both anyway; this also covers
 * anything a subclass stores in a public field by mistake.
 */
export abstract class RedactedSecretHolder {
  abstract describe(): string;

  toJSON(): { provider: string } {
    return { provider: this.describe() };
  }

  [inspect.custom](): string {
    return `${this.constructor.name} <${this.describe()}>`;
  }

  toString(): string {
    return `${this.constructor.name} <${this.describe()}>`;
  }
}
