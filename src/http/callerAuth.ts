/**
 * Caller authentication: Deputy is an OAuth 2.1 resource server (MCP authorization spec,
 * 2025-11-25). A caller's bearer JWT is verified against the authorization server's JWKS
 * with a pinned issuer, audience (this server's resource URL, RFC 8707) and algorithm list.
 */
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { JWKSCacheInput } from 'jose/jwks/remote';
import { probe } from '../backend/index.ts';
import { TENANT_NAME, type Caller } from '../tools/caller.ts';

export interface CallerVerifierOptions {
  issuer: string;
  /** This server's resource identifier: the canonical URL of the MCP endpoint. */
  audience: string;
  jwksUrl: string;
  algorithms: readonly string[];
  /** Tolerated clock skew, seconds. */
  clockToleranceSeconds?: number;
  /**
   * The claim naming the caller's tenant (DEPUTY_TENANT_CLAIM); unset, tenants are off and every
   * caller's tenant is null. Set, a token without it as a tenant name is refused (src/README.md D41).
   */
  tenantClaim?: string | null;
  /**
   * The key set the start-up check already read (`probeKeySet`), shared by every verifier of
   * `jwksUrl`: the first token is then verified without fetching the keys again.
   */
  keyCache?: KeySetCache;
  /** For tests: a key set instead of fetching `jwksUrl`. */
  keySet?: JWTVerifyGetKey;
}

/** A JWKS read from the authorization server and when (ms since the epoch): jose's `jwksCache` shape. */
export interface KeySetCache {
  jwks?: JSONWebKeySet;
  uat?: number;
}

export type CallerVerification =
  | { ok: true; caller: Caller }
  /**
   * `unavailable`: the keys could not be loaded; the token may be fine, so it is not called invalid.
   * `forbidden`: a genuine token that names no tenant: no new token of the same kind helps (403, not 401).
   */
  | { ok: false; description: string; unavailable?: true; forbidden?: true };

export type CallerVerifier = (token: string) => Promise<CallerVerification>;

/** How long a verified token is remembered at most, and how many are. */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 1_000;

/** The parts of jose a verification uses, each from its own module: jose's index loads every JWE, JWK and JWS module besides. */
interface Jose {
  jwtVerify: typeof import('jose/jwt/verify').jwtVerify;
  remote: typeof import('jose/jwks/remote');
  errors: typeof import('jose/errors');
}
const loadJose = async (): Promise<Jose> => {
  const [{ jwtVerify }, remote, errors] = await Promise.all([import('jose/jwt/verify'), import('jose/jwks/remote'), import('jose/errors')]);
  return { jwtVerify, remote, errors };
};

/** A JWKS larger than this is not kept from the start-up check (jose then fetches it itself). */
const MAX_KEY_SET_BYTES = 1024 * 1024;

/**
 * The start-up and readiness check of the authorization server: GET its JWKS (`probe`: no
 * redirect followed), reachable unless it answers a gateway or overload status. While `cache` is
 * empty, a 200 answer holding a key set (JSON with a `keys` array) seeds it: a replica's first caller then waits for no key fetch,
 * which against a remote authorization server is a round trip on the first call
 * (src/README.md D51). jose still checks the seeded set, and refetches for an unknown `kid`.
 */
export async function probeKeySet(url: string, cache: KeySetCache): Promise<boolean> {
  const { up, response } = await probe(url, { accept: 'application/json, application/jwk-set+json' });
  if (response.statusCode !== 200 || cache.jwks !== undefined) {
    response.resume();
    return up;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_KEY_SET_BYTES) response.destroy();
    else chunks.push(chunk);
  });
  response.on('error', () => {});
  await new Promise((resolve) => response.once('close', resolve));
  if (response.complete && size <= MAX_KEY_SET_BYTES && cache.jwks === undefined) {
    const jwks = parseKeySet(Buffer.concat(chunks).toString('utf8'));
    if (jwks) Object.assign(cache, { jwks, uat: Date.now() });
  }
  return up;
}

