/**
 * Dynamic Client Registration (RFC 7591) for public clients: MCP clients (Inspector, Claude
 * Code, SDK clients) register themselves at `POST /oauth/register` and then use the
 * authorization code grant with PKCE. Registrations live in memory only: a restarted mock
 * forgets them, and clients re-register (they do when the token endpoint answers
 * `invalid_client`).
 *
 * A client registers with any method the metadata advertises: `none` (public, the default
 * here), `client_secret_basic` or `client_secret_post` (the response then carries a generated
 * `client_secret`), and the token endpoint holds it to that method. Registered clients use the
 * authorization code and refresh token grants only; the fixtures in `clients.yaml` hold the
 * other grants.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { OAuthError } from './oauthErrors.ts';
import { DEFAULT_DOCUMENT_OPTIONS, fetchClientMetadataDocument, isUrlClientId, type ClientMetadataDocumentOptions } from './clientMetadataDocument.ts';
import { checkRedirectUri } from './urls.ts';

export const GRANT_AUTHORIZATION_CODE = 'authorization_code';
export const GRANT_REFRESH_TOKEN = 'refresh_token';
/** Grants only registered public clients use. */
export const PUBLIC_CLIENT_GRANTS = [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN] as const;
export type PublicClientGrant = (typeof PUBLIC_CLIENT_GRANTS)[number];

/** How a registered client authenticates at the token endpoint (RFC 7591 §2). */
export const REGISTRATION_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
export type RegistrationAuthMethod = (typeof REGISTRATION_AUTH_METHODS)[number];

/** A registered client (dynamic, or a URL client id): what the authorization and token endpoints need. */
export interface PublicClient {
  clientId: string;
  authMethod: RegistrationAuthMethod;
  /** The issued secret, for the two secret methods; null for `none`. */
  secret: string | null;
  /** `client_name`, or the client id when none was given. Shown on the login page. */
  name: string;
  redirectUris: string[];
  grants: PublicClientGrant[];
  /** The most this client may ask for: its registered `scope`, else every supported scope. */
  scopes: string[];
  /** The RFC 7591 §3.2.1 response, returned as registered. */
  registration: ClientRegistrationResponse;
}

export interface ClientRegistrationResponse {
  client_id: string;
  client_id_issued_at: number;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: RegistrationAuthMethod;
  /** RFC 7591 §3.2.1: issued to clients registered with a secret method; 0 = never expires. */
  client_secret?: string;
  client_secret_expires_at?: number;
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  scope?: string;
  contacts?: string[];
  tos_uri?: string;
  policy_uri?: string;
  software_id?: string;
  software_version?: string;
}

const text = (max: number) => z.string().max(max);
/** Known RFC 7591 §2 fields are checked; unknown ones are ignored and not echoed back. */
const metadataSchema = z.looseObject({
  /** Client ID Metadata Documents only: the document's own URL. */
  client_id: z.string().optional(),
  client_secret: z.unknown().optional(),
  redirect_uris: z.array(z.string()).min(1, 'redirect_uris must list at least one URI').max(10, 'at most 10 redirect_uris'),
  token_endpoint_auth_method: z.string().optional(),
  grant_types: z.array(z.string()).optional(),
  response_types: z.array(z.string()).optional(),
  client_name: text(200).optional(),
  client_uri: z.url().max(2000).optional(),
  logo_uri: z.url().max(2000).optional(),
  scope: text(2000).optional(),
  contacts: z.array(text(200)).max(10).optional(),
  tos_uri: z.url().max(2000).optional(),
  policy_uri: z.url().max(2000).optional(),
  software_id: text(200).optional(),
  software_version: text(100).optional(),
});

/** At most this many registrations are kept; the oldest is forgotten first. */
const MAX_CLIENTS = 1000;
const MAX_BODY_BYTES = 64 * 1024;

export class ClientRegistry {
  readonly #clients = new Map<string, PublicClient>();
  readonly #documents = new Map<string, { client: PublicClient; until: number }>();

  constructor(
    private readonly scopesSupported: readonly string[],
    private readonly now: () => number,
    private readonly documents: ClientMetadataDocumentOptions = DEFAULT_DOCUMENT_OPTIONS,
  ) {}

