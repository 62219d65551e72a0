// Credentials in the generator: which security requirement a tool's call carries, where each
// credential goes, and the refusals that keep a credential out of `input` and `fixed`. Each row
// changes the credential fixture (test/fixtures/credentials/) in one way and names the error and
// the fix it must produce; the rows that compile name the placements they must produce.

import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileTools } from '../../src/codegen/compile.ts';
import { credentialWordIn, looksLikeCredential } from '../../src/codegen/credentialNames.ts';
import type { GenerationErrorCode } from '../../src/codegen/errors.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import type { JsonObject } from '../../src/codegen/schemaView.ts';
import type { CredentialPlacement, ToolDefinition } from '../../src/codegen/toolDefinition.ts';

const SPEC = fileURLToPath(new URL('../fixtures/credentials/widgets-api.yaml', import.meta.url));
let baseSpec: JsonObject;
beforeAll(async () => {
  const loaded = await loadSpec(SPEC);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  baseSpec = loaded.document;
});

type Tool = Record<string, unknown>;
/** One field each fixture operation returns: every tool must pick something. */
const PICK: Record<string, Tool> = {
  listWidgets: { pick: ['items[].id'], listCaps: { items: 10 }, untrusted: ['items[].id'] },
  getWidget: { pick: ['id'], untrusted: ['id'] },
  'widgets/get legacy.v1#beta': { pick: ['id'], untrusted: ['id'] },
  listAudit: { pick: ['entries[].action'], listCaps: { entries: 10 }, untrusted: ['entries[].action'] },
  getReport: { pick: ['total'] },
  getProfile: { pick: ['sub'], untrusted: ['sub'] },
};
const read = (operation: string, extra: Tool = {}): Tool => ({
  name: 'aTool',
  operation,
  title: 'A tool',
  risk: 'read',
  description: 'Returns something.',
  output: PICK[operation],
  ...extra,
});
const rename = (extra: Tool = {}): Tool => ({
  name: 'renameWidget',
  operation: 'renameWidget',
  title: 'Rename a widget',
  risk: 'write',
  description: 'Renames a widget. WARNING: visible to all. Confirm with the user before calling.',
  input: { id: {}, name: {} },
  output: { pick: ['id'], untrusted: ['id'] },
  approval: { message: 'Rename {id}?' },
  ...extra,
});

interface Given {
  spec?: (spec: any) => void;
  /** Top-level manifest keys besides `version` and `tools`. */
  top?: Record<string, unknown>;
  tool: Tool;
}

function compile(given: Given) {
  const spec = structuredClone(baseSpec) as any;
  given.spec?.(spec);
  return compileTools({ spec, manifest: { version: 1, ...given.top, tools: [given.tool] } });
}

function only(given: Given): ToolDefinition {
  const result = compile(given);
  expect(result.errors).toEqual([]);
  return result.tools[0]!;
}

const bearer = (scheme: string, scopes: string[] = []): CredentialPlacement => ({ scheme, kind: 'bearer', name: null, scopes });

