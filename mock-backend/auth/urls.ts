/**
 * URL rules shared by the grants, the authorization endpoint and client registration:
 * resource indicators (RFC 8707), loopback hosts, and redirect URI matching (RFC 8252 §7.3).
 */

/** Two resource URLs name the same thing once normalised (`http://h:1` ≡ `http://h:1/`). */
export function sameResource(a: string, b: string): boolean {
  return URL.canParse(a) && URL.canParse(b) && new URL(a).href === new URL(b).href;
}

/** 127.0.0.0/8, ::1 or `localhost` (as `URL.hostname` spells them). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** An http(s) URL on a loopback host, without user info. */
export function isLoopbackHttpUrl(url: URL): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password) return false;
  return isLoopbackHost(url.hostname);
}

export type RedirectUriCheck = { ok: true } | { ok: false; description: string };

/**
 * What a client may register as a redirect URI on this dev server: `http` only on a loopback
 * host (RFC 8252 §7.3) or any `https` URL. No private-use schemes (`cursor://…`), no fragment
 * (RFC 6749 §3.1.2), no user info.
 */
export function checkRedirectUri(value: string): RedirectUriCheck {
  if (value.length > 2000) return { ok: false, description: 'redirect URI is longer than 2000 characters' };
  if (!URL.canParse(value)) return { ok: false, description: 'redirect URI is not an absolute URI' };
  const url = new URL(value);
  if (value.includes('#')) return { ok: false, description: 'redirect URI must not contain a fragment' };
  if (url.username || url.password) return { ok: false, description: 'redirect URI must not contain user info' };
  if (url.protocol === 'https:') return { ok: true };
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname)
      ? { ok: true }
      : { ok: false, description: 'http redirect URIs must use a loopback host (127.0.0.1, [::1] or localhost); use https otherwise' };
  }
  return { ok: false, description: `redirect URI scheme '${url.protocol.slice(0, 32)}' is not allowed (http on a loopback host, or https)` };
}

/**
 * Does `requested` match one of `registered`? Exactly (string comparison, RFC 6749 §3.1.2.3
 * / OAuth 2.1), except that a registered loopback `http` URI matches on any port (RFC 8252 §7.3:
 * native apps get an ephemeral port from the OS).
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  if (!URL.canParse(requested) || requested.includes('#')) return false;
  const want = new URL(requested);
  if (want.protocol !== 'http:' || !isLoopbackHost(want.hostname) || want.username || want.password) return false;
  return registered.some((r) => {
    if (!URL.canParse(r)) return false;
    const have = new URL(r);
    return (
      have.protocol === 'http:' &&
      have.hostname === want.hostname &&
      have.pathname === want.pathname &&
      have.search === want.search
    );
  });
}
