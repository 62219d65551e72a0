/**
 * Deputy's own secret formats (src/README.md D7), for what the maintained rule set
 * (secretlintScan.ts) does not cover or covers only in one narrow spelling: tokens in free text,
 * card numbers, credentials in any URL scheme, `Authorization` values, labelled and spoken
 * passwords. Each rule is specific — a known prefix, a checksum, a label — rather than "any long
 * random string", which would mangle the ids and cursors the model needs.
 *
 * A rule answers the ranges of `text` to redact; a label ("password: ") stays outside the range
 * so the text still reads.
 */

export type Range = readonly [start: number, end: number];

export interface SecretRule {
  readonly name: string;
  /**
   * What every match contains, tested on the lower-cased text (a key prefix, a label, four
   * digits): text without it is skipped. Cheap, and all gates together decide in one test that
   * a string — nearly every id, date and name a tool returns — holds nothing to look at.
   */
  readonly gate: RegExp;
  find(text: string): Range[];
}

interface PatternOptions {
  accept?: (match: RegExpExecArray) => boolean;
  /** Redact only this named group (the label before it stays). */
  group?: string;
}

/** Every match of `pattern` (global) that `accept`s. */
function byPattern(name: string, gate: RegExp, source: RegExp, options: PatternOptions = {}): SecretRule {
  const { accept = () => true, group } = options;
  // `d`: match indices, so a rule can redact one group and keep its label.
  const pattern = group ? new RegExp(source.source, `${source.flags}d`) : source;
  return {
    name,
    gate,
    find(text) {
      const ranges: Range[] = [];
      // exec on the one compiled pattern: `matchAll` would copy the expression on every call.
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        if (match[0] === '') {
          pattern.lastIndex += 1;
          continue;
        }
        if (!accept(match)) continue;
        const indices = group ? match.indices?.groups?.[group] : undefined;
        ranges.push(indices ?? [match.index, match.index + match[0].length]);
      }
      return ranges;
    },
  };
}

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;

/**
 * PEM private keys from each BEGIN line to its END line. Written out rather than one lazy
 * pattern (`BEGIN[\s\S]*?END`), which re-scans the rest of the text from every BEGIN and is
 * quadratic on text holding many BEGIN lines and no END. A key cut before its END line (a size
 * limit, a truncated paste) is redacted to the end of the text: nothing of it may survive.
 */
const pemPrivateKeys: SecretRule = {
  name: 'pem-private-key',
  gate: /private key/,
  find(text) {
    const ranges: Range[] = [];
    PEM_BEGIN.lastIndex = 0;
    for (let begin = PEM_BEGIN.exec(text); begin !== null; begin = PEM_BEGIN.exec(text)) {
      PEM_END.lastIndex = PEM_BEGIN.lastIndex;
      const end = PEM_END.exec(text);
      if (!end) {
        ranges.push([begin.index, text.length]);
        break;
      }
      ranges.push([begin.index, PEM_END.lastIndex]);
      PEM_BEGIN.lastIndex = PEM_END.lastIndex;
    }
    return ranges;
  },
};

/** The Luhn checksum of a string of digits (ISO/IEC 7812-1): card numbers pass it, most other numbers do not. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Issuer prefixes and lengths of the card schemes in use (Visa, Mastercard, American Express,
 * Discover, JCB, Diners Club, UnionPay, Maestro): with the Luhn check, an order number or a
 * timestamp in milliseconds is not taken for a card.
 */
