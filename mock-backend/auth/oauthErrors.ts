/**
 * OAuth errors as RFC 6749 §5.2 defines them for the token endpoint, plus RFC 8707
 * `invalid_target`, RFC 7591 §3.2.2 (registration) and the authorization endpoint's redirect
 * errors (RFC 6749 §4.1.2.1).
 */
import { HttpResponse } from 'msw';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'server_error';

/** Token responses carry credentials: never cache them (RFC 6749 §5.1). */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  /**
   * `description` is sent to the client: it must never contain a token, secret or password.
   * `statusOverride` replaces the default status (e.g. 403 for an authenticated client that may
   * not introspect).
   */
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly statusOverride?: number,
  ) {
    super(`${error}: ${description}`);
  }

  /** 401 only for failed client authentication (§5.2); everything else is a 400. */
  get status(): number {
    if (this.statusOverride !== undefined) return this.statusOverride;
    return this.error === 'invalid_client' ? 401 : this.error === 'server_error' ? 500 : 400;
  }

  toResponse(): Response {
    const headers: Record<string, string> = { ...NO_STORE };
    if (this.error === 'invalid_client' && this.status === 401) {
      headers['WWW-Authenticate'] = 'Basic realm="mock-backend", charset="UTF-8"';
    }
    return HttpResponse.json({ error: this.error, error_description: this.description }, { status: this.status, headers });
  }
}

/** Turns any failure of an endpoint into an OAuth error response without leaking details. */
export function errorResponse(err: unknown, endpoint: string): Response {
  if (err instanceof OAuthError) return err.toResponse();
  // An unexpected failure: report it without details (they could carry request data).
  console.error(`[mock-backend auth] ${endpoint} failed:`, err instanceof Error ? err.name : typeof err);
  return new OAuthError('server_error', `the ${endpoint} failed unexpectedly`).toResponse();
}

/** RFC 6749 §3.2 / §3.1: a form body, each parameter at most once unless `repeatable`. */
export async function readForm(request: Request, what: string, repeatable: ReadonlySet<string> = new Set()): Promise<URLSearchParams> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new OAuthError('invalid_request', `the ${what} must be application/x-www-form-urlencoded`);
  }
  const form = new URLSearchParams(await request.text());
  rejectRepeats(form, repeatable);
  return form;
}

export function rejectRepeats(params: URLSearchParams, repeatable: ReadonlySet<string> = new Set()): void {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key) && !repeatable.has(key)) throw new OAuthError('invalid_request', `parameter '${key.slice(0, 64)}' is repeated`);
    seen.add(key);
  }
}
