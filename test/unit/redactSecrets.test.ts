import { describe, expect, it } from 'vitest';
import { profile } from '../../src/generated/tools.ts';
import { createRedactor, redactSecrets, redactString } from '../../src/tools/redactSecrets.ts';
import { luhnValid } from '../../src/tools/secretRules.ts';

const fill = (n: number, alphabet = 'aB3dE5fG7hJ9kLmN2pQ4rS6tU8vWxYz') => Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');

describe('redactString: the secrets the red team tried, and more', () => {
  // The red team's list — cloud secret keys, LLM API keys (`sk-proj-…`), database URLs with a
  // password, `Authorization: Basic …`, full card numbers, "my password is …" — plus the formats
  // around them. Rows marked "preset only" are found by secretlint's preset and none of Deputy's rules.
  it.each([
    // [name, text, the secret that must not survive]
    ['a JWT', 'token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl here', 'eyJhbGciOiJFUzI1NiJ9'],
    ['a Stripe key', 'use sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['a GitHub token', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['an AWS secret access key', `aws_secret_access_key = ${fill(40)}`, fill(40)],
    ['an AWS secret access key in JSON', `{"SecretAccessKey": "${fill(40)}"}`, fill(40)],
    ['an Azure storage key', `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${fill(86)}==;EndpointSuffix=core.windows.net`, fill(86)],
    ['a Google API key', `key=AIza${fill(35)}`, `AIza${fill(35)}`],
    ['a GCP service-account private key', `{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"}`, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'],
    ['an OpenAI project key', `OPENAI_API_KEY sk-proj-${fill(48)}`, `sk-proj-${fill(48)}`],
    ['an OpenAI key in its current form', `sk-proj-${fill(74)}T3BlbkFJ${fill(74)}`, 'T3BlbkFJ'],
    ['an Anthropic key', `here: sk-ant-api03-${fill(93)}AA`, fill(93)],
    ['a legacy OpenAI key', `sk-${fill(48)}`, fill(48)],
    ['a PostgreSQL URL with a password', 'db: postgres://app:S3cretPassw0rd@db.internal:5432/app', 'S3cretPassw0rd'],
    ['a MySQL URL with a password', 'mysql://root:hunter2hunter2@10.0.0.5/shop', 'hunter2hunter2'],
    ['a Redis URL with only a password', 'redis://:r3dis-Pa55@cache:6379/0', 'r3dis-Pa55'],
    ['an AMQP URL with credentials', 'amqps://worker:Qx7!p@broker.example/vhost', 'Qx7!p'],
    ['a Basic authorization header', 'Authorization: Basic dXNlcjpjb3JyZWN0LWhvcnNlLWJhdHRlcnk=', 'dXNlcjpjb3JyZWN0LWhvcnNlLWJhdHRlcnk'],
    ['Basic credentials in prose', 'try curl with basic YWRtaW46czNjcjN0 against it', 'YWRtaW46czNjcjN0'],
    ['a Bearer header', 'Authorization: Bearer abcdefghijklmnopqrstuvwx', 'abcdefghijklmnopqrstuvwx'],
    ['a PEM private key', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----', 'MIIB'],
    ['an OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAA'],
    ['a private key cut before its END line', 'see -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk\n(truncated)', 'MHcCAQEEIBkg4LVWM9nuwNSk'],
    ['a JWT in a cookie', 'Cookie: sid=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl; Path=/', 'eyJzdWIiOiJhbGljZSJ9'],
    ['a bare token in an Authorization header', 'Authorization: 9f8e7d6c5b4a3210ffee0011', '9f8e7d6c5b4a3210ffee0011'],
    ['a Visa number', 'card 4111 1111 1111 1111 exp 12/29', '4111 1111 1111 1111'],
    ['a Mastercard number with dashes', 'paid with 5555-5555-5555-4444', '5555-5555-5555-4444'],
    ['an Amex number', 'amex 378282246310005', '378282246310005'],
    ['a card number as one string', '4242424242424242', '4242424242424242'],
    ['"my password is …"', 'Hi, my password is hunter2! Please reset it.', 'hunter2'],
    ['"the password for … was …"', 'The password for the VPN was Tr0ub4dor&3, sorry', 'Tr0ub4dor&3'],
    ['a quoted spoken password', 'my passphrase is "correct horse battery staple"', 'correct horse battery staple'],
    ['a labelled password', 'login with password=hunter22 please', 'hunter22'],
    ['a client secret in JSON', '{"client_secret": "s3cr3t-v4lue-xyz"}', 's3cr3t-v4lue-xyz'],
    ['a Slack token', 'xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx', 'abcdefghijklmnopqrstuvwx'],
    ['a SendGrid key (preset only)', `SG.${fill(22)}.${fill(43)}`, fill(43)],
    ['a HashiCorp Vault token (preset only)', `VAULT_TOKEN hvs.${fill(95)}`, fill(95)],
  ])('removes %s', async (_name, text, secret) => {
    const { text: out, redactions } = await redactString(text);
    expect(redactions).toBeGreaterThan(0);
    expect(out).toContain('[REDACTED]');
    expect(out).not.toContain(secret);
  });

  it.each([
    ['a draft filename', 'q3-pricing-update.md'],
    ['a customer id', 'cus_A1b2C3d4E5f6'],
    ['a ticket id', 'tkt_100001'],
    ['a cursor', 'eyJvZmZzZXQiOjIwfQ'],
    ['a date', '2026-11-30'],
    ['a timestamp', '2026-11-30T10:00:00.000Z'],
    ['a timestamp in milliseconds', '1764496800000'],
    ['a UUID', '123e4567-e89b-12d3-a456-426614174000'],
    ['a 16-digit number failing the Luhn check', '4111111111111112'],
    ['a Luhn-valid number of no card scheme', '1234567812345670'],
    ['an order number', 'ORD-2026-000123456789'],
    ['a phone number', '+1 415 555 0100'],
    ['prose about passwords', 'The password reset flow is broken for SSO users.'],
    ['prose: "the password is required"', 'The password is required for admin accounts.'],
    ['prose: "basic" as a word', 'Basic troubleshooting: restart the service first.'],
    ['prose: "authorization"', 'Authorization: approved by the finance team'],
    ['a URL without credentials', 'https://status.example.com/incidents/42?ref=mail'],
    ['a URL with a port', 'http://localhost:8080/health'],
    ['an email address', 'ops@northwind.example'],
    ['a database URL without a password', 'postgres://reporting@db.internal/app'],
  ])('leaves %s alone', async (_name, text) => {
    expect(await redactString(text)).toEqual({ text, redactions: 0 });
  });

  it('keeps the label and the punctuation around a labelled secret', async () => {
    expect((await redactString('(use password: hunter22).')).text).toBe('(use password: [REDACTED]).');
    expect((await redactString('my password is hunter2!')).text).toBe('my password is [REDACTED]!');
  });

  it('keeps the rest of a URL whose password it removes', async () => {
    expect((await redactString('cache at redis://:r3dis-Pa55@cache:6379/0')).text).toBe('cache at redis://:[REDACTED]@cache:6379/0');
  });

  it('redacts each of two private keys from its BEGIN line to its own END line, and the text between stays', async () => {
    const key = (body: string) => `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    expect((await redactString(`old ${key('MIIBOgIBAAJBAKj34GkxFhD9')} new ${key('MIIBOwIBAAJBAMnF5Q2q8pLk')} done`)).text).toBe('old [REDACTED] new [REDACTED] done');
  });

  it('counts overlapping findings of several rules as one redaction', async () => {
    expect(await redactString('Authorization: Bearer abcdefghijklmnopqrstuvwx')).toEqual({ text: 'Authorization: [REDACTED]', redactions: 1 });
  });
});

describe('luhnValid', () => {
  it.each([
    ['4111111111111111', true],
    ['79927398713', true],
    ['4111111111111112', false],
    ['0', true],
  ])('%s → %s', (digits, valid) => {
    expect(luhnValid(digits)).toBe(valid);
  });
});

describe('redactSecrets', () => {
  it('walks objects and arrays and counts', async () => {
    const { value, redactions } = await redactSecrets({ notes: ['ok', 'key sk_test_4eC39HqLyjWDarjtT1zdp7dc', `vault hvs.${fill(95)}`], n: 3, nested: { url: 'postgres://a:b4dpass@h/db' } });
    expect(value).toEqual({ notes: ['ok', 'key [REDACTED]', 'vault [REDACTED]'], n: 3, nested: { url: '[REDACTED]' } });
    expect(redactions).toBe(3);
  });
});

describe('redactSecrets on hostile keys', () => {
  it('keeps a `__proto__` key a key of the result', async () => {
    const { value } = await redactSecrets(JSON.parse('{"__proto__": {"note": "password=hunter22"}, "id": "x"}'));
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.entries(value as object)).toEqual([['__proto__', { note: 'password=[REDACTED]' }], ['id', 'x']]);
  });
});

describe('createRedactor: the backend\'s own key formats from the server profile', () => {
  it('redacts the committed manifest\'s Acme keys; the built-in redactor does not know them', async () => {
    const text = 'my key is acme_live_9f8e7d6c5b4a3210ffee, and sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    expect(await createRedactor(profile.secretPatterns).redactString(text)).toEqual({ text: 'my key is [REDACTED], and [REDACTED]', redactions: 2 });
    expect(await redactString(text)).toEqual({ text: 'my key is acme_live_9f8e7d6c5b4a3210ffee, and [REDACTED]', redactions: 1 });
  });

  it('adds another manifest\'s pattern to the built-in vendor formats', async () => {
    const redactor = createRedactor(['\\bwk_(?:live|test)_[A-Za-z0-9]{12,}\\b']);
    const { value, redactions } = await redactor.redactSecrets({ note: 'wk_live_ABCDEF123456xyz and ghp_abcdefghijklmnopqrstuvwxyz0123456789', id: 'wk_other' });
    expect(value).toEqual({ note: '[REDACTED] and [REDACTED]', id: 'wk_other' });
    expect(redactions).toBe(2);
  });

  it('never turns an empty match into a redaction', async () => {
    expect(await createRedactor(['(?:wk_[a-z]{8})?']).redactString('plain text')).toEqual({ text: 'plain text', redactions: 0 });
  });
});
