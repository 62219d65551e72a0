/**
 * Redaction of secret-looking strings in tool output (src/README.md D7). The pick allowlist
 * already keeps known secret fields out; this is the second net for secrets that turn up inside
 * free text (a customer pasting an API key into a ticket, a database URL in a note).
 *
 * Three sources of rules, each answering ranges of the original text: secretlint's maintained
 * preset (secretlintScan.ts, only on text holding one of its anchors), Deputy's own rules
 * (secretRules.ts), and the backend's own key formats from the manifest (`server.secretPatterns`,
 * openapi/README.md "The server profile"), checked at generation to be specific and compiled
 * once when the server starts. Overlapping ranges merge into one `[REDACTED]`.
 */
import { SECRET_PATTERN_FLAGS } from '../generated/tools.ts';
import { mayHoldPresetFinding, presetFindings } from './secretlintScan.ts';
import { SECRET_RULES, type Range } from './secretRules.ts';

const REDACTED = '[REDACTED]';

export interface Redactor {
  redactString: (text: string) => Promise<{ text: string; redactions: number }>;
  /** Redacts every string in a JSON value, returning a new value and the number of redactions. */
  redactSecrets: (value: unknown) => Promise<{ value: unknown; redactions: number }>;
}

/** A manifest pattern: every non-empty match (generation refuses patterns that match nothing at all). */
function manifestRule(source: string): (text: string) => Range[] {
  const pattern = new RegExp(source, SECRET_PATTERN_FLAGS);
  return (text) => {
    const ranges: Range[] = [];
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (match[0] === '') pattern.lastIndex += 1;
      else ranges.push([match.index, match.index + match[0].length]);
    }
    return ranges;
  };
}

/** All of Deputy's rule gates in one test: most strings fail it and are looked at no further. */
const ANY_GATE = new RegExp(SECRET_RULES.map((rule) => `(?:${rule.gate.source})`).join('|'));

/** Replaces the union of `ranges` with `[REDACTED]`, one per run of overlapping or touching ranges. */
function applyRanges(text: string, ranges: Range[]): { text: string; redactions: number } {
  if (ranges.length === 0) return { text, redactions: 0 };
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let redactions = 0;
  let at = 0;
  let [start, end] = sorted[0]!;
  for (const [s, e] of sorted.slice(1)) {
    if (s <= end) {
      end = Math.max(end, e);
      continue;
    }
    parts.push(text.slice(at, start), REDACTED);
    redactions += 1;
    at = end;
    [start, end] = [s, e];
  }
  parts.push(text.slice(at, start), REDACTED, text.slice(end));
  return { text: parts.join(''), redactions: redactions + 1 };
}

/** A redactor for the maintained preset, Deputy's rules and the backend's own formats (`secretPatterns`). */
export function createRedactor(secretPatterns: readonly string[] = []): Redactor {
  const manifestRules = secretPatterns.map(manifestRule);

  /** What Deputy's rules and the manifest's patterns find; `lower` is `text` lower-cased. */
  function ownRanges(text: string, lower: string): Range[] {
    const ranges = manifestRules.flatMap((find) => find(text));
    if (ANY_GATE.test(lower)) for (const rule of SECRET_RULES) if (rule.gate.test(lower)) ranges.push(...rule.find(text));
    return ranges;
  }

  async function redactString(text: string): Promise<{ text: string; redactions: number }> {
    const lower = text.toLowerCase();
    const ranges = ownRanges(text, lower);
    if (mayHoldPresetFinding(text, lower)) ranges.push(...(await presetFindings(text)));
    return applyRanges(text, ranges);
  }

  async function redactSecrets(value: unknown): Promise<{ value: unknown; redactions: number }> {
    // Every string first, redacted together (the preset scan is asynchronous), then the same shape rebuilt.
    const strings: string[] = [];
    const collect = (node: unknown): void => {
      if (typeof node === 'string') strings.push(node);
      else if (Array.isArray(node)) node.forEach(collect);
      else if (node !== null && typeof node === 'object') Object.values(node).forEach(collect);
    };
    collect(value);
    // Without a preset anchor a string is done at once; only the rare string with one waits for the scan.
    const results = strings.map((text) => {
      const lower = text.toLowerCase();
      return mayHoldPresetFinding(text, lower) ? null : applyRanges(text, ownRanges(text, lower));
    });
    await Promise.all(strings.flatMap((text, i) => (results[i] ? [] : [redactString(text).then((result) => (results[i] = result))])));
    let next = 0;
    const rebuild = (node: unknown): unknown => {
      if (typeof node === 'string') return results[next++]!.text;
      if (Array.isArray(node)) return node.map(rebuild);
      if (node !== null && typeof node === 'object') {
        const out: Record<string, unknown> = {};
        for (const [key, child] of Object.entries(node)) {
          // Assigning `__proto__` would set the prototype; defined, it stays a key. (Object.fromEntries
          // does the same for every key but costs twice as much per result.)
          if (key === '__proto__') Object.defineProperty(out, key, { value: rebuild(child), enumerable: true, writable: true, configurable: true });
          else out[key] = rebuild(child);
        }
        return out;
      }
      return node;
    };
    return { value: rebuild(value), redactions: results.reduce((sum, r) => sum + r!.redactions, 0) };
  }

  return { redactString, redactSecrets };
}

/** The preset and Deputy's rules, without a manifest's own formats. */
export const { redactString, redactSecrets } = createRedactor();
