/**
 * Where per-operation backend credentials come from (src/README.md D3; openapi/README.md,
 * "Credentials"). A provider hands out the credential of one security scheme of an operation's
 * chosen requirement — a token holding exactly its scopes, a basic pair, or an API key; the
 * client asks for each one per call and drops them with `invalidate` when the backend answers 401.
 *
 * Providers hold secrets. Each one redacts itself for `JSON.stringify` and `util.inspect`, and
 * `describe()` names only non-secret facts (the kind, the file, the token URL, the client id).
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { backendError, type BackendError } from './backendError.ts';
import type { CredentialKind } from './operation.ts';

export interface CallerIdentity {
  /** The caller's own (already verified) access token. Used only as an RFC 8693 subject_token, never sent to the backend. */
  token: string;
  subject: string;
}

export interface TokenRequest {
  /** Exactly the scopes the operation's chosen requirement lists for this scheme. */
  scopes: readonly string[];
  operationId: string;
  /** The security scheme (or manifest credential) asked for. Absent: the operation's bearer token. */
  scheme?: string;
  /** Where the value goes. Absent means 'bearer'. */
  kind?: CredentialKind;
  caller?: CallerIdentity;
  /**
   * The calling user's tenant when tenants are on (src/README.md D41): a provider hands out only
   * that tenant's credential, and none when it is absent. Absent with tenants off.
   */
  tenant?: string;
}

export interface TokenProvider {
  /**
   * The credential value exactly as placed: a bearer token or API key as is, a basic pair as
   * base64 `user:password` (RFC 7617 §2).
   */
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

/** One credential an operation needs: a scheme of its chosen requirement, and its scopes. */
export interface CredentialNeed extends OperationScopes {
  scheme: string;
  kind: CredentialKind;
}

/** A tenant name (src/README.md D41): short, printable, safe in keys, logs and URLs. */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The kind a request asks for ('bearer' when unnamed). */
export function kindOf(req: { kind?: CredentialKind }): CredentialKind {
  return req.kind ?? 'bearer';
}

/** How a kind reads in messages: `bearer token`, `basic pair`, `header API key`, … */
export function describeKind(kind: CredentialKind): string {
  return kind === 'bearer' ? 'bearer token' : kind === 'basic' ? 'basic username/password pair' : `${kind} API key`;
}

/**
 * OAuth providers mint bearer tokens only; an API key or basic pair must come from the static
 * token file read alongside (DEPUTY_TOKEN_FILE). Null when `req` asks for a bearer token.
 */
export function notBearer(req: TokenRequest, provider: string): BackendError | null {
  const kind = kindOf(req);
  if (kind === 'bearer') return null;
  return backendError('BACKEND_TOKEN_UNAVAILABLE', req.operationId, {
    reason: `${provider} mints bearer tokens, but scheme '${req.scheme ?? '?'}' needs a ${describeKind(kind)}; add it to the token file (DEPUTY_TOKEN_FILE)`,
  });
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