describe('placements from the chosen security requirement', () => {
  const rows: [string, Given, CredentialPlacement[], string[]][] = [
    ['apiKey in a header', { tool: read('listWidgets') }, [{ scheme: 'headerKey', kind: 'header', name: 'X-API-Key', scopes: [] }], []],
    [
      'two schemes in one requirement: both are sent',
      { tool: read('getWidget', { input: { id: {} } }) },
      [{ scheme: 'queryKey', kind: 'query', name: 'api_key', scopes: [] }, bearer('bearerAuth')],
      [],
    ],
    ['apiKey in a cookie', { tool: read('widgets/get legacy.v1#beta', { input: { id: {} } }) }, [{ scheme: 'cookieKey', kind: 'cookie', name: 'wsession', scopes: [] }], []],
    ['http basic', { tool: read('listAudit') }, [{ scheme: 'basicAuth', kind: 'basic', name: null, scopes: [] }], []],
    ['openIdConnect is bearer, with its scopes', { tool: read('getProfile') }, [bearer('oidc', ['profile'])], ['profile']],
    ['oauth2, chosen among alternatives; scopes come from the choice', { tool: rename({ security: 'oauth' }) }, [bearer('oauth', ['widgets:write'])], ['widgets:write']],
    ['basic, chosen among alternatives, with callerScopes', { tool: rename({ security: ['basicAuth'], callerScopes: ['widgets:admin'] }) }, [{ scheme: 'basicAuth', kind: 'basic', name: null, scopes: [] }], []],
    ['the top-level security default', { top: { security: 'oauth' }, tool: rename() }, [bearer('oauth', ['widgets:write'])], ['widgets:write']],
    [
      'an `{}` alternative next to one real one is not ambiguity: Deputy authenticates',
      { spec: (s) => (s.paths['/widgets/{id}'].patch.security = [{}, { oauth: ['widgets:write'] }]), tool: rename() },
      [bearer('oauth', ['widgets:write'])],
      ['widgets:write'],
    ],
    [
      'a spec parameter mapped with `credentials:` (header and query)',
      { tool: read('getReport', { credentials: { 'header.Api-Token': 'reportsToken', 'query.token': 'reportsQueryToken' } }) },
      [
        { scheme: 'reportsToken', kind: 'header', name: 'Api-Token', scopes: [] },
        { scheme: 'reportsQueryToken', kind: 'query', name: 'token', scopes: [] },
      ],
      [],
    ],
    [
      'an Authorization header parameter mapped with `credentials:` is a bearer token',
      {
        spec: (s) => s.paths['/reports'].get.parameters.push({ name: 'Authorization', in: 'header', required: true, schema: { type: 'string' } }),
        top: { credentials: { 'header.Api-Token': 'reportsToken', 'query.token': 'reportsQueryToken', 'header.Authorization': 'reportsBearer' } },
        tool: read('getReport'),
      },
      [
        { scheme: 'reportsToken', kind: 'header', name: 'Api-Token', scopes: [] },
        { scheme: 'reportsQueryToken', kind: 'query', name: 'token', scopes: [] },
        bearer('reportsBearer'),
      ],
      [],
    ],
    [
      'no security in the spec and nothing mapped: a bearer token, as before schemes were read',
      { spec: (s) => delete s.paths['/audit'].get.security, tool: read('listAudit') },
      [bearer('default')],
      [],
    ],
    [
      'no security in the spec: the manifest may name a defined scheme',
      { spec: (s) => delete s.paths['/audit'].get.security, top: { security: 'headerKey' }, tool: read('listAudit') },
      [{ scheme: 'headerKey', kind: 'header', name: 'X-API-Key', scopes: [] }],
      [],
    ],
  ];
  it.each(rows)('%s', (_name, given, credentials, scopes) => {
    const tool = only(given);
    expect(tool.operation.credentials).toEqual(credentials);
    expect(tool.backendScopes).toEqual(scopes);
  });

  it('a required spec parameter at a scheme\'s place is bound by the credential, not by the model', () => {
    const tool = only({
      spec: (s) => s.paths['/widgets'].get.parameters.push({ name: 'x-api-key', in: 'header', required: true, schema: { type: 'string' } }),
      tool: read('listWidgets'),
    });
    expect(tool.operation.args).toEqual([]);
    expect(tool.inputSchema.properties).toEqual({});
  });

  it('drops a #fragment from the path', () => {
    expect(only({ tool: read('widgets/get legacy.v1#beta', { input: { id: {} } }) }).operation.path).toBe('/widgets/{id}');
  });

  it('gives an approval lookup the credentials of its own operation', () => {
    const tool = only({ tool: rename({ security: 'oauth', approval: { message: 'Rename {id} ({lookup.name})?', lookup: { operation: 'getWidget', args: { id: '{id}' }, pick: ['name'] } } }) });
    expect(tool.approval?.lookup?.operation.credentials).toEqual([{ scheme: 'queryKey', kind: 'query', name: 'api_key', scopes: [] }, bearer('bearerAuth')]);
  });
});

