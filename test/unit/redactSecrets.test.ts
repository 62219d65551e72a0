import { describe, expect, it } from 'vitest';
import { profile } from '../../src/generated/tools.ts';
import { createRedactor, redactSecrets, redactString } from '../../src/tools/redactSecrets.ts';

describe('redactString', () => {
  it.each([
    ['a JWT', 'token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl here'],
    ['a Stripe key', 'use sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['a GitHub token', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['an AWS key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['a bearer header', 'Authorization: Bearer abcdefghijklmnopqrstuvwx'],
    ['a private key', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----'],
  ])('removes %s', (_name, text) => {
    const { text: out, redactions } = redactString(text);
    expect(redactions).toBeGreaterThan(0);
    expect(out).toContain('[REDACTED]');
    // Nothing of the secret survives: no run of 8+ token characters that was in the input.
    for (const run of text.match(/[A-Za-z0-9_+/=.-]{8,}/g) ?? []) {
      if (!/^(Authorization|PRIVATE)$/.test(run)) expect(out).not.toContain(run);
    }
    expect(out).not.toContain('MIIB');
  });

  it('keeps the punctuation that follows a labelled secret', () => {
    expect(redactString('(use password: hunter22).').text).toBe('(use password: [REDACTED]).');
  });

  it('keeps the label of password=value pairs', () => {
    expect(redactString('login with password=hunter22 please').text).toBe('login with password=[REDACTED] please');
  });

  it.each([
    ['a draft filename', 'q3-pricing-update.md'],
    ['a customer id', 'cus_A1b2C3d4E5f6'],
    ['a cursor', 'eyJvZmZzZXQiOjIwfQ'],
    ['prose', 'The password reset flow is broken for SSO users.'],
  ])('leaves %s alone', (_name, text) => {
    expect(redactString(text)).toEqual({ text, redactions: 0 });
  });
});

describe('redactSecrets', () => {
  it('walks objects and arrays and counts', () => {
    const { value, redactions } = redactSecrets({ notes: ['ok', 'key sk_test_4eC39HqLyjWDarjtT1zdp7dc'], n: 3 });
    expect(value).toEqual({ notes: ['ok', 'key [REDACTED]'], n: 3 });
    expect(redactions).toBe(1);
  });
});

describe('createRedactor: the backend\'s own key formats from the server profile', () => {
  it('redacts the committed manifest\'s Acme keys; the built-in redactor does not know them', () => {
    const text = 'my key is acme_live_9f8e7d6c5b4a3210ffee, and sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    expect(createRedactor(profile.secretPatterns).redactString(text)).toEqual({ text: 'my key is [REDACTED], and [REDACTED]', redactions: 2 });
    expect(redactString(text)).toEqual({ text: 'my key is acme_live_9f8e7d6c5b4a3210ffee, and [REDACTED]', redactions: 1 });
  });

  it('adds another manifest\'s pattern to the built-in vendor formats', () => {
    const redactor = createRedactor(['\\bwk_(?:live|test)_[A-Za-z0-9]{12,}\\b']);
    const { value, redactions } = redactor.redactSecrets({ note: 'wk_live_ABCDEF123456xyz and ghp_abcdefghijklmnopqrstuvwxyz0123456789', id: 'wk_other' });
    expect(value).toEqual({ note: '[REDACTED] and [REDACTED]', id: 'wk_other' });
    expect(redactions).toBe(2);
  });

  it('never turns an empty match into a redaction', () => {
    expect(createRedactor(['(?:wk_[a-z]{8})?']).redactString('plain text')).toEqual({ text: 'plain text', redactions: 0 });
  });
});