  get(clientId: string | null | undefined): PublicClient | undefined {
    return clientId ? this.#clients.get(clientId) : undefined;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Validates RFC 7591 client metadata and registers a client. Throws OAuthError. */
  register(input: unknown): ClientRegistrationResponse {
    const client = this.#fromMetadata(input, `dcr_${randomBytes(16).toString('base64url')}`, 'register');
    if (this.#clients.size >= MAX_CLIENTS) {
      const oldest = this.#clients.keys().next().value;
      if (oldest !== undefined) this.#clients.delete(oldest);
    }
    this.#clients.set(client.clientId, client);
    return client.registration;
  }

  /**
   * A registered client, or a URL client id resolved from its Client ID Metadata Document.
   * Throws OAuthError (`invalid_client`) when the document cannot be fetched or is not valid.
   */
  async resolve(clientId: string | null | undefined): Promise<PublicClient | undefined> {
    if (!clientId) return undefined;
    if (!isUrlClientId(clientId, this.documents.allowLoopbackHttp)) return this.get(clientId);
    const cached = this.#documents.get(clientId);
    if (cached && this.now() < cached.until) return cached.client;
    const document = await fetchClientMetadataDocument(clientId, this.documents);
    let client: PublicClient;
    try {
      client = this.#fromMetadata(document, clientId, 'document');
    } catch (err) {
      // To the token endpoint this is a client it cannot authenticate, whatever the document's flaw.
      if (err instanceof OAuthError && err.error !== 'invalid_client') throw new OAuthError('invalid_client', `the client metadata document is not valid: ${err.description}`);
      throw err;
    }
    if (this.#documents.size >= MAX_CLIENTS) this.#documents.delete(this.#documents.keys().next().value!);
    this.#documents.set(clientId, { client, until: this.now() + this.documents.cacheSeconds * 1000 });
    return client;
  }

  #fromMetadata(input: unknown, clientId: string, source: 'register' | 'document'): PublicClient {
    const parsed = metadataSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      throw new OAuthError('invalid_client_metadata', `${where}${issue?.message ?? 'invalid client metadata'}`.slice(0, 300));
    }
    const m = parsed.data;
    if (source === 'document') {
      // The document is the client's own statement of who it is: it must name this very URL,
      // and a client that publishes its metadata has no secret to share with this server.
      if (m.client_id !== clientId) throw new OAuthError('invalid_client', 'the client metadata document must contain a client_id equal to its URL');
      if (m.client_secret !== undefined || (m.token_endpoint_auth_method ?? 'none') !== 'none') {
        throw new OAuthError('invalid_client', "a client metadata document client must use token_endpoint_auth_method 'none' and carry no client_secret");
      }
    }

    for (const uri of m.redirect_uris) {
      const check = checkRedirectUri(uri);
      if (!check.ok) throw new OAuthError('invalid_redirect_uri', check.description);
    }
    // RFC 7591 §2 makes client_secret_basic the default, but MCP clients that send no method
    // expect a public client (they have nowhere to keep a secret); §3.2.1 allows replacing it.
    const authMethod = m.token_endpoint_auth_method ?? 'none';
    if (!(REGISTRATION_AUTH_METHODS as readonly string[]).includes(authMethod)) {
      throw new OAuthError('invalid_client_metadata', `token_endpoint_auth_method must be one of ${REGISTRATION_AUTH_METHODS.join(', ')}`);
    }
    const method = authMethod as RegistrationAuthMethod;
    const secret = method === 'none' ? null : randomBytes(32).toString('base64url');
    const grants = [...new Set(m.grant_types ?? [GRANT_AUTHORIZATION_CODE])];
    for (const g of grants) {
      if (!(PUBLIC_CLIENT_GRANTS as readonly string[]).includes(g)) {
        throw new OAuthError('invalid_client_metadata', `grant_types: '${g.slice(0, 64)}' is not available to public clients (authorization_code, refresh_token)`);
      }
    }
    if (!grants.includes(GRANT_AUTHORIZATION_CODE)) {
      throw new OAuthError('invalid_client_metadata', 'grant_types must include authorization_code');
    }
    const responseTypes = [...new Set(m.response_types ?? ['code'])];
    if (responseTypes.length !== 1 || responseTypes[0] !== 'code') {
      throw new OAuthError('invalid_client_metadata', "response_types must be ['code']");
    }
    let scopes = [...this.scopesSupported];
    if (m.scope !== undefined) {
      scopes = [...new Set(m.scope.split(' ').filter(Boolean))];
      const unknown = scopes.filter((s) => !this.scopesSupported.includes(s));
      if (unknown.length > 0) throw new OAuthError('invalid_client_metadata', `scope: unknown scope '${unknown[0]!.slice(0, 64)}'`);
      if (scopes.length === 0) throw new OAuthError('invalid_client_metadata', 'scope is empty');
    }

    const registration: ClientRegistrationResponse = {
      client_id: clientId,
      client_id_issued_at: Math.floor(this.now() / 1000),
      redirect_uris: [...m.redirect_uris],
      grant_types: grants,
      response_types: responseTypes,
      token_endpoint_auth_method: method,
      ...(secret === null ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
      ...pick(m, ['client_name', 'client_uri', 'logo_uri', 'contacts', 'tos_uri', 'policy_uri', 'software_id', 'software_version']),
      ...(m.scope !== undefined ? { scope: scopes.join(' ') } : {}),
    };
    return {
      clientId,
      authMethod: method,
      secret,
      name: m.client_name?.trim() || clientId,
      redirectUris: registration.redirect_uris,
      grants: grants as PublicClientGrant[],
      scopes,
      registration,
    };
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/** POST /oauth/register: JSON in, 201 with the registration out (RFC 7591 §3). */
export async function handleRegistration(registry: ClientRegistry, request: Request): Promise<Response> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new OAuthError('invalid_client_metadata', 'the registration request must be application/json (RFC 7591 §3.1)');
  }
  const body = await request.text();
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw new OAuthError('invalid_client_metadata', 'the registration request is too large');
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    throw new OAuthError('invalid_client_metadata', 'the registration request is not valid JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new OAuthError('invalid_client_metadata', 'the registration request must be a JSON object');
  }
  const registration = registry.register(input);
  return Response.json(registration, { status: 201, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' } });
}