const CARD_SCHEMES: readonly { prefix: RegExp; lengths: readonly number[] }[] = [
  { prefix: /^4/, lengths: [13, 16, 19] },
  { prefix: /^(?:5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, lengths: [16] },
  { prefix: /^3[47]/, lengths: [15] },
  { prefix: /^(?:6011|64[4-9]|65)/, lengths: [16, 17, 18, 19] },
  { prefix: /^35(?:2[89]|[3-8]\d)/, lengths: [16, 17, 18, 19] },
  { prefix: /^3(?:0[0-5]|[689])/, lengths: [14, 15, 16, 17, 18, 19] },
  { prefix: /^62/, lengths: [16, 17, 18, 19] },
  { prefix: /^(?:5018|5020|5038|5893|6304|6759|676[1-3])/, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
];

function looksLikeCard(digits: string): boolean {
  return CARD_SCHEMES.some((s) => s.lengths.includes(digits.length) && s.prefix.test(digits)) && luhnValid(digits);
}

/** `Basic` credentials are base64 of `user:password`: decoding tells them from the English word. */
function isBasicCredential(encoded: string): boolean {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  return /^[^\s:\p{C}]{1,256}:[^\p{C}]{1,256}$/u.test(decoded);
}

const LABELS =
  'password|passwd|passphrase|passcode|secret(?:[_-]?access)?[_-]?key|client[_-]?secret|secret|api[_-]?key|access[_-]?key|access[_-]?token|refresh[_-]?token|auth[_-]?token|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?key';

/** Words that follow "the password is" in prose about passwords rather than in a password given away. */
const NOT_A_PASSWORD =
  /^(?:not|now|still|the|a|an|this|that|your|my|their|same|required|missing|wrong|incorrect|correct|invalid|valid|expired|reset|changed|set|unset|empty|blank|too|being|broken|weak|strong|sent|shown|hidden|stored|hashed|encrypted|managed|needed|optional|case-sensitive|in|at|on|under|in the|never|always|only|also|no|none|null|known|unknown|below|above|attached)$/i;

export const SECRET_RULES: readonly SecretRule[] = [
  // JSON Web Tokens (three base64url parts; the header always starts with `{"` → `eyJ`).
  // Starts only where a run of token characters starts: `\b` would also match after every `-`
  // inside one, and each such start re-scanning the run is quadratic on hostile text. A token
  // glued to a word by `-` ("session-eyJ…") is the price; `=`, `:`, quotes and spaces all start one.
  byPattern('jwt', /eyj/, /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g),
  // PEM private keys, whatever their body (the maintained rule wants a realistic one).
  pemPrivateKeys,
  // `Authorization: <scheme> <credentials>` in headers written out: the label stays.
  // The value is a scheme and its credentials, or one bare token (RFC 9110 token68) with a digit:
  // "Authorization: approved by" stays. token68 has no `:`, so the look-ahead for the digit stops
  // at the next label and hostile text ("Authorization:" many times over) stays linear.
  byPattern(
    'authorization-header',
    /authorization/,
    /\b(?:Proxy-)?Authorization["']?\s*[:=]\s*["']?(?<value>(?:Basic|Bearer|Token|Digest|Negotiate|NTLM|ApiKey|AWS4-HMAC-SHA256)\s+[^\s"',;]{4,}|(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{16,}=*)/gi,
    { group: 'value' },
  ),
  // Bearer and Basic credentials wherever they appear.
  byPattern('bearer', /bearer/, /\b[Bb]earer\s+[A-Za-z0-9._~+/-]{16,}=*/g),
  byPattern('basic', /basic/, /\bBasic\s+(?<value>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])/gi, { accept: (m) => isBasicCredential(m.groups!.value!), group: 'value' }),
  // Credentials in any URL (`postgres://user:pass@host`, `redis://:pass@host`, `amqps://…`): the password goes, the rest reads.
  byPattern('url-credentials', /:\/\//, /\b[A-Za-z][A-Za-z0-9+.-]{1,30}:\/\/[^\s:/@]{0,256}:(?<value>[^\s@/]{1,256})@/g, { group: 'value' }),
  // Vendor key formats: Stripe, GitHub, Slack, AWS access key ids, Google API keys.
  byPattern('stripe', /k_(?:live|test)_/, /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g),
  byPattern('github', /gh[opusr]_/, /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g),
  byPattern('github-pat', /github_pat_/, /\bgithub_pat_[A-Za-z0-9_]{40,}\b/g),
  byPattern('slack', /xox/, /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g),
  byPattern('aws-access-key-id', /akia|asia|abia|acca|a3t/, /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g),
  byPattern('google-api-key', /aiza/, /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g),
  // LLM API keys in any of their generations: OpenAI (`sk-proj-`, `sk-svcacct-`, `sk-admin-`, legacy `sk-`), Anthropic (`sk-ant-`).
  byPattern('openai', /sk-/, /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/g),
  byPattern('anthropic', /sk-ant-/, /(?<![A-Za-z0-9_-])sk-ant-[a-z]+\d*-[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/g),
  // Card numbers, with or without single spaces or dashes between groups.
  byPattern('card-number', /\d{4}[ -]?\d{4}/, /(?<![\d.-])\d(?:[ -]?\d){11,18}(?![\d-])/g, { accept: (m) => looksLikeCard(m[0].replace(/[ -]/g, '')) }),
  // `password=…`, `"client_secret": "…"`, `AccountKey=…;` in free text: the label stays.
  byPattern(
    'labelled',
    /pass|secret|key|token/,
    new RegExp(String.raw`(?<![A-Za-z0-9])(?:${LABELS})["']?(?<sep>\s*[:=]\s*)(?<value>"[^"]{4,}"|'[^']{4,}'|[^\s,;)\]}"']{3,}[^\s,;)\]}."'])`, 'gi'),
    { group: 'value' },
  ),
  // Said in words: "my password is hunter2", "the passcode for the VPN was 7291".
  byPattern(
    'spoken-password',
    /pass/,
    /\b(?:password|passphrase|passcode)(?:\s+(?:for|to|of|on)\s+[^\s,.;:]{1,40}(?:\s+[^\s,.;:]{1,40})?)?\s+(?:is|was|will be|=)\s*:?\s+(?<value>"[^"]{3,}"|'[^']{3,}'|[^\s"']*[^\s"'.,;:!?)\]])/gi,
    { accept: (m) => !NOT_A_PASSWORD.test(m.groups!.value!), group: 'value' },
  ),
];
