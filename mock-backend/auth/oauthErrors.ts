/** Token endpoint errors as RFC 6749 §5.2 (plus RFC 8707 `invalid_target`) defines them. */
import { HttpResponse } from 'msw';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'server_error';

/** Token responses carry credentials: never cache them (RFC 6749 §5.1). */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  /** `description` is sent to the client: it must never contain a token, secret or password. */
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }

  /** 401 only for failed client authentication (§5.2); everything else is a 400. */
  get status(): number {
    return this.error === 'invalid_client' ? 401 : this.error === 'server_error' ? 500 : 400;
  }

  toResponse(): Response {
    const headers: Record<string, string> = { ...NO_STORE };
    if (this.error === 'invalid_client') headers['WWW-Authenticate'] = 'Basic realm="mock-backend", charset="UTF-8"';
    return HttpResponse.json({ error: this.error, error_description: this.description }, { status: this.status, headers });
  }
}
