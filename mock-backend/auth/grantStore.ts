/**
 * In-memory state of the authorization code flow: single-use authorization codes (60 s) and
 * rotating refresh tokens, both looked up by the SHA-256 of their value, plus PKCE (RFC 7636,
 * S256 only). Nothing here logs or returns a code, token or verifier in an error.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { secretsEqual } from './credentials.ts';

export const AUTHORIZATION_CODE_TTL_SECONDS = 60;
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 8 * 60 * 60;

/** RFC 7636 §4.1 / §4.2: 43–128 unreserved characters. */
const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
export const isPkceValue = (value: string): boolean => PKCE_VALUE.test(value);

/** RFC 7636 §4.6, S256: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function verifyPkce(codeVerifier: string, codeChallenge: string): boolean {
  if (!isPkceValue(codeVerifier)) return false;
  const computed = createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
  return secretsEqual(computed, codeChallenge);
}

const hash = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');
const newSecret = (): string => randomBytes(32).toString('base64url');

/** What a code or refresh token was granted for. */
export interface Grant {
  clientId: string;
  /** The user. */
  subject: string;
  scopes: string[];
  /** The RFC 8707 resource, i.e. the access token's `aud`. */
  resource: string;
}

export interface AuthorizationCode extends Grant {
  redirectUri: string;
  /** RFC 6749 §4.1.3: the token request must repeat `redirect_uri` if the authorization request had it. */
  redirectUriWasGiven: boolean;
  codeChallenge: string;
  expiresAt: number;
  /** The refresh token family minted from this code, revoked if the code is replayed. */
  family: string;
}

interface StoredCode extends AuthorizationCode {
  used: boolean;
}

interface StoredRefreshToken extends Grant {
  family: string;
  expiresAt: number;
  used: boolean;
}

export type Redeemed<T> = { ok: true; value: T } | { ok: false; description: string };

/** Sweep expired entries once a map holds this many. */
const SWEEP_AT = 500;

export class GrantStore {
  readonly #codes = new Map<string, StoredCode>();
  readonly #refreshTokens = new Map<string, StoredRefreshToken>();
  readonly #revokedFamilies = new Set<string>();

  constructor(
    private readonly now: () => number,
    private readonly refreshTokenTtlSeconds: number = DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
  ) {}

  issueCode(input: Omit<AuthorizationCode, 'expiresAt' | 'family'>): string {
    this.#sweep();
    const code = newSecret();
    this.#codes.set(hash(code), {
      ...input,
      expiresAt: this.now() + AUTHORIZATION_CODE_TTL_SECONDS * 1000,
      family: randomUUID(),
      used: false,
    });
    return code;
  }

  /**
   * Consumes a code: whatever happens next (wrong verifier, wrong redirect URI), it cannot be
   * redeemed again. A second redemption also revokes the refresh tokens minted from it
   * (RFC 6749 §4.1.2).
   */
  redeemCode(code: string): Redeemed<AuthorizationCode> {
    const stored = this.#codes.get(hash(code));
    if (!stored) return { ok: false, description: 'authorization code is invalid' };
    if (stored.used) {
      this.#revokedFamilies.add(stored.family);
      return { ok: false, description: 'authorization code was already used' };
    }
    stored.used = true;
    if (stored.expiresAt <= this.now()) return { ok: false, description: 'authorization code expired' };
    const { used: _used, ...value } = stored;
    return { ok: true, value };
  }

  issueRefreshToken(grant: Grant, family: string): string {
    this.#sweep();
    const token = newSecret();
    this.#refreshTokens.set(hash(token), {
      ...grant,
      scopes: [...grant.scopes],
      family,
      expiresAt: this.now() + this.refreshTokenTtlSeconds * 1000,
      used: false,
    });
    return token;
  }

  /**
   * Rotation (OAuth 2.1 §4.3.1): each refresh token works once. `check` runs before the token
   * is spent. Presenting a used one revokes
   * its whole family, since either the client or an attacker holds a stolen copy.
   */
  redeemRefreshToken(token: string, clientId: string, check: (grant: Grant) => void = () => {}): Redeemed<Grant & { family: string }> {
    const stored = this.#refreshTokens.get(hash(token));
    if (!stored) return { ok: false, description: 'refresh token is invalid' };
    if (stored.clientId !== clientId) return { ok: false, description: 'refresh token was issued to another client' };
    if (this.#revokedFamilies.has(stored.family)) return { ok: false, description: 'refresh token was revoked' };
    if (stored.used) {
      this.#revokedFamilies.add(stored.family);
      return { ok: false, description: 'refresh token was already used; every token from this login is now revoked' };
    }
    if (stored.expiresAt <= this.now()) return { ok: false, description: 'refresh token expired' };
    // A request the token cannot serve (wider scope, other resource) throws here and leaves it usable.
    check(stored);
    stored.used = true;
    const { used: _used, expiresAt: _expiresAt, ...value } = stored;
    return { ok: true, value };
  }

  #sweep(): void {
    const now = this.now();
    if (this.#codes.size >= SWEEP_AT) {
      // Used codes are kept until they expire so a replay is recognised as one.
      for (const [k, v] of this.#codes) if (v.expiresAt <= now) this.#codes.delete(k);
    }
    if (this.#refreshTokens.size >= SWEEP_AT) {
      for (const [k, v] of this.#refreshTokens) if (v.expiresAt <= now) this.#refreshTokens.delete(k);
    }
  }
}
