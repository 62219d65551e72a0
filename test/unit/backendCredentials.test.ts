/**
 * Credentials at run time: where each kind is placed (placeCredentials), that no argument can
 * name a credential's place (buildRequest), the static token file's entry kinds (bearer token,
 * API key, basic pair; per scheme, operation or scopes), OAuth providers refusing what they
 * cannot mint, and the router that puts the token file next to an OAuth provider.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  buildRequest,
  ClientCredentialsProvider,
  CredentialRouter,
  findOverPrivilegedTokens,
  parseBaseUrl,
  placeCredentials,
  StaticTokenProvider,
  type CredentialPlacement,
  type OperationBinding,
  type TokenProvider,
  type TokenRequest,
} from '../../src/backend/index.ts';

const header = (name: string, scheme = 'headerKey'): CredentialPlacement => ({ scheme, kind: 'header', name, scopes: [] });
const query = (name: string, scheme = 'queryKey'): CredentialPlacement => ({ scheme, kind: 'query', name, scopes: [] });
const cookie = (name: string, scheme = 'cookieKey'): CredentialPlacement => ({ scheme, kind: 'cookie', name, scopes: [] });
const bearer: CredentialPlacement = { scheme: 'bearerAuth', kind: 'bearer', name: null, scopes: [] };
const basic: CredentialPlacement = { scheme: 'basicAuth', kind: 'basic', name: null, scopes: [] };

function thrown(fn: () => unknown): BackendError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BackendError);
    return err as BackendError;
  }
  throw new Error('expected a BackendError');
}

describe('placeCredentials', () => {
  const rows: [string, string, CredentialPlacement[], string[], { path: string; headers: Record<string, string> }][] = [
    ['bearer', '/w', [bearer], ['tok_123456'], { path: '/w', headers: { authorization: 'Bearer tok_123456' } }],
    ['basic (value already base64)', '/w', [basic], ['dXNlcjpwYXNz'], { path: '/w', headers: { authorization: 'Basic dXNlcjpwYXNz' } }],
    ['header API key, lower-cased name', '/w', [header('X-API-Key')], ['hk_1'], { path: '/w', headers: { 'x-api-key': 'hk_1' } }],
    ['query API key on a path without a query', '/w', [query('api_key')], ['qk_1'], { path: '/w?api_key=qk_1', headers: {} }],
    ['query API key after the model\'s query', '/w?limit=5&q=a+b', [query('api_key')], ['qk 1/&'], { path: '/w?limit=5&q=a+b&api_key=qk+1%2F%26', headers: {} }],
    ['query API key replaces a parameter of its name', '/w?api_key=model&x=1', [query('api_key')], ['qk_1'], { path: '/w?api_key=qk_1&x=1', headers: {} }],
    ['two cookies in one header', '/w', [cookie('a'), cookie('b', 'other')], ['v1', 'v2'], { path: '/w', headers: { cookie: 'a=v1; b=v2' } }],
    [
      'a combined requirement: every value, each in its place',
      '/w?x=1',
      [query('api_key'), bearer, header('X-Tenant-Key', 'tenant')],
      ['qk_1', 'bt_1', 'tk_1'],
      { path: '/w?x=1&api_key=qk_1', headers: { authorization: 'Bearer bt_1', 'x-tenant-key': 'tk_1' } },
    ],
    ['no credentials: nothing changes', '/w?x=1', [], [], { path: '/w?x=1', headers: {} }],
  ];
  it.each(rows)('%s', (_name, path, credentials, values, want) => {
    expect(placeCredentials('op', path, credentials, values)).toEqual(want);
  });

  it.each([
    ['a cookie value with a semicolon', [cookie('s')], ['a;b=c'], /cannot be sent as a cookie value/],
    ['a header value with a line break', [header('X-Key')], ['a\r\nX-Evil: 1'], /contains a control character/],
    ['an empty value', [bearer], [''], /is empty/],
  ] as const)('refuses %s without quoting it', (_name, credentials, values, why) => {
    const err = thrown(() => placeCredentials('op', '/w', credentials, values));
    expect(err.code).toBe('BACKEND_TOKEN_UNAVAILABLE');
    expect(err.message).toMatch(why);
    if (values[0] !== '') expect(`${err.message} ${JSON.stringify(err)}`).not.toContain(values[0]);
  });
});

describe('buildRequest: no argument may name a credential\'s place', () => {
  const target = parseBaseUrl('https://api.example');
  const binding: OperationBinding = {
    operationId: 'getReport',
    method: 'GET',
    path: '/reports',
    args: [
      { arg: 'month', in: 'query', name: 'month' },
      { arg: 'token', in: 'query', name: 'token' },
      { arg: 'key', in: 'header', name: 'X-API-Key' },
    ],
    fixed: [],
    body: null,
    successStatuses: [200],
    idempotencyKeyHeader: null,
    credentials: [query('token', 'reportsQueryToken'), header('x-api-key')],
  };
  it('allows the other arguments', () => {
    expect(buildRequest(target, binding, { month: '2026-11' }).path).toBe('/reports?month=2026-11');
  });
  it.each([
    ['a query parameter', { token: 'model-chosen' }, "query parameter 'token' carries a credential"],
    ['a header, whatever its case', { key: 'model-chosen' }, "header 'x-api-key' may not be set by a tool"],
  ])('refuses %s', (_name, args, message) => {
    const err = thrown(() => buildRequest(target, binding, args));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(message);
  });
});

describe('static token file: entry kinds', () => {
  const env = { BASIC_PW: 'pa ss:wörd', KEY: 'hk_env_1234567' };
  const file = StaticTokenProvider.fromYaml(
    [
      'tokens:',
      '  - {id: header-key, scheme: headerKey, tokenEnv: KEY}',
      '  - {id: basic, scheme: basicAuth, username: bot, passwordEnv: BASIC_PW}',
      '  - {id: basic-op, scheme: basicAuth, operations: ["repos/delete-deploy-key", "get /things#v2"], username: other, password: "p@ss word"}',
      '  - {id: read, scopes: [drafts:read], token: bearer_read_1}',
      '  - {id: oauth-scheme, scheme: oauth, scopes: [drafts:read], token: bearer_scheme_1}',
    ].join('\n'),
    { env },
  );
  const req = (extra: Partial<TokenRequest>): TokenRequest => ({ operationId: 'listThings', scopes: [], ...extra });

  it.each([
    ['an API key by scheme', req({ scheme: 'headerKey', kind: 'header' }), 'hk_env_1234567'],
    ['a basic pair by scheme, as base64 user:password', req({ scheme: 'basicAuth', kind: 'basic' }), Buffer.from('bot:pa ss:wörd').toString('base64')],
    ['a basic pair for an operationId with / and -', req({ operationId: 'repos/delete-deploy-key', scheme: 'basicAuth', kind: 'basic' }), Buffer.from('other:p@ss word').toString('base64')],
    ['a basic pair for an operationId with a space and #', req({ operationId: 'get /things#v2', scheme: 'basicAuth', kind: 'basic' }), Buffer.from('other:p@ss word').toString('base64')],
    ['a bearer token by scopes, with no scheme named (the old format)', req({ scopes: ['drafts:read'] }), 'bearer_read_1'],
    ["a scheme's own entry before an entry without a scheme", req({ scopes: ['drafts:read'], scheme: 'oauth', kind: 'bearer' }), 'bearer_scheme_1'],
    ['an entry without a scheme for any bearer scheme', req({ scopes: ['drafts:read'], scheme: 'openId', kind: 'bearer' }), 'bearer_read_1'],
  ])('serves %s', async (_name, request, value) => {
    expect(await file.getToken(request)).toBe(value);
  });

  it.each([
    ['an API key from an entry without a scheme', req({ scopes: ['drafts:read'], scheme: 'queryKey', kind: 'query' }), 'no entry with `scheme: queryKey` (a query API key)'],
    ['a bearer token from a basic pair', req({ scheme: 'basicAuth', kind: 'bearer' }), "entry 'basic' holds a basic pair, but scheme 'basicAuth' needs a bearer token"],
    ['a basic pair from a token', req({ scheme: 'headerKey', kind: 'basic' }), "entry 'header-key' holds a token, but scheme 'headerKey' needs a basic username/password pair"],
  ])('refuses %s', async (_name, request, reason) => {
    const err = await file.getToken(request).then(
      () => null,
      (e: unknown) => e as BackendError,
    );
    expect(err?.code).toBe('BACKEND_TOKEN_UNAVAILABLE');
    expect(err?.message).toContain(reason);
  });

  it('reports coverage per operation and scheme, with the reason', () => {
    const coverage = file.coverage([
      { operationId: 'a', scopes: [], scheme: 'headerKey', kind: 'header' },
      { operationId: 'b', scopes: [], scheme: 'cookieKey', kind: 'cookie' },
    ]);
    expect(coverage.covered).toEqual([{ operationId: 'a', scheme: 'headerKey', tokenId: 'header-key' }]);
    expect(coverage.missing).toEqual([{ operationId: 'b', scopes: [], scheme: 'cookieKey', kind: 'cookie', reason: 'the static token file has no entry with `scheme: cookieKey` (a cookie API key)' }]);
  });

  it('never shows a value: not in describe, JSON or inspect', () => {
    const shown = `${file.describe()} ${JSON.stringify(file)} ${inspect(file, { showHidden: true, depth: 5 })} ${String(file)}`;
    for (const secret of ['hk_env_1234567', 'pa ss:wörd', 'p@ss word', 'bearer_read_1', Buffer.from('bot:pa ss:wörd').toString('base64')]) expect(shown).not.toContain(secret);
  });

  it.each([
    ['a token and a basic pair', '{id: x, scheme: s, token: abcdefgh12, username: u, password: p}', 'needs exactly one of `token`/`tokenEnv`'],
    ['half a basic pair', '{id: x, scheme: s, username: u}', 'needs exactly one of `token`/`tokenEnv`'],
    ['a username with a colon', '{id: x, scheme: s, username: "a:b", password: p}', 'without a colon'],
    ['neither scopes, operations nor scheme', '{id: x, token: abcdefgh12}', 'needs `scopes`, `operations`, `scheme` or a combination'],
    ['two entries for one scheme', '{id: x, scheme: s, token: abcdefgh12}\n  - {id: y, scheme: s, token: abcdefgh34}', "'x' and 'y' both serve scheme 's'"],
    ['an operationId with a control character', '{id: x, operations: ["a\\u0007b"], token: abcdefgh12}', 'must be an operationId'],
  ])('refuses %s without quoting a value', (_name, entry, message) => {
    let error: Error | undefined;
    try {
      StaticTokenProvider.fromYaml(`tokens:\n  - ${entry}\n`, { env: {} });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toContain(message);
    expect(error?.message).not.toMatch(/abcdefgh/);
  });

  it('reads a basic password from an environment variable that must be set', () => {
    expect(() => StaticTokenProvider.fromYaml('tokens:\n  - {id: b, scheme: s, username: u, passwordEnv: NOPE}\n', { env: {} })).toThrow("'b' reads its password from $NOPE, which is not set");
  });
});

describe('OAuth providers mint bearer tokens only; the token file serves the rest', () => {
  const oauth = new ClientCredentialsProvider({ tokenUrl: 'http://127.0.0.1:9/token', clientId: 'deputy', clientSecret: 'not-used-here' });

  it('client credentials refuses an API key request before any network call', async () => {
    const err = (await oauth.getToken({ operationId: 'listWidgets', scopes: [], scheme: 'headerKey', kind: 'header' }).catch((e: unknown) => e)) as BackendError;
    expect(err.code).toBe('BACKEND_TOKEN_UNAVAILABLE');
    expect(err.message).toContain("scheme 'headerKey' needs a header API key; add it to the token file (DEPUTY_TOKEN_FILE)");
  });

  it('the router sends non-bearer kinds and the schemes the file names to the file, the rest to OAuth', async () => {
    const seen: TokenRequest[] = [];
    const fakeOAuth: TokenProvider = { getToken: async (r) => (seen.push(r), 'oauth_token_1'), invalidate: () => {}, describe: () => 'fake oauth' };
    const file = StaticTokenProvider.fromYaml('tokens:\n  - {id: k, scheme: headerKey, token: hk_1234567}\n  - {id: b, scheme: staticBearer, token: sb_1234567}\n');
    const router = new CredentialRouter(fakeOAuth, file);
    expect(await router.getToken({ operationId: 'a', scopes: [], scheme: 'headerKey', kind: 'header' })).toBe('hk_1234567');
    expect(await router.getToken({ operationId: 'a', scopes: [], scheme: 'staticBearer', kind: 'bearer' })).toBe('sb_1234567');
    expect(await router.getToken({ operationId: 'a', scopes: ['x:read'], scheme: 'oauth', kind: 'bearer' })).toBe('oauth_token_1');
    expect(seen.map((r) => r.scheme)).toEqual(['oauth']);
    expect(router.describe()).toBe('fake oauth, with static token file (2 entries) for API keys, basic pairs and the schemes it names');
  });

  it('the over-privilege check never fetches (or introspects) an API key or basic pair', async () => {
    const asked: TokenRequest[] = [];
    const provider: TokenProvider = { getToken: async (r) => (asked.push(r), 'opaque_value_1'), invalidate: () => {}, describe: () => 'p' };
    await findOverPrivilegedTokens(provider, [
      { operationId: 'a', scopes: [], scheme: 'headerKey', kind: 'header' },
      { operationId: 'b', scopes: [], scheme: 'basicAuth', kind: 'basic' },
      { operationId: 'c', scopes: ['x'], scheme: 'oauth', kind: 'bearer' },
    ]);
    expect(asked.map((r) => r.operationId)).toEqual(['c']);
  });
});
