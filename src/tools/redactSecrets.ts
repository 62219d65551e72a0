/**
 * Redaction of secret-looking strings in tool output (src/README.md D7). The pick allowlist
 * already keeps known secret fields out; this is the second net for secrets that turn up inside
 * free text (a customer pasting an API key into a ticket, a token in a note).
 *
 * Patterns are deliberately specific (known prefixes and formats) rather than "any long random
 * string", which would mangle ids and cursors the model needs. The backend's own key formats come
 * from the manifest (`server.secretPatterns`, openapi/README.md "The server profile"), checked at
 * generation to be just as specific, and are compiled once when the server starts.
 */
import { SECRET_PATTERN_FLAGS } from '../generated/tools.ts';

const REDACTED = '[REDACTED]';

const BUILT_IN_PATTERNS: readonly RegExp[] = [
  // JSON Web Tokens (three base64url parts; the header always starts with `{"` → `eyJ`).
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  // PEM private keys.
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  // Bearer credentials written out in text.
  /\b[Bb]earer\s+[A-Za-z0-9._~+/-]{16,}=*/g,
  // Well-known vendor key formats: Stripe, GitHub, Slack, AWS access keys, Google API keys.
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{40,}\b/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
];

/** `password=…`, `secret: …`, `api_key=…` in free text: the label stays so the text still reads. */
const LABELLED_SECRET =
  /\b(password|passwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)(\s*[:=]\s*)("[^"]{4,}"|'[^']{4,}'|[^\s,;)\]}]{3,}[^\s,;)\]}.])/gi;

export interface Redactor {
  redactString: (text: string) => { text: string; redactions: number };
  /** Redacts every string in a JSON value, returning a new value and the number of redactions. */
  redactSecrets: (value: unknown) => { value: unknown; redactions: number };
}

/**
 * A redactor for the built-in formats plus the backend's own (`secretPatterns`: regular
 * expression sources, compiled here once).
 */
export function createRedactor(secretPatterns: readonly string[] = []): Redactor {
  const patterns = [...BUILT_IN_PATTERNS, ...secretPatterns.map((source) => new RegExp(source, SECRET_PATTERN_FLAGS))];

  function redactString(text: string): { text: string; redactions: number } {
    let redactions = 0;
    let out = text;
    for (const pattern of patterns) {
      out = out.replace(pattern, (match) => {
        // Generation refuses patterns that match nothing at all; an empty match is never a secret.
        if (match === '') return match;
        redactions += 1;
        return REDACTED;
      });
    }
    out = out.replace(LABELLED_SECRET, (_match, label: string, separator: string, secret: string) => {
      if (secret === REDACTED) return `${label}${separator}${secret}`;
      redactions += 1;
      return `${label}${separator}${REDACTED}`;
    });
    return { text: out, redactions };
  }

  function redactSecrets(value: unknown): { value: unknown; redactions: number } {
    let redactions = 0;
    const walk = (node: unknown): unknown => {
      if (typeof node === 'string') {
        const result = redactString(node);
        redactions += result.redactions;
        return result.text;
      }
      if (Array.isArray(node)) return node.map(walk);
      if (node !== null && typeof node === 'object') {
        const out: Record<string, unknown> = {};
        for (const [key, child] of Object.entries(node)) out[key] = walk(child);
        return out;
      }
      return node;
    };
    return { value: walk(value), redactions };
  }

  return { redactString, redactSecrets };
}

/** The built-in formats only. */
export const { redactString, redactSecrets } = createRedactor();
