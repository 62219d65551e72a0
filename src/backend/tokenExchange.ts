/**
 * OAuth 2.0 token exchange (RFC 8693) on behalf of the caller: the caller's token goes to the
 * authorization server as `subject_token` and a backend token for that user comes back, with
 * exactly the operation's scopes. The backend sees who acted; the caller's token itself never
 * reaches the backend. Cached per (sha256 of the caller token, scope set) until shortly before
 * expiry, so the cache never keeps a caller token in the clear.
 */
import { backendError } from './backendError.ts';
import { OAuthTokenEndpoint, TokenCache, type OAuthClientConfig, type TokenCacheOptions } from './oauthTokenEndpoint.ts';
import { notBearer, RedactedSecretHolder, scopeKey, secretHash, type TokenProvider, type TokenRequest } from './tokenProvider.ts';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

export interface TokenExchangeOptions extends OAuthClientConfig, TokenCacheOptions {
  /** RFC 8693 §2.1 `resource`: the backend's URL. */
  resource?: string;
  /** RFC 8693 §2.1 `audience`: the backend's logical name, for servers that use it. */
  audience?: string;
}

export class TokenExchangeProvider extends RedactedSecretHolder implements TokenProvider {
  readonly #endpoint: OAuthTokenEndpoint;
  readonly #cache: TokenCache;
  readonly #resource: string | undefined;
  readonly #audience: string | undefined;

  constructor(opts: TokenExchangeOptions) {
    super();
    if (!opts.resource && !opts.audience) throw new TypeError('token exchange needs a resource or an audience (the backend)');
    this.#endpoint = new OAuthTokenEndpoint(opts);
    this.#cache = new TokenCache(opts);
    this.#resource = opts.resource;
    this.#audience = opts.audience;
  }

  #key(req: TokenRequest & { caller: { token: string } }): string {
    // The tenant travels in the caller's token; keyed by it too, so no entry can ever serve another tenant (D41).
    return `${req.tenant ?? ''} ${secretHash(req.caller.token)} ${scopeKey(req.scopes)}`;
  }

  getToken(req: TokenRequest): Promise<string> {
    const refused = notBearer(req, 'OAuth token exchange');
    if (refused) return Promise.reject(refused);
    const caller = req.caller;
    if (!caller) {
      return Promise.reject(
        backendError('BACKEND_TOKEN_UNAVAILABLE', req.operationId, { reason: 'token exchange needs the calling user, and this call has none' }),
      );
    }
    return this.#cache.get(this.#key({ ...req, caller }), () => {
      const form = new URLSearchParams({
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: caller.token,
        subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        requested_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        scope: scopeKey(req.scopes),
      });
      if (this.#resource) form.set('resource', this.#resource);
      if (this.#audience) form.set('audience', this.#audience);
      return this.#endpoint.requestToken(form, req.operationId);
    });
  }

  invalidate(req: TokenRequest, rejected?: string): void {
    if (req.caller) this.#cache.invalidate(this.#key({ ...req, caller: req.caller }), rejected);
  }

  describe(): string {
    return `OAuth token exchange (RFC 8693) as '${this.#endpoint.clientId}' at ${this.#endpoint.tokenUrl}`;
  }

  close(): Promise<void> {
    return this.#endpoint.close();
  }
}
