// Does a parameter look like it carries a credential? A credential must never be a tool input
// (the model would hold it) or a fixed value (a secret committed in the manifest and shown in
// `lint:tools` and approval prompts); the generator refuses both and points to `credentials:`
// (openapi/README.md, "Credentials").
//
// Names are split into words (camelCase, `-`, `_`, `.`, spaces) and matched word by word, so
// `keyword`, `monkey` and `author` never match. Known false friends are excluded by rule:
// pagination tokens (`pageToken`), words about a credential rather than the credential itself
// (`tokenId`, `secret_name`, `keyType`), a `key` that is not an API/access key (`sortKey`,
// `idempotencyKey`), and `session` in a path (`/sessions/{sessionId}` names a resource). Anything
// else that trips the check is listed under the tool's `notCredentials` after review.

/** Words that are a credential on their own. */
const CREDENTIAL_WORDS = new Set([
  'token', 'secret', 'password', 'passwd', 'passphrase', 'authorization', 'auth', 'oauth', 'apikey',
  'credential', 'credentials', 'bearer', 'cookie', 'session', 'jwt', 'sessionid', 'accesstoken',
]);
/** `key` is a credential after one of these (`api_key`, `X-Access-Key`) or on its own. */
const KEY_QUALIFIERS = new Set([
  'api', 'access', 'secret', 'private', 'auth', 'app', 'application', 'client', 'consumer', 'signing',
  'master', 'subscription', 'developer', 'license', 'service', 'account', 'admin', 'session', 'encryption',
]);
/** `token` after one of these is a pagination cursor, not a credential. */
const PAGINATION = new Set(['page', 'next', 'prev', 'previous', 'continuation', 'sync', 'cursor', 'pagination', 'resume', 'start', 'starting', 'end', 'skip', 'delta', 'change', 'changes']);
/** A credential word followed by one of these names something about the credential. */
const ABOUT = new Set([
  'id', 'ids', 'name', 'names', 'type', 'types', 'count', 'prefix', 'suffix', 'expiry', 'expires', 'expiration',
  'expired', 'policy', 'length', 'hint', 'url', 'uri', 'scope', 'scopes', 'status', 'hash', 'last4', 'label',
  'description', 'format', 'version', 'created', 'updated', 'enabled', 'required', 'rotation', 'owner', 'fingerprint',
]);

/** Phrases in a description that say a string parameter is a credential. */
const DESCRIPTION =
  /\b(api[ _-]?keys?|api[ _-]?tokens?|access[ _-]?tokens?|access[ _-]?keys?|secret[ _-]?keys?|private[ _-]?keys?|auth(?:entication|orization)?[ _-]?(?:tokens?|keys?|header)|bearer|session[ _-]?(?:tokens?|cookies?|keys?)|client[ _-]?secret|refresh[ _-]?tokens?|passwords?|passphrases?|credentials?)\b/i;

function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/** The word of `name` that makes it look like a credential, or null. */
export function credentialWordIn(name: string, location: string): string | null {
  const words = nameWords(name);
  if (words.length > 1 && ABOUT.has(words[words.length - 1] as string)) return null; // `oauthClientId`, `api_key_id`
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const before = words[i - 1];
    const after = words[i + 1];
    if (after !== undefined && ABOUT.has(after)) continue;
    if (word === 'key') {
      if (words.length === 1 || (before !== undefined && KEY_QUALIFIERS.has(before))) return before !== undefined ? `${before} key` : 'key';
      continue;
    }
    if (!CREDENTIAL_WORDS.has(word)) continue;
    if (word === 'token' && before !== undefined && PAGINATION.has(before)) continue;
    if ((word === 'session' || word === 'sessionid') && location === 'path') continue;
    return word;
  }
  return null;
}

export interface CredentialLook {
  /** What matched, e.g. 'token' or 'api key'. */
  match: string;
  /** Whether the name or the description matched. */
  where: 'name' | 'description';
}

/**
 * Why a parameter looks like a credential, or null. A parameter with an `enum` never does: the
 * spec lists every value it takes. The description is read only for strings whose name is not
 * about something else (`keyId: "The ID of the API key"` is an id).
 */
export function looksLikeCredential(p: { name: string; in: string; description: string | null; type: string | null; enumerated?: boolean }): CredentialLook | null {
  if (p.enumerated === true) return null;
  const byName = credentialWordIn(p.name, p.in);
  if (byName !== null) return { match: byName, where: 'name' };
  if (p.description === null || (p.type !== null && p.type !== 'string')) return null;
  if (nameWords(p.name).some((w) => ABOUT.has(w))) return null;
  const m = DESCRIPTION.exec(p.description);
  return m ? { match: (m[1] as string).toLowerCase(), where: 'description' } : null;
}
