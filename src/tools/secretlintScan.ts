/**
 * The maintained rule set behind redaction (src/README.md D7): secretlint's recommended preset
 * (`@secretlint/secretlint-rule-preset-recommend`), run through `@secretlint/core`. Its rules
 * follow the vendors' key formats (cloud, LLM, source hosting, payment, chat, database URLs)
 * and are updated by their maintainers; Deputy's own rules (secretRules.ts) add what a tool's
 * free text needs beyond files in a repository.
 *
 * A secretlint run costs a fixed ~0.1–0.3 ms however short the text: a large share of Deputy's
 * per-call budget if every result paid it (bench/README.md "Redaction"). So each rule has an
 * anchor — literals its pattern cannot match without (a key prefix, `private key`, `://…@`) —
 * and only text that holds one is scanned; the rest costs a few substring look-ups. A test
 * holds the anchors to the preset: a rule added by an upgrade fails it until it has an anchor.
 *
 * Since nearly no text holds an anchor, secretlint itself (~60 ms and ~10 MiB to load) is imported
 * on the first text that does, not when Deputy starts (bench/README.md, "Cold start").
 */
import type { Range } from './secretRules.ts';

/**
 * Preset rules Deputy does not run: `filter-comments` lets the scanned text switch detection
 * off (`secretlint-disable`), which the backend's text must not be able to do; `gcp` reads only
 * `.json` and `.p12` files, never text.
 */
export const NOT_RUN: ReadonlySet<string> = new Set(['@secretlint/secretlint-rule-filter-comments', '@secretlint/secretlint-rule-gcp']);

/**
 * Text that cannot hold a rule's finding: none of `any` (lower-case literals, looked up in the
 * lower-cased text) occurs in it, or `then` does not match. Literal look-ups are what keeps the
 * common case cheap; a superset only costs a scan, never a miss.
 */
export interface Anchor {
  any: readonly string[];
  then?: RegExp;
}

/** Credentials in a URL: `://user:password@`. */
const USERINFO = /:\/\/[^\s/@]*:[^\s/@]*@/;

/** For each preset rule Deputy runs: text without its anchor cannot hold that rule's finding. */
export const ANCHORS: Readonly<Record<string, Anchor>> = {
  // Only the secret-key scan runs: the preset leaves the id scans off (`enableIDScanRule`); secretRules.ts has the ids.
  '@secretlint/secretlint-rule-aws': { any: ['secret'], then: /(?:SECRET|[Ss]ecret)_?(?:ACCESS|[Aa]ccess)_?(?:KEY|[Kk]ey)/ },
  '@secretlint/secretlint-rule-privatekey': { any: ['private key'] },
  '@secretlint/secretlint-rule-npm': { any: ['npm_'] },
  '@secretlint/secretlint-rule-basicauth': { any: ['://'], then: USERINFO },
  '@secretlint/secretlint-rule-slack': { any: ['xoxb-', 'xoxp-', 'xapp-', 'xoxa-', 'xoxo-', 'xoxr-', 'hooks.slack.com'] },
  '@secretlint/secretlint-rule-sendgrid': { any: ['sg.'] },
  '@secretlint/secretlint-rule-shopify': { any: ['shppa_', 'shpca_', 'shpat_', 'shpss_'] },
  '@secretlint/secretlint-rule-stripe': { any: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'] },
  '@secretlint/secretlint-rule-github': { any: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'] },
  '@secretlint/secretlint-rule-gitlab': { any: ['glpat-'] },
  '@secretlint/secretlint-rule-grafana': { any: ['glc_', 'glsa_'] },
  '@secretlint/secretlint-rule-openai': { any: ['t3blbkfj'] },
  '@secretlint/secretlint-rule-anthropic': { any: ['sk-ant-'] },
  '@secretlint/secretlint-rule-groq': { any: ['gsk_'] },
  '@secretlint/secretlint-rule-huggingface': { any: ['hf_'] },
  '@secretlint/secretlint-rule-linear': { any: ['lin_api_'] },
  '@secretlint/secretlint-rule-notion': { any: ['ntn_'] },
  '@secretlint/secretlint-rule-1password': { any: ['ops_ey'] },
  // The rule reports a database URL only when it carries a password.
  '@secretlint/secretlint-rule-database-connection-string': { any: ['mongodb', 'mysql', 'postgres'], then: USERINFO },
  '@secretlint/secretlint-rule-hashicorp-vault': { any: ['hvs.', 'hvb.', 'hvr.'] },
  '@secretlint/secretlint-rule-vercel': { any: ['vcp_', 'vci_', 'vca_', 'vcr_', 'vck_'] },
  '@secretlint/secretlint-rule-databricks': { any: ['dapi'] },
  '@secretlint/secretlint-rule-docker': { any: ['dckr_pat_'] },
  '@secretlint/secretlint-rule-figma': { any: ['figd_'] },
  '@secretlint/secretlint-rule-cloudflare': { any: ['cfk_', 'cfut_', 'cfat_'] },
  '@secretlint/secretlint-rule-tailscale': { any: ['tskey-'] },
};

const anchors = Object.values(ANCHORS);

/** Every anchor literal in one test: nearly every string fails it and is not looked at again. */
const ANY_LITERAL = new RegExp(anchors.flatMap((anchor) => anchor.any.map((literal) => literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('|'));

export function anchorHolds(anchor: Anchor, text: string, lower: string): boolean {
  return anchor.any.some((literal) => lower.includes(literal)) && (anchor.then?.test(text) ?? true);
}

async function loadSecretlint() {
  const [{ lintSource }, preset] = await Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]);
  const config = { rules: preset.rules.filter((rule) => !NOT_RUN.has(rule.meta.id)).map((rule) => ({ id: rule.meta.id, rule })) };
  return { lintSource, config, preset };
}
let secretlint: ReturnType<typeof loadSecretlint> | undefined;

/** The preset's rule ids, for the test that holds ANCHORS to them. */
export async function presetRuleIds(): Promise<readonly string[]> {
  const { preset } = await (secretlint ??= loadSecretlint());
  return preset.rules.map((rule) => rule.meta.id);
}

/** Whether `text` could hold anything the preset finds; false for nearly every string a tool returns. */
export function mayHoldPresetFinding(text: string, lower: string = text.toLowerCase()): boolean {
  return ANY_LITERAL.test(lower) && anchors.some((anchor) => anchorHolds(anchor, text, lower));
}

/**
 * The ranges of `text` the preset reports, each widened to the whitespace-delimited run(s) it
 * touches: a rule's range may cover only part of the secret (the AWS rule's starts at the label
 * and is as long as the key), and a widened range never leaves a piece of the secret behind.
 */
export async function presetFindings(text: string): Promise<Range[]> {
  const { lintSource, config } = await (secretlint ??= loadSecretlint());
  const result = await lintSource({
    // A plain text with a name no rule treats as a file it knows (`.npmrc`, `package.json`, `.p12`).
    source: { content: text, filePath: 'tool-output.txt', ext: '.txt', contentType: 'text' },
    options: { config, noPhysicFilePath: true },
  });
  return result.messages.filter((m) => m.type === 'message').map((m) => widen(text, m.range[0], m.range[1]));
}

function widen(text: string, start: number, end: number): Range {
  let from = Math.max(0, Math.min(start, text.length));
  let to = Math.max(from, Math.min(end, text.length));
  while (from > 0 && !/\s/.test(text[from - 1]!)) from -= 1;
  while (to < text.length && !/\s/.test(text[to]!)) to += 1;
  return [from, to];
}
