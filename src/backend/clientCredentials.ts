/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): Deputy's own tokens, one per scope set.
 * `scope` is exactly the operation's scopes, so a token minted for `listDrafts` cannot publish.
 */
import { OAuthTokenEndpoint, TokenCache, type OAuthClientConfig, type TokenCacheOptions } from './oauthTokenEndpoint.ts';
import { notBearer, RedactedSecretHolder, scopeKey, type TokenProvider, type TokenRequest } from './tokenProvider.ts';

export interface ClientCredentialsOptions extends OAuthClientConfig, TokenCacheOptions {
  /** RFC 8707 `resource` to ask for (the backend's URL), when the authorization server needs one. */
  resource?: string;
  /** `audience` parameter, for servers that use it instead of `resource`. */
  audience?: string;
}

export class ClientCredentialsProvider extends RedactedSecretHolder implements TokenProvider {
  readonly #endpoint: OAuthTokenEndpoint;
  readonly #cache: TokenCache;
  readonly #resource: string | undefined;
  readonly #audience: string | undefined;

  constructor(opts: ClientCredentialsOptions) {
    super();
    this.#endpoint = new OAuthTokenEndpoint(opts);
    this.#cache = new TokenCache(opts);
    this.#resource = opts.resource;
    this.#audience = opts.audience;
  }

  getToken(req: TokenRequest): Promise<string> {
    const refused = notBearer(req, 'OAuth client credentials');
    if (refused) return Promise.reject(refused);
    const key = scopeKey(req.scopes);
    return this.#cache.get(key, () => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', scope: key });
      if (this.#resource) form.set('resource', this.#resource);
      if (this.#audience) form.set('audience', this.#audience);
      return this.#endpoint.requestToken(form, req.operationId);
    });
  }

  invalidate(req: TokenRequest, rejected?: string): void {
    this.#cache.invalidate(scopeKey(req.scopes), rejected);
  }

  describe(): string {
    return `OAuth client credentials as '${this.#endpoint.clientId}' at ${this.#endpoint.tokenUrl}`;
  }

  close(): Promise<void> {
    return this.#endpoint.close();
  }
}
