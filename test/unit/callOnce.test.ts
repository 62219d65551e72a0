/**
 * Work a call used to repeat, now done once (src/README.md D46), gives the same answers as
 * before: the shortcut in unsafePathValue, buildRequest's per-binding facts, the JSON text
 * fitToBytes hands to presentResult, trace ids from a random pool, and remembered quota keys.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BackendError, buildRequest, parseBaseUrl, unsafePathValue, type OperationBinding } from '../../src/backend/index.ts';
import { fitToBytes } from '../../src/tools/fitOutput.ts';
import { newTrace, randomHex } from '../../src/tools/traceIds.ts';
import { quotaKeyOf } from '../../src/tools/userQuotas.ts';
import { getDraftBinding } from '../helpers/bindings.ts';

/** unsafePathValue as it was, every form computed for every value. */
function reference(value: string): string | null {
  if (value.length === 0) return 'is empty';
  let decoded = value;
  for (let i = 0; i < 4 && decoded.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      break;
    }
    if (next === decoded) break;
    decoded = next;
  }
  for (const form of new Set([value, decoded, value.normalize('NFKC'), decoded.normalize('NFKC')])) {
    if (form === '.' || form === '..' || form.trim() === '') return 'is a dot segment or blank';
    if (form.includes('/') || form.includes('\\')) return 'contains a path separator';
    if (form.includes('..')) return "contains '..'";
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(form)) return 'contains a control character';
  }
  return null;
}

describe('unsafePathValue', () => {
  it('answers as checking every form did, for any text', () => {
    const pieces = fc.constantFrom('.', '/', '\\', '%', '%2e', '%2F', '%252e', '．', '／', 'a', '-', ' ', '\t', '\u0000', '\u007f', '%zz', 'é', 'ﬁ');
    const text = fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), fc.string({ maxLength: 12 }), fc.array(pieces, { maxLength: 6 }).map((p) => p.join('')));
    fc.assert(
      fc.property(text, (value) => {
        expect(unsafePathValue(value)).toBe(reference(value));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('buildRequest per-binding facts', () => {
  const binding: OperationBinding = { ...getDraftBinding, path: '//evil.example/drafts/{filename}' };

  it('refuses a bad template on every call, not only the first', () => {
    const target = parseBaseUrl('http://127.0.0.1:4010');
    for (let i = 0; i < 3; i++) {
      expect(() => buildRequest(target, binding, { filename: 'a.md' })).toThrow(BackendError);
    }
  });

  it('checks one binding again for another backend origin and after its path changed', () => {
    const good: OperationBinding = { ...getDraftBinding };
    const a = parseBaseUrl('http://127.0.0.1:4010');
    const b = parseBaseUrl('https://admin.example.com/api');
    expect(buildRequest(a, good, { filename: 'a.md' }).path).toBe('/drafts/a.md');
    expect(buildRequest(b, good, { filename: 'a.md' }).path).toBe('/api/drafts/a.md');
    const changed = good as { path: string };
    changed.path = 'http://evil.example/x';
    expect(() => buildRequest(b, good, { filename: 'a.md' })).toThrow(BackendError);
  });

  it('keeps credential places per binding: an argument may not name a credential header', () => {
    const keyed: OperationBinding = {
      ...getDraftBinding,
      args: [...getDraftBinding.args, { arg: 'key', in: 'header', name: 'X-Api-Key' }],
      credentials: [{ scheme: 'apiKey', kind: 'header', name: 'X-Api-Key', scopes: [] }],
    };
    const target = parseBaseUrl('http://127.0.0.1:4010');
    for (let i = 0; i < 2; i++) expect(() => buildRequest(target, keyed, { filename: 'a.md', key: 'x' })).toThrow(/may not be set/);
  });
});

describe('fitToBytes json', () => {
  it('is the JSON of the value it returns, whether it fit, lost list items or had strings cut', () => {
    const small = { a: 1, b: ['x'] };
    const list = { items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `customer ${i}` })) };
    const long = { note: 'n'.repeat(5000), items: [{ text: 't'.repeat(3000) }] };
    for (const [value, max] of [
      [small, 1000],
      [list, 400],
      [long, 600],
    ] as const) {
      const fitted = fitToBytes(value, max);
      expect(fitted.json).toBe(JSON.stringify(fitted.value));
      expect(fitted.bytes).toBe(Buffer.byteLength(fitted.json));
    }
  });
});

describe('trace ids', () => {
  it('are fresh lower-case hex of the asked length, across refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const { traceId, traceparent } = newTrace();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      seen.add(traceId);
    }
    expect(seen.size).toBe(1000);
    expect(randomHex(5)).toMatch(/^[0-9a-f]{10}$/);
  });
});

describe('quota keys', () => {
  it('are the hash of who the user is, remembered or not, past the memo bound', () => {
    const hash = (who: string) => createHash('sha256').update(who).digest('base64url').slice(0, 32);
    for (let i = 0; i < 12_000; i++) {
      const caller = { subject: `user-${i}`, clientId: `client-${i % 2}`, tenant: i % 5 === 0 ? 'acme' : null };
      const user = `${caller.subject}\n${caller.clientId}`;
      // Twice: the first answer is computed, the second remembered.
      for (let twice = 0; twice < 2; twice++) expect(quotaKeyOf(caller, 'subject')).toBe(hash(caller.tenant === null ? caller.subject : `acme\u0000${caller.subject}`));
      expect(quotaKeyOf(caller, 'subject,client')).toBe(hash(caller.tenant === null ? user : `acme\u0000${user}`));
    }
  });
});
