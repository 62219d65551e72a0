/**
 * Checking secrets without leaking them: client secrets and passwords are compared in constant
 * time, static API tokens are looked up by their SHA-256 (the plain values never leave the
 * fixture loader), and nothing here puts a secret into an error.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PublicClient } from './clients.ts';
import type { ClientFixture, StaticTokenFixture, UserFixture } from './fixtures.ts';
import { OAuthError } from './oauthErrors.ts';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time equality of two secrets of any length (hashing first equalises lengths). */
export function secretsEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/** Compared against when the client or user is unknown, so a miss costs the same as a wrong secret. */
const UNKNOWN_SECRET = 'unknown-principal-placeholder';

export function checkUserPassword(users: readonly UserFixture[], username: string, password: string): UserFixture | undefined {
  const user = users.find((u) => u.username === username);
  const matches = secretsEqual(password, user?.password ?? UNKNOWN_SECRET);
  return user && matches ? user : undefined;
}

export type StaticTokenEntry = Omit<StaticTokenFixture, 'token'>;

/** Static fine-grained API tokens, keyed by the SHA-256 of the token value. */
export class StaticTokenStore {
  readonly #byHash = new Map<string, StaticTokenEntry>();

  constructor(tokens: readonly StaticTokenFixture[]) {
    for (const { token, ...entry } of tokens) this.#byHash.set(sha256(token).toString('hex'), entry);
  }

  lookup(token: string): StaticTokenEntry | undefined {
    return this.#byHash.get(sha256(token).toString('hex'));
  }
}

/**
 * RFC 6749 §2.3.1: `client_secret_basic` (credentials form-urlencoded, then Basic) or
 * `client_secret_post` (`client_id` + `client_secret` in the body), never both (§2.3).
 */
export function authenticateClient(
  clients: readonly ClientFixture[],
  authorization: string | null,
  form: URLSearchParams,
): ClientFixture {
  const basic = authorization ? parseBasic(authorization) : undefined;
  const inBody = form.has('client_secret');
  if (basic && inBody) throw new OAuthError('invalid_request', 'use one client authentication method, not both');
  const credentials = basic ?? (inBody ? { id: form.get('client_id') ?? '', secret: form.get('client_secret') ?? '' } : undefined);
  if (!credentials) {
    throw new OAuthError('invalid_client', 'client authentication required (client_secret_basic or client_secret_post)');
  }
  if (basic && form.has('client_id') && form.get('client_id') !== basic.id) {
    throw new OAuthError('invalid_request', 'client_id does not match the authenticated client');
  }
  const client = clients.find((c) => c.id === credentials.id);
  const matches = secretsEqual(credentials.secret, client?.secret ?? UNKNOWN_SECRET);
  if (!client || !matches) throw new OAuthError('invalid_client', 'client authentication failed');
  return client;
}

/** The client id a token request names: from Basic credentials, else the form's `client_id`. */
export function requestedClientId(authorization: string | null, form: URLSearchParams): string | null {
  if (authorization !== null && /^Basic /i.test(authorization)) return parseBasic(authorization).id;
  return form.get('client_id');
}

/** A registered client authenticates exactly as it registered: with no secret, or its secret by its method. */
export function authenticateRegistered(client: PublicClient, authorization: string | null, form: URLSearchParams): void {
  const basic = authorization ? parseBasic(authorization) : undefined;
  const inBody = form.has('client_secret');
  const used = basic ? 'client_secret_basic' : inBody ? 'client_secret_post' : 'none';
  if (used !== client.authMethod) {
    throw new OAuthError('invalid_client', `this client registered token_endpoint_auth_method '${client.authMethod}', and the request used '${used}'`);
  }
  if (client.secret === null) return;
  const presented = basic ? basic.secret : (form.get('client_secret') ?? '');
  if (!secretsEqual(presented, client.secret)) throw new OAuthError('invalid_client', 'client authentication failed');
}

function parseBasic(header: string): { id: string; secret: string } {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!match?.[1]) throw new OAuthError('invalid_client', 'malformed Authorization header; expected Basic credentials');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials');
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'malformed Basic credentials');
  }
}

const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