describe('generation errors, each with its fix', () => {
  interface Want {
    code: GenerationErrorCode;
    message: string | RegExp;
    fix: string | RegExp;
    at?: string;
  }
  const rows: [string, Given, Want][] = [
    [
      'several alternatives and no choice',
      { tool: rename() },
      {
        code: 'SECURITY_AMBIGUOUS',
        message: 'the operation has 2 security alternatives: oauth | basicAuth',
        fix: 'choose one with `security: [oauth]` on the tool (or top-level for every tool)',
        at: 'tools[0].operation',
      },
    ],
    [
      'a `security:` choice that is not an alternative',
      { tool: rename({ security: 'bearerAuth' }) },
      { code: 'SECURITY_AMBIGUOUS', message: "security: [bearerAuth] is not one of the operation's security alternatives", fix: 'choose one of: [oauth], [basicAuth]', at: 'tools[0].security' },
    ],
    [
      'a write whose chosen requirement has no scopes, without callerScopes',
      { tool: rename({ security: 'basicAuth' }) },
      {
        code: 'SECURITY_NO_SCOPES',
        message: 'the chosen security requirement carries no scopes, so every authenticated caller could see and call this write tool',
        fix: 'set `callerScopes:` to the scopes a caller needs (or choose a security alternative with scopes)',
        at: 'tools[0].callerScopes',
      },
    ],
    [
      'an HTTP scheme Deputy cannot send',
      { spec: (s) => (s.components.securitySchemes.basicAuth = { type: 'http', scheme: 'digest' }), tool: read('listAudit') },
      {
        code: 'SECURITY_UNSUPPORTED',
        message: "security scheme 'basicAuth' is HTTP 'digest' authentication, which Deputy cannot send (bearer and basic only)",
        fix: 'choose another security alternative with `security:`, or map the credential parameter with `credentials:`',
      },
    ],
    [
      'mutual TLS',
      { spec: (s) => (s.components.securitySchemes.basicAuth = { type: 'mutualTLS' }), tool: read('listAudit') },
      { code: 'SECURITY_UNSUPPORTED', message: /type 'mutualTLS', which Deputy cannot send/, fix: /choose another security alternative/ },
    ],
    [
      'a requirement naming an undefined scheme',
      { spec: (s) => delete s.components.securitySchemes.basicAuth, tool: read('listAudit') },
      { code: 'SECURITY_UNSUPPORTED', message: "security scheme 'basicAuth' is not defined in components.securitySchemes", fix: /choose another security alternative/ },
    ],
    [
      'two schemes that both use the Authorization header',
      { spec: (s) => (s.paths['/audit'].get.security = [{ basicAuth: [], bearerAuth: [] }]), tool: read('listAudit') },
      { code: 'CREDENTIAL_INVALID', message: "credentials 'basicAuth' and 'bearerAuth' both go to the header authorization", fix: /each credential in its own place/ },
    ],
    [
      'a path parameter mapped to a credential',
      { tool: read('getWidget', { input: { id: {} }, credentials: { 'path.id': 'widgetKey' } }) },
      { code: 'CREDENTIAL_INVALID', message: "path parameter 'id' cannot carry a credential", fix: 'map only a header, query or cookie parameter to a credential' },
    ],
    [
      'a `credentials:` entry naming no parameter of the tool',
      { tool: read('listWidgets', { credentials: { 'query.token': 'x' } }) },
      { code: 'PARAM_NOT_IN_SPEC', message: "the spec has no query parameter 'token' on GET /widgets", fix: /use one of: limit/ },
    ],
    [
      "an input at a scheme's place",
      {
        spec: (s) => s.paths['/widgets'].get.parameters.push({ name: 'X-API-Key', in: 'header', schema: { type: 'string', maxLength: 64 } }),
        tool: read('listWidgets', { input: { 'X-API-Key': {} } }),
      },
      { code: 'CREDENTIAL_AS_INPUT', message: "header parameter 'X-API-Key' carries the credential 'headerKey'; Deputy fills it", fix: 'remove it from input; the token file serves `scheme: headerKey`' },
    ],
    [
      'an input that looks like a credential by name',
      { tool: read('getReport', { credentials: { 'header.Api-Token': 'reportsToken' }, input: { token: { maxLength: 64 }, month: {} } }) },
      {
        code: 'CREDENTIAL_AS_INPUT',
        message: "input.token looks like a credential (its name says 'token'); a credential is never a tool input",
        fix: "map it to a credential instead: `credentials: { query.token: token }` (in the tool or top-level) and give the token file an entry with `scheme: token`; if it is not a credential, list 'token' under notCredentials",
        at: 'tools[0].input.token',
      },
    ],
    [
      'a fixed value that looks like a credential (a secret committed in the manifest)',
      { tool: read('getReport', { credentials: { 'query.token': 'reportsQueryToken' }, fixed: { 'Api-Token': 'sk_live_committed' } }) },
      { code: 'CREDENTIAL_AS_INPUT', message: "fixed.Api-Token looks like a credential (its name says 'token'); a credential is never a fixed value", fix: /credentials: \{ header\.Api-Token: api-token \}/ },
    ],
    [
      'an input that looks like a credential by its description',
      {
        spec: (s) => s.paths['/widgets'].get.parameters.push({ name: 'x-acct', in: 'header', description: 'Your account API key.', schema: { type: 'string', maxLength: 64 } }),
        tool: read('listWidgets', { input: { 'x-acct': { arg: 'acct' } } }),
      },
      { code: 'CREDENTIAL_AS_INPUT', message: "input.x-acct looks like a credential (its description says 'api key'); a credential is never a tool input", fix: /credentials: \{ header\.x-acct: x-acct \}/ },
    ],
    [
      'an approval lookup argument that commits a credential',
      { tool: rename({ security: 'oauth', approval: { message: 'Rename {id}?', lookup: { operation: 'getReport', args: { token: 'committed_1' }, pick: ['total'] } } }) },
      {
        code: 'CREDENTIAL_AS_INPUT',
        message: "'token' looks like a credential (its name says 'token'); a credential is never a fixed value",
        fix: 'map it with `credentials: { query.token: <name> }` at the top level instead',
        at: 'tools[0].approval.lookup.args',
      },
    ],
    [
      "an approval lookup argument at a scheme's place",
      {
        spec: (s) => s.paths['/widgets/{id}'].get.parameters.push({ name: 'api_key', in: 'query', schema: { type: 'string' } }),
        tool: rename({ security: 'oauth', approval: { message: 'Rename {id}?', lookup: { operation: 'getWidget', args: { id: '{id}', api_key: 'committed_2' }, pick: ['name'] } } }),
      },
      { code: 'CREDENTIAL_AS_INPUT', message: "query parameter 'api_key' carries the credential 'queryKey'; Deputy fills it", fix: 'remove it; the token file serves it', at: 'tools[0].approval.lookup.args' },
    ],
  ];
  it.each(rows)('%s', (_name, given, want) => {
    const result = compile(given);
    const hit = result.errors.find((e) => e.code === want.code);
    expect(hit, JSON.stringify(result.errors)).toBeDefined();
    if (typeof want.message === 'string') expect(hit!.message).toBe(want.message);
    else expect(hit!.message).toMatch(want.message);
    if (typeof want.fix === 'string') expect(hit!.fix).toBe(want.fix);
    else expect(hit!.fix).toMatch(want.fix);
    if (want.at) expect(hit!.manifestPath).toBe(want.at);
    expect(result.tools).toEqual([]);
  });

  it('an enum is never a credential; `notCredentials` lets any other reviewed look-alike through', () => {
    const listed = (s: any) => s.paths['/widgets'].get.parameters.push({ name: 'tokenKind', in: 'query', description: 'Which API key kind.', schema: { type: 'string', enum: ['a', 'b'] } });
    expect(compile({ spec: listed, tool: read('listWidgets', { input: { tokenKind: {} } }) }).errors).toEqual([]);
    const secret = (s: any) => s.paths['/widgets'].get.parameters.push({ name: 'secret', in: 'query', schema: { type: 'string', maxLength: 8 } });
    expect(compile({ spec: secret, tool: read('listWidgets', { input: { secret: {} } }) }).errors.map((e) => e.code)).toEqual(['CREDENTIAL_AS_INPUT']);
    expect(compile({ spec: secret, tool: read('listWidgets', { input: { secret: {} }, notCredentials: ['secret'] }) }).errors).toEqual([]);
  });
});

