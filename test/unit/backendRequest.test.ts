/** buildRequest: binding + arguments → request line, headers and body, and what it refuses. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendError, buildRequest, parseBaseUrl, unsafePathValue, type OperationBinding } from '../../src/backend/index.ts';
import { getDraftBinding } from '../helpers/bindings.ts';

const target = parseBaseUrl('http://127.0.0.1:4010');

const getDraft = getDraftBinding;

const listDrafts: OperationBinding = {
  operationId: 'listDrafts',
  method: 'GET',
  path: '/drafts',
  args: [
    { arg: 'status', in: 'query', name: 'status' },
    { arg: 'author', in: 'query', name: 'author' },
    { arg: 'limit', in: 'query', name: 'limit' },
    { arg: 'tags', in: 'query', name: 'tag' },
  ],
  fixed: [],
  body: null,
  successStatuses: [200],
  idempotencyKeyHeader: null,
  credentials: [],
};

function refusal(fn: () => unknown): BackendError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BackendError);
    return err as BackendError;
  }
  throw new Error('expected a refusal');
}

describe('path parameters', () => {
  const cases: [string, string, string][] = [
    ['plain', 'q3-pricing-update.md', '/drafts/q3-pricing-update.md'],
    ['space and reserved characters are encoded', 'a b?c#d&e=f.md', '/drafts/a%20b%3Fc%23d%26e%3Df.md'],
    ['percent is encoded, not interpreted', '100%.md', '/drafts/100%25.md'],
    ['unicode is UTF-8 percent-encoded', 'café.md', '/drafts/caf%C3%A9.md'],
    ['a single dot inside a name is fine', 'v1.2.md', '/drafts/v1.2.md'],
  ];
  it.each(cases)('%s', (_name, value, path) => {
    expect(buildRequest(target, getDraft, { filename: value }).path).toBe(path);
  });

  it('accepts numbers', () => {
    expect(buildRequest(target, { ...getDraft, path: '/posts/{id}', args: [{ arg: 'id', in: 'path', name: 'id' }] }, { id: 42 }).path).toBe('/posts/42');
  });

  const traversals: [string, string][] = [
    ['empty', ''],
    ['blank', '   '],
    ['dot', '.'],
    ['dot dot', '..'],
    ['parent traversal', '../etc/passwd'],
    ['slash', 'a/b'],
    ['backslash', 'a\\b'],
    ['backslash traversal', '..\\..\\x'],
    ['dots inside', 'a..b'],
    ['encoded dot dot', '%2e%2e'],
    ['encoded dot dot upper', '%2E%2E'],
    ['half encoded', '.%2e'],
    ['encoded slash', 'a%2Fb'],
    ['encoded slash lower', 'a%2fb'],
    ['encoded backslash', 'a%5cb'],
    ['double encoded dot dot', '%252e%252e'],
    ['double encoded slash', 'a%252Fb'],
    ['fullwidth dots (NFKC ..)', '\uff0e\uff0e'],
    ['fullwidth solidus (NFKC /)', 'a\uff0fb'],
    ['one dot leader pair (NFKC ..)', '\u2025'],
    ['NUL', 'a\u0000b.md'],
    ['newline', 'a\nb.md'],
  ];
  it.each(traversals)('refuses %s', (_name, value) => {
    const err = refusal(() => buildRequest(target, getDraft, { filename: value }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.argument).toBe('filename');
    expect(err.message).not.toContain(value.length > 2 ? value : '\u0000never');
  });

  it('refuses a missing or null path argument', () => {
    expect(refusal(() => buildRequest(target, getDraft, {})).code).toBe('INVALID_ARGUMENT');
    expect(refusal(() => buildRequest(target, getDraft, { filename: null })).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses objects and arrays in the path', () => {
    expect(refusal(() => buildRequest(target, getDraft, { filename: { a: 1 } })).code).toBe('INVALID_ARGUMENT');
    expect(refusal(() => buildRequest(target, getDraft, { filename: ['a', 'b'] })).code).toBe('INVALID_ARGUMENT');
  });

  it('property: whatever the value, the request path is /drafts/<one segment> or refused', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('..', '%2e%2e', '%2F', '.', '/')), (value) => {
        let path: string;
        try {
          path = buildRequest(target, getDraft, { filename: value }).path;
        } catch (err) {
          expect((err as BackendError).code).toBe('INVALID_ARGUMENT');
          return;
        }
        const segment = path.slice('/drafts/'.length);
        expect(path.startsWith('/drafts/')).toBe(true);
        expect(segment).not.toMatch(/[/\\]/);
        const decoded = decodeURIComponent(segment);
        expect(decoded).toBe(value);
        expect(decoded).not.toContain('..');
        expect(decoded.normalize('NFKC')).not.toMatch(/[/\\]|\.\./);
      }),
      { numRuns: 2000 },
    );
  });

  it('unsafePathValue names the reason without echoing the value', () => {
    expect(unsafePathValue('ok.md')).toBeNull();
    expect(unsafePathValue('%2e%2e')).toMatch(/dot segment|'\.\.'/);
  });
});

describe('query, headers, body, fixed values', () => {
  it('builds the query with URLSearchParams, repeats arrays and omits undefined and null', () => {
    const built = buildRequest(target, listDrafts, { status: 'in_review', author: undefined, limit: 5, tags: ['a b', 'c&d'] });
    expect(built.path).toBe('/drafts?status=in_review&limit=5&tag=a+b&tag=c%26d');
    expect(buildRequest(target, listDrafts, { author: null }).path).toBe('/drafts');
  });

  it('cannot inject query parameters through a value', () => {
    const built = buildRequest(target, listDrafts, { author: 'x&status=published#frag' });
    const params = new URLSearchParams(built.path.split('?')[1]);
    expect([...params.keys()]).toEqual(['author']);
    expect(params.get('author')).toBe('x&status=published#frag');
  });

  it('ignores arguments the binding does not name', () => {
    expect(buildRequest(target, listDrafts, { evil: '1', status: 'draft' }).path).toBe('/drafts?status=draft');
  });

  it('merges fixed values, which win over arguments', () => {
    const binding: OperationBinding = {
      ...listDrafts,
      fixed: [
        { in: 'query', name: 'status', value: 'published' },
        { in: 'query', name: 'limit', value: 10 },
      ],
    };
    expect(buildRequest(target, binding, { status: 'draft' }).path).toBe('/drafts?status=published&limit=10');
  });

  it('builds a JSON body from body arguments and fixed body values', () => {
    const publish: OperationBinding = {
      operationId: 'publishDraft',
      method: 'POST',
      path: '/drafts/{filename}/publish',
      args: [
        { arg: 'filename', in: 'path', name: 'filename' },
        { arg: 'notify', in: 'body', name: 'notifySubscribers' },
      ],
      fixed: [{ in: 'body', name: 'channel', value: 'web' }],
      body: { contentType: 'application/json', required: false },
      successStatuses: [200],
      idempotencyKeyHeader: 'Idempotency-Key',
      credentials: [],
    };
    const built = buildRequest(target, publish, { filename: 'a.md', notify: false });
    expect(built).toMatchObject({ method: 'POST', path: '/drafts/a.md/publish', contentType: 'application/json' });
    expect(JSON.parse(built.body!)).toEqual({ notifySubscribers: false, channel: 'web' });
    // optional body, nothing set (fixed values aside) → still sent because a fixed value exists
    expect(JSON.parse(buildRequest(target, publish, { filename: 'a.md' }).body!)).toEqual({ channel: 'web' });
    // optional body and nothing at all → no body
    expect(buildRequest(target, { ...publish, fixed: [] }, { filename: 'a.md' }).body).toBeNull();
    // required body and nothing set → {}
    expect(buildRequest(target, { ...publish, fixed: [], body: { contentType: 'application/json', required: true } }, { filename: 'a.md' }).body).toBe('{}');
  });

  it('sends an unset argument only when the binding carries a manifest default', () => {
    const binding: OperationBinding = { ...listDrafts, args: [{ arg: 'limit', in: 'query', name: 'limit', default: 10 }, { arg: 'status', in: 'query', name: 'status' }] };
    expect(buildRequest(target, binding, {}).path).toBe('/drafts?limit=10');
    expect(buildRequest(target, binding, { limit: 3 }).path).toBe('/drafts?limit=3');
    expect(buildRequest(target, listDrafts, {}).path).toBe('/drafts');
  });

  it('sends fixed objects and arrays as JSON body values', () => {
    const binding: OperationBinding = {
      operationId: 'createRecord',
      method: 'POST',
      path: '/records',
      args: [{ arg: 'item', in: 'body', name: 'item' }],
      fixed: [
        { in: 'body', name: 'access', value: { level: 'read', teams: ['ops'] } },
        { in: 'body', name: 'tags', value: ['agent'] },
      ],
      body: { contentType: 'application/json', required: true },
      successStatuses: [201],
      idempotencyKeyHeader: null,
      credentials: [],
    };
    expect(JSON.parse(buildRequest(target, binding, { item: { id: 'r1' } }).body!)).toEqual({ item: { id: 'r1' }, access: { level: 'read', teams: ['ops'] }, tags: ['agent'] });
  });

  it('fills a body template: whole values keep their type, text in a string stays text, defaults fill gaps', () => {
    const binding: OperationBinding = {
      operationId: 'patchFlag',
      method: 'PATCH',
      path: '/flags/{flagKey}',
      args: [
        { arg: 'flagKey', in: 'path', name: 'flagKey' },
        { arg: 'env', in: 'body', name: 'env' },
        { arg: 'on', in: 'body', name: 'on', default: true },
        { arg: 'note', in: 'body', name: 'note' },
      ],
      fixed: [],
      body: { contentType: 'application/json', required: true, template: [{ op: 'replace', path: '/environments/{env}/on', value: '{on}' }, { op: 'add', path: '/notes/-', value: { text: '{note}', by: 'agent {env}' } }] },
      successStatuses: [200],
      idempotencyKeyHeader: null,
      credentials: [],
    };
    const built = buildRequest(target, binding, { flagKey: 'checkout', env: 'prod', note: '"}, {"op": "remove' });
    expect(built).toMatchObject({ method: 'PATCH', path: '/flags/checkout', contentType: 'application/json' });
    expect(JSON.parse(built.body!)).toEqual([
      { op: 'replace', path: '/environments/prod/on', value: true },
      { op: 'add', path: '/notes/-', value: { text: '"}, {"op": "remove', by: 'agent prod' } },
    ]);
    expect(JSON.parse(buildRequest(target, binding, { flagKey: 'checkout', env: 'dev', on: false, note: 'x' }).body!)[0].value).toBe(false);
    // In a path-like string a value is one segment, even if a pattern had let more through.
    for (const env of ['a/b', '..', 'x~1y', '%2e%2e']) {
      expect(refusal(() => buildRequest(target, binding, { flagKey: 'checkout', env, note: 'x' })).code).toBe('INVALID_ARGUMENT');
    }
    // A placeholder with no argument and no default is refused, never sent as literal text.
    expect(refusal(() => buildRequest(target, binding, { flagKey: 'checkout', note: 'x' })).code).toBe('INVALID_ARGUMENT');
  });

  it('builds a form body', () => {
    const binding: OperationBinding = {
      operationId: 'addTicketNote',
      method: 'POST',
      path: '/tickets/{id}/notes',
      args: [
        { arg: 'id', in: 'path', name: 'id' },
        { arg: 'text', in: 'body', name: 'text' },
        { arg: 'labels', in: 'body', name: 'label' },
      ],
      fixed: [{ in: 'body', name: 'internal', value: true }],
      body: { contentType: 'application/x-www-form-urlencoded', required: true },
      successStatuses: [201],
      idempotencyKeyHeader: null,
      credentials: [],
    };
    const built = buildRequest(target, binding, { id: 't1', text: 'a&b=c ü', labels: ['x', 'y'] });
    expect(built.contentType).toBe('application/x-www-form-urlencoded');
    expect(built.body).toBe('text=a%26b%3Dc+%C3%BC&label=x&label=y&internal=true');
  });

  it('refuses body arguments for an operation without a body', () => {
    const binding: OperationBinding = { ...listDrafts, args: [{ arg: 'x', in: 'body', name: 'x' }] };
    expect(refusal(() => buildRequest(target, binding, { x: 1 })).code).toBe('INVALID_ARGUMENT');
  });

  it('sets header arguments and refuses control characters and reserved names', () => {
    const binding: OperationBinding = { ...listDrafts, args: [{ arg: 'lang', in: 'header', name: 'Accept-Language' }] };
    expect(buildRequest(target, binding, { lang: 'de-CH' }).headers).toEqual({ 'accept-language': 'de-CH' });
    expect(refusal(() => buildRequest(target, binding, { lang: 'de\r\nAuthorization: Bearer x' })).code).toBe('INVALID_ARGUMENT');
    for (const name of ['Authorization', 'Host', 'Cookie', 'Idempotency-Key', 'traceparent', 'Content-Length']) {
      const reserved: OperationBinding = { ...listDrafts, args: [{ arg: 'h', in: 'header', name }] };
      expect(refusal(() => buildRequest(target, reserved, { h: 'x' })).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('egress allowlist', () => {
  const denied: [string, string][] = [
    ['protocol-relative', '//evil.example/x'],
    ['absolute http', 'http://evil.example/x'],
    ['absolute https same host other port', 'https://127.0.0.1:4010/x'],
    ['relative without slash', 'evil.example/x'],
    ['backslash authority', '/\\evil.example/x'],
    ['dot segments in the template', '/drafts/../admin/sql'],
    ['encoded dot segments in the template', '/drafts/%2e%2e/admin'],
  ];
  it.each(denied)('refuses a binding path that is %s', (_name, path) => {
    const err = refusal(() => buildRequest(target, { ...getDraft, path, args: [] }, {}));
    expect(err.code).toBe('BACKEND_EGRESS_DENIED');
    expect(err.message).not.toContain('evil');
  });

  it('keeps a base path prefix and stays under it', () => {
    const prefixed = parseBaseUrl('https://admin.example.com/api/v2/');
    expect(prefixed).toEqual({ origin: 'https://admin.example.com', basePath: '/api/v2' });
    expect(buildRequest(prefixed, getDraft, { filename: 'a.md' }).path).toBe('/api/v2/drafts/a.md');
    expect(refusal(() => buildRequest(prefixed, { ...getDraft, path: '//evil.example/x', args: [] }, {})).code).toBe('BACKEND_EGRESS_DENIED');
  });

  it('refuses base URLs with credentials, a query or a non-http scheme', () => {
    expect(() => parseBaseUrl('https://user:pw@admin.example.com')).toThrow(/credentials/);
    expect(() => parseBaseUrl('https://admin.example.com/?x=1')).toThrow(/query/);
    expect(() => parseBaseUrl('file:///etc/passwd')).toThrow(/http/);
  });
});
