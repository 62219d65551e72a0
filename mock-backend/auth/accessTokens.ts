/**
 * JWT access tokens (RFC 9068): one ES256 key pair per process, published as a JWKS, and the
 * minting and verification every grant and the API share. All JOSE work is jose's.
 */
import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';

export const SIGNING_ALG = 'ES256';
/** RFC 9068 §2.1: access tokens are typed so they cannot be confused with ID tokens. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** RFC 8693 §4.1 `act`: who acts for the subject; a nested `act` records an earlier actor. */
export interface ActorClaim {
  sub: string;
  act?: ActorClaim;
}

const actorSchema: z.ZodType<ActorClaim> = z.lazy(() =>
  z.object({ sub: z.string().min(1), act: actorSchema.optional() }),
);

const claimsSchema = z.object({
  iss: z.string(),
  sub: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  iat: z.number(),
  jti: z.string().min(1),
  client_id: z.string().min(1),
  scope: z.string(),
  act: actorSchema.optional(),
  /** The caller's tenant, for trying Deputy's tenants (src/README.md D41). */
  tenant: z.string().optional(),
});
export type AccessTokenClaims = z.infer<typeof claimsSchema>;

export interface MintAccessTokenInput {
  subject: string;
  clientId: string;
  audience: string;
  scopes: readonly string[];
  actor?: ActorClaim;
  /** Put in the `tenant` claim: the tenant Deputy reads with DEPUTY_TENANT_CLAIM=tenant. */
  tenant?: string;
  /** Overrides the server's TTL, e.g. to mint a short-lived token in a test. */
  ttlSeconds?: number;
}

export interface MintedAccessToken {
  accessToken: string;
  expiresIn: number;
  /** Space-separated, as in the token's `scope` claim. */
  scope: string;
}

export type AccessTokenCheck = { ok: true; claims: AccessTokenClaims } | { ok: false; description: string };

export interface AccessTokenIssuer {
  readonly jwks: JSONWebKeySet;
  mint(input: MintAccessTokenInput): Promise<MintedAccessToken>;
  /** Checks signature, `typ`, issuer, expiry and, if given, audience. Descriptions are safe to send. */
  verify(token: string, audience?: string): Promise<AccessTokenCheck>;
}

export async function createAccessTokenIssuer(opts: {
  issuer: string;
  now: () => number;
  ttlSeconds: number;
}): Promise<AccessTokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG);
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks: JSONWebKeySet = { keys: [{ ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }] };
  const keySet: JWTVerifyGetKey = createLocalJWKSet(jwks);
  const nowSeconds = () => Math.floor(opts.now() / 1000);

  return {
    jwks,
    async mint(input) {
      const iat = nowSeconds();
      const expiresIn = input.ttlSeconds ?? opts.ttlSeconds;
      const scope = input.scopes.join(' ');
      const accessToken = await new SignJWT({
        client_id: input.clientId,
        scope,
        ...(input.actor ? { act: input.actor } : {}),
        ...(input.tenant !== undefined ? { tenant: input.tenant } : {}),
      })
        .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid })
        .setIssuer(opts.issuer)
        .setSubject(input.subject)
        .setAudience(input.audience)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + expiresIn)
        .setJti(randomUUID())
        .sign(privateKey);
      return { accessToken, expiresIn, scope };
    },
    async verify(token, audience) {
      try {
        const { payload } = await jwtVerify(token, keySet, {
          issuer: opts.issuer,
          ...(audience === undefined ? {} : { audience }),
          algorithms: [SIGNING_ALG],
          typ: ACCESS_TOKEN_TYP,
          currentDate: new Date(opts.now()),
          requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id', 'scope'],
        });
        const claims = claimsSchema.safeParse(payload);
        return claims.success ? { ok: true, claims: claims.data } : { ok: false, description: 'token claims are malformed' };
      } catch (err) {
        return { ok: false, description: describeVerifyError(err) };
      }
    },
  };
}

/** A safe, specific reason for a failed verification; jose's own messages are never passed on. */
function describeVerifyError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'token audience is not this API';
    if (err.claim === 'iss') return 'token issuer is not this authorization server';
    if (err.claim === 'nbf') return 'token is not valid yet';
    if (err.claim === 'typ') return `token is not an access token (typ must be ${ACCESS_TOKEN_TYP})`;
    if (err.reason === 'missing') return `token has no '${err.claim}' claim`;
    return `token claim '${err.claim}' is invalid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'token was not signed by this authorization server';
  if (err instanceof errors.JOSEAlgNotAllowed) return `token algorithm is not allowed (expected ${SIGNING_ALG})`;
  if (err instanceof errors.JOSEError) return 'token is malformed';
  throw err;
}