function parseKeySet(text: string): JSONWebKeySet | undefined {
  try {
    const json = JSON.parse(text) as { keys?: unknown };
    return json !== null && typeof json === 'object' && Array.isArray(json.keys) ? (json as JSONWebKeySet) : undefined;
  } catch {
    return undefined;
  }
}

export function createCallerVerifier(options: CallerVerifierOptions): CallerVerifier {
  // jose (~40 ms of CPU, ~6 MiB: only the modules a verification needs) is loaded by the first
  // token to verify, not at start (src/README.md D45). jose caches the key set and refetches (rate-limited)
  // when it meets an unknown `kid`.
  let loading: Promise<{ jose: Jose; keySet: JWTVerifyGetKey }> | null = null;
  const load = () =>
    (loading ??= loadJose().then((jose) => ({
      jose,
      keySet:
        options.keySet ??
        jose.remote.createRemoteJWKSet(new URL(options.jwksUrl), {
          timeoutDuration: 5_000,
          ...(options.keyCache ? { [jose.remote.jwksCache]: options.keyCache as JWKSCacheInput } : {}),
        }),
    })));
  // Every request of a session carries the same token, and checking its signature is most of
  // the cost of authentication (ES256: ~0.1–0.2 ms of CPU; bench/README.md). A token that
  // verified is remembered, by its exact text, until the sooner of its `exp` and 60 s; failures
  // are never remembered. A key removed from the JWKS therefore stops working within 60 s.
  const verified = new Map<string, { caller: Caller; until: number }>();
  return async (token) => {
    const now = Date.now();
    const hit = verified.get(token);
    if (hit) {
      if (hit.until > now) return { ok: true, caller: { ...hit.caller, scopes: [...hit.caller.scopes] } };
      verified.delete(token);
    }
    const { jose, keySet } = await load();
    try {
      const { payload } = await jose.jwtVerify(token, keySet, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...options.algorithms],
        clockTolerance: options.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp'],
      });
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      const clientId =
        typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : 'unknown';
      const tenant = tenantOf(payload, options.tenantClaim ?? null);
      if (tenant === undefined) return { ok: false, forbidden: true, description: noTenant(options.tenantClaim!) };
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
      const caller: Caller = {
        subject: payload.sub!,
        clientId,
        scopes: scope.split(' ').filter(Boolean),
        ...(roles.length > 0 ? { roles } : {}),
        tenant,
        expiresAt: payload.exp!,
      };
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, { caller, until: Math.min(payload.exp! * 1000, now + VERIFIED_TTL_MS) });
      return { ok: true, caller: { ...caller, scopes: [...caller.scopes] } };
    } catch (error) {
      // jose reports every problem with the token itself as a JOSEError; anything else (a refused
      // or failed JWKS fetch) and a JWKS timeout or bad key set are the authorization server's.
      const errors = jose.errors;
      if (!(error instanceof errors.JOSEError) || error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
        return { ok: false, unavailable: true, description: 'The authorization server keys could not be loaded' };
      }
      return { ok: false, description: describeVerificationFailure(errors, error) };
    }
  };
}

/** The tenant a token names: null when tenants are off, undefined when it names none (or not as a tenant name). */
function tenantOf(payload: Record<string, unknown>, claim: string | null): string | null | undefined {
  if (claim === null) return null;
  const value = payload[claim];
  return typeof value === 'string' && TENANT_NAME.test(value) ? value : undefined;
}

const noTenant = (claim: string) =>
  `The access token names no tenant: its "${claim}" claim must be a tenant name (letters, digits, _.- up to 64). Ask the authorization server for a token of your tenant`;

/** A short reason for `WWW-Authenticate: error_description`. Never includes the token. */
function describeVerificationFailure(joseErrors: Jose['errors'], error: unknown): string {
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
  return 'The access token is malformed';
}