describe('what looks like a credential', () => {
  const names: [name: string, location: string, match: string | null][] = [
    ['token', 'query', 'token'],
    ['access_token', 'query', 'token'],
    ['X-API-Key', 'header', 'api key'],
    ['apiKey', 'query', 'api key'],
    ['APIKey', 'header', 'api key'],
    ['apikey', 'query', 'apikey'],
    ['key', 'query', 'key'],
    ['client_secret', 'query', 'secret'],
    ['password', 'body', 'password'],
    ['Authorization', 'header', 'authorization'],
    ['X-Auth-Token', 'header', 'auth'],
    ['session', 'cookie', 'session'],
    ['sessionToken', 'body', 'session'],
    ['Cookie', 'header', 'cookie'],
    ['id_token', 'body', 'token'],
    ['X-CSRF-Token', 'header', 'token'],
    // False friends.
    ['keyword', 'query', null],
    ['monkey', 'query', null],
    ['sortKey', 'query', null],
    ['idempotencyKey', 'header', null],
    ['author', 'query', null],
    ['authorId', 'query', null],
    ['pageToken', 'query', null],
    ['next_token', 'query', null],
    ['continuationToken', 'query', null],
    ['tokenId', 'path', null],
    ['api_key_id', 'path', null],
    ['secret_name', 'path', null],
    ['keyType', 'query', null],
    ['oauthClientId', 'query', null],
    ['passwordExpiresAt', 'body', null],
    ['sessionId', 'path', null],
  ];
  it.each(names)('%s (%s) → %s', (name, location, match) => {
    expect(credentialWordIn(name, location)).toBe(match);
  });

  it('reads descriptions of strings only, and never for a name that is about something else', () => {
    expect(looksLikeCredential({ name: 'x-acct', in: 'header', description: 'Your API key.', type: 'string' })).toEqual({ match: 'api key', where: 'description' });
    expect(looksLikeCredential({ name: 'forceChange', in: 'body', description: 'Force a password change at next login.', type: 'boolean' })).toBeNull();
    expect(looksLikeCredential({ name: 'keyId', in: 'path', description: 'The ID of the API key.', type: 'string' })).toBeNull();
    expect(looksLikeCredential({ name: 'q', in: 'query', description: 'Search text.', type: 'string' })).toBeNull();
  });
});
