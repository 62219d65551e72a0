/**
 * The maintained rule set (src/tools/secretlintScan.ts): every rule of secretlint's recommended
 * preset either runs behind an anchor, with a sample here that the rule reports and the anchor
 * lets through, or is named in NOT_RUN with its reason. A preset upgrade that adds a rule fails
 * here until the rule has an anchor and a sample.
 */
import { describe, expect, it } from 'vitest';
import { anchorHolds, ANCHORS, mayHoldPresetFinding, NOT_RUN, presetFindings, presetRuleIds } from '../../src/tools/secretlintScan.ts';

/** Deterministic filler of `n` characters from `alphabet`. */
const fill = (n: number, alphabet = 'aB3dE5fG7hJ9kLmN2pQ4rS6tU8vWxYz') => Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');
const hex = (n: number) => fill(n, '0123456789abcdef');
const base64 = (text: string) => Buffer.from(text).toString('base64').replace(/=+$/, '');

/** A 1Password service-account token: base64 of a JSON object, whose last `}` encodes as `fQ`. */
function onePasswordToken(): string {
  for (let pad = ''; ; pad += 'x') {
    const token = base64(JSON.stringify({ email: `svc${pad}@1passwordserviceaccounts.lcl`, secretKey: 'A3-C4ZJMN-PQTZTL-HGL84-G64M7-KVZRN-4ZVP6', signInAddress: 'my.1password.com' }));
    if (token.endsWith('fQ')) return token;
  }
}

/** One text per rule that the rule reports. */
const SAMPLES: Record<string, string> = {
  '@secretlint/secretlint-rule-aws': `aws_secret_access_key = "${fill(40)}"`,
  '@secretlint/secretlint-rule-privatekey': `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA${fill(64)}\n${fill(64)}\n-----END RSA PRIVATE KEY-----`,
  '@secretlint/secretlint-rule-npm': `token npm_${fill(36)}`,
  '@secretlint/secretlint-rule-basicauth': 'clone https://deploy-bot:Zx9kQ2mP7vL4wR8t@git.example.com/repo',
  '@secretlint/secretlint-rule-slack': `xoxb-123456789012-1234567890123-${fill(24)}`,
  '@secretlint/secretlint-rule-sendgrid': `SG.${fill(22)}.${fill(43)}`,
  '@secretlint/secretlint-rule-shopify': `shpat_${hex(32)}`,
  '@secretlint/secretlint-rule-stripe': `sk_live_${fill(24)}`,
  '@secretlint/secretlint-rule-github': `ghp_${fill(36)}`,
  '@secretlint/secretlint-rule-gitlab': `glpat-${fill(20)}`,
  '@secretlint/secretlint-rule-grafana': `glsa_${fill(32)}_${hex(8)}`,
  '@secretlint/secretlint-rule-openai': `sk-proj-${fill(74)}T3BlbkFJ${fill(74)}`,
  '@secretlint/secretlint-rule-anthropic': `sk-ant-api03-${fill(93)}AA`,
  '@secretlint/secretlint-rule-groq': `gsk_${fill(52)}`,
  '@secretlint/secretlint-rule-huggingface': `hf_${fill(34, 'abcdefghijKLMNOPQRstuvwxyz')}`,
  '@secretlint/secretlint-rule-linear': `lin_api_${fill(40)}`,
  '@secretlint/secretlint-rule-notion': `ntn_12345678901${fill(35)}`,
  '@secretlint/secretlint-rule-1password': `ops_${onePasswordToken()}`,
  '@secretlint/secretlint-rule-database-connection-string': 'DATABASE_URL=postgres://app:S3cretPassw0rd@db.internal:5432/app',
  '@secretlint/secretlint-rule-hashicorp-vault': `hvs.${fill(95)}`,
  '@secretlint/secretlint-rule-vercel': `vcp_${fill(30)}`,
  '@secretlint/secretlint-rule-databricks': `dapi${hex(32)}`,
  '@secretlint/secretlint-rule-docker': `dckr_pat_${fill(27)}`,
  '@secretlint/secretlint-rule-figma': `figd_${fill(45)}`,
  '@secretlint/secretlint-rule-cloudflare': `cfut_${fill(40)}${hex(8)}`,
  '@secretlint/secretlint-rule-tailscale': `tskey-api-${fill(12)}-${fill(24)}`,
};

describe('the preset behind redaction', () => {
  it('has, for every rule, an anchor and a sample, or a reason not to run it', async () => {
    const RULE_IDS = await presetRuleIds();
    const covered = RULE_IDS.filter((id) => NOT_RUN.has(id) || (ANCHORS[id] && SAMPLES[id]));
    expect(covered).toEqual(RULE_IDS);
    expect(Object.keys(ANCHORS).sort()).toEqual(RULE_IDS.filter((id) => !NOT_RUN.has(id)).sort());
  });

  it.each(Object.entries(SAMPLES))('%s: reports its sample, and its anchor lets the sample through', async (id, sample) => {
    expect(anchorHolds(ANCHORS[id]!, sample, sample.toLowerCase())).toBe(true);
    expect(mayHoldPresetFinding(`note: ${sample} (pasted by a customer)`)).toBe(true);
    const ranges = await presetFindings(`note: ${sample} (pasted by a customer)`);
    expect(ranges.length).toBeGreaterThan(0);
  });

  it('widens each finding to the whole run it touches: no piece of the secret survives', async () => {
    // The AWS rule's own range starts at the label and is only as long as the key.
    const text = `aws_secret_access_key = "${fill(40)}" and more`;
    expect(await presetFindings(text)).toEqual([[0, text.indexOf(' and')]]);
  });

  it('cannot be switched off by the text it scans (secretlint-disable comments are not honoured)', async () => {
    const text = `// secretlint-disable\nghp_${fill(36)}\n<!-- secretlint-disable -->`;
    expect((await presetFindings(text)).length).toBe(1);
  });

  it.each([
    ['an id', 'cus_Northwind001'],
    ['a date', '2026-11-30T10:00:00Z'],
    ['prose', 'Customer confirmed the fix. Closing on Friday.'],
    ['a UUID', '123e4567-e89b-12d3-a456-426614174000'],
    ['a URL without credentials', 'https://status.example.com/incidents/42'],
    ['a database URL without a password', 'postgres://reporting@db.internal/app'],
  ])('lets %s pass without a scan', (_name, text) => {
    expect(mayHoldPresetFinding(text)).toBe(false);
  });
});
