/**
 * Credential values → their places in the request, as the operation's security schemes say:
 * `Authorization: Bearer …` / `Basic …`, a named header, a query parameter or a cookie.
 * Applied after everything the model controls, so no argument can set or override them
 * (buildRequest also refuses arguments that name a credential's place). Pure, unit-tested.
 *
 * The values are secrets: no message here quotes one, and the returned path (which holds a
 * query credential) is never logged.
 */
import { backendError } from './backendError.ts';
import type { CredentialPlacement } from './operation.ts';

export interface PlacedCredentials {
  /** The request path and query with query credentials appended. */
  path: string;
  /** Credential headers (lower-case names), to be set after every other header. */
  headers: Record<string, string>;
}

/** RFC 9110 §5.5 field value without controls (tab allowed) — no header splitting. */
// eslint-disable-next-line no-control-regex
const FIELD_VALUE = /^[^\u0000-\u0008\u000a-\u001f\u007f]*$/;
/** RFC 6265 §4.1.1 cookie-octet: no spaces, quotes, commas, semicolons or backslashes. */
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

export function placeCredentials(operationId: string, path: string, credentials: readonly CredentialPlacement[], values: readonly string[]): PlacedCredentials {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const q = path.indexOf('?');
  const query = new URLSearchParams(q === -1 ? '' : path.slice(q + 1));
  let queryChanged = false;
  credentials.forEach((c, i) => {
    const value = values[i];
    const refuse = (why: string) => backendError('BACKEND_TOKEN_UNAVAILABLE', operationId, { reason: `the credential for scheme '${c.scheme}' ${why}` });
    if (value === undefined || value === '') throw refuse('is empty');
    if (c.kind !== 'query' && !FIELD_VALUE.test(value)) throw refuse('contains a control character');
    switch (c.kind) {
      case 'bearer':
        headers.authorization = `Bearer ${value}`;
        break;
      case 'basic':
        headers.authorization = `Basic ${value}`;
        break;
      case 'header':
        headers[(c.name ?? '').toLowerCase()] = value;
        break;
      case 'cookie':
        if (!COOKIE_OCTETS.test(value)) throw refuse('cannot be sent as a cookie value (RFC 6265 cookie-octets only)');
        cookies.push(`${c.name ?? ''}=${value}`);
        break;
      case 'query':
        // set, not append: whatever else named this parameter is replaced by the credential.
        query.set(c.name ?? '', value);
        queryChanged = true;
        break;
    }
  });
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  if (!queryChanged) return { path, headers };
  return { path: `${q === -1 ? path : path.slice(0, q)}?${query.toString()}`, headers };
}
