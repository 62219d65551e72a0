/**
 * Caller authentication: Deputy is an OAuth 2.1 resource server (MCP authorization spec,
 * 2025-11-25). A caller's bearer JWT is verified against the authorization server's JWKS
 * with a pinned issuer, audience (this server's resource URL, RFC 8707) and algorithm list.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Caller } from '../tools/caller.ts';

export interface CallerVerifierOptions {
  issuer: string;
  /** This server's resource identifier: the canonical URL of the MCP endpoint. */
  audience: string;
  jwksUrl: string;
  algorithms: readonly string[];
  /** Tolerated clock skew, seconds. */
  clockToleranceSeconds?: number;
  /** For tests: a key set instead of fetching `jwksUrl`. */
  keySet?: JWTVerifyGetKey;
}

export type CallerVerification =
  | { ok: true; caller: Caller }
  | { ok: false; description: string };

export type CallerVerifier = (token: string) => Promise<CallerVerification>;

export function createCallerVerifier(options: CallerVerifierOptions): CallerVerifier {
  // jose caches the key set and refetches (rate-limited) when it meets an unknown `kid`.
  const keySet = options.keySet ?? createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5_000 });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keySet, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...options.algorithms],
        clockTolerance: options.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp'],
      });
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      const clientId =
        typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : 'unknown';
      return {
        ok: true,
        caller: {
          subject: payload.sub!,
          clientId,
          scopes: scope.split(' ').filter(Boolean),
          expiresAt: payload.exp!,
        },
      };
    } catch (error) {
      return { ok: false, description: describeVerificationFailure(error) };
    }
  };
}

/** A short reason for `WWW-Authenticate: error_description`. Never includes the token. */
function describeVerificationFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'The access token was not issued for this resource';
    if (error.claim === 'iss') return 'The access token was issued by an untrusted issuer';
    return `The access token's "${error.claim}" claim is invalid`;
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return 'The access token signature is invalid';
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The access token algorithm is not allowed';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return 'The authorization server keys could not be loaded';
  }
  return 'The access token is malformed';
}
