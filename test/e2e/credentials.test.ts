/**
 * Every OpenAPI security scheme type, end to end: Deputy runs as a real process over stdio
 * (`stdio --spec --tools --backend-url --token-file`), a real MCP client calls one tool per
 * scheme, and a recording backend on a real socket checks that each credential arrived exactly
 * where the spec's scheme (or the manifest's `credentials:` mapping) puts it — header, query,
 * cookie, Basic, Bearer — and nowhere else. Then every credential value (and the Basic
 * encoding) is searched for in the process's logs, the audit file, tool results, approval
 * prompts, `lint` output and the generated tools: it must appear in none. The fixture is not
 * Acme Press: the server must say so, and redact the fixture's own key format.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadAndCompile } from '../../src/codegen/cli.ts';
import { emitToolsModule } from '../../src/codegen/emit.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/credentials');
const SPEC = join(FIXTURES, 'widgets-api.yaml');
const TOOLS = join(FIXTURES, 'widgets-tools.yaml');
const TOKENS = join(FIXTURES, 'widgets-tokens.yaml');

const PASSWORD = 's3cret pass:word';
const REPORTS_TOKEN = 'rt_test_REPORTSHEADER_0009';
const BASIC = Buffer.from(`deputy-bot:${PASSWORD}`).toString('base64');
/** Every credential value in the token file and environment, and the Basic encoding. */
const SECRETS = [
  'hk_test_HEADERKEY_0001',
  'qk_test_QUERYKEY_0002',
  'ck_test_COOKIEKEY_0003',
  'ck_test_LEGACYOP_0004',
  'bt_test_BEARER_0005',
  'oa_test_OAUTHWRITE_0006',
  'oi_test_OIDC_0007',
  'rq_test_REPORTSQUERY_0008',
  REPORTS_TOKEN,
  PASSWORD,
  BASIC,
];
/** A key in the widgets backend's own format (the manifest's `server.secretPatterns`), inside a widget name. */
const WIDGET_KEY = 'wk_live_PASTEDINTONAME0001';
const ENV = { WIDGETS_BASIC_PASSWORD: PASSWORD, WIDGETS_REPORTS_TOKEN: REPORTS_TOKEN };

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** A backend that records every request and answers like the fixture spec says. */
function startRecordingBackend(): Promise<{ server: Server; url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://backend');
    const json = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(JSON.stringify(body));
    };
    req.resume();
    req.on('end', () => {
      const widget = /^\/widgets\/(w[0-9a-z]+)$/.exec(url.pathname)?.[1];
      if (widget === 'wleak') {
        // A backend error that quotes the request, credentials included: none of it may reach the agent.
        return json(401, { title: `bad key ${url.search} ${req.headers.authorization ?? ''} ${req.headers.cookie ?? ''}` }, 'application/problem+json');
      }
      if (url.pathname === '/widgets') return json(200, { items: [{ id: 'w1', name: 'One' }] });
      if (widget === 'wkey') return json(200, { id: widget, name: `pasted ${WIDGET_KEY} here` });
      if (widget !== undefined) return json(200, { id: widget, name: req.method === 'PATCH' ? 'Renamed' : 'One' });
      if (url.pathname === '/audit') return json(200, { entries: [{ action: 'rename' }] });
      if (url.pathname === '/reports') return json(200, { month: url.searchParams.get('month') ?? 'all', total: 3 });
      // A "who am I" answer that echoes the credential it was sent.
      if (url.pathname === '/profile') return json(200, { sub: `deputy-bot via ${req.headers.authorization ?? ''}` });
      return json(501, { title: 'unmocked route' }, 'application/problem+json');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }));
  });
}

const TSX = ['--import', 'tsx', join(ROOT, 'src/main.ts')];

let backend: Awaited<ReturnType<typeof startRecordingBackend>>;
let client: Client;
let transport: StdioClientTransport;
let dir: string;
let stderr = '';
const prompts: string[] = [];
const results: CallToolResult[] = [];

beforeAll(async () => {
  backend = await startRecordingBackend();
  dir = mkdtempSync(join(tmpdir(), 'deputy-credentials-'));
  transport = new StdioClientTransport({
    command: process.execPath,
    args: [...TSX, 'stdio', '--spec', SPEC, '--tools', TOOLS, '--backend-url', backend.url, '--token-file', TOKENS],
    env: { ...(process.env as Record<string, string>), ...ENV, DEPUTY_AUDIT_LOG: join(dir, 'audit.log'), DEPUTY_LOG_LEVEL: 'debug', DEPUTY_BACKEND_MAX_RETRIES: '0' },
    stderr: 'pipe',
    cwd: ROOT,
  });
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  client = new Client({ name: 'credentials-e2e', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    prompts.push(request.params.message);
    return { action: 'accept', content: { confirm: true } };
  });
  await client.connect(transport);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await new Promise((resolve) => backend?.server.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function call(name: string, args: Record<string, unknown> = {}): Promise<{ result: CallToolResult; sent: Recorded[] }> {
  const before = backend.requests.length;
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  results.push(result);
  return { result, sent: backend.requests.slice(before) };
}

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const query = (r: Recorded) => new URL(r.url, 'http://backend').searchParams;

describe('each credential goes where its scheme says, and nowhere else', () => {
  it('apiKey in a header', async () => {
    const { result, sent } = await call('listWidgets', { limit: 5 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers['x-api-key']).toBe('hk_test_HEADERKEY_0001');
    expect(sent[0]!.headers.authorization).toBeUndefined();
    expect(sent[0]!.url).toBe('/widgets?limit=5');
  });

  it('apiKey in the query and a bearer token together (one requirement, two schemes)', async () => {
    const { result, sent } = await call('getWidget', { id: 'w1' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent[0]!.method).toBe('GET');
    expect(new URL(sent[0]!.url, 'http://backend').pathname).toBe('/widgets/w1');
    expect(query(sent[0]!).getAll('api_key')).toEqual(['qk_test_QUERYKEY_0002']);
    expect(sent[0]!.headers.authorization).toBe('Bearer bt_test_BEARER_0005');
    expect(sent[0]!.headers['x-api-key']).toBeUndefined();
  });

  it('apiKey in a cookie, on a path with a #fragment and an operationId with / . # and a space', async () => {
    const { result, sent } = await call('getLegacyWidget', { id: 'w2' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent[0]!.url).toBe('/widgets/w2'); // the fragment is not sent
    // The token file's `operations:` entry for this operationId wins over the scheme-wide one.
    expect(sent[0]!.headers.cookie).toBe('wsession=ck_test_LEGACYOP_0004');
    expect(sent[0]!.headers.authorization).toBeUndefined();
  });

  it('http basic', async () => {
    const { result, sent } = await call('listAudit');
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent[0]!.headers.authorization).toBe(`Basic ${BASIC}`);
  });

  it('openIdConnect is a bearer token; a backend echoing it does not hand it to the model', async () => {
    const { result, sent } = await call('getProfile');
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent[0]!.headers.authorization).toBe('Bearer oi_test_OIDC_0007');
    expect(result.structuredContent).toEqual({ sub: 'deputy-bot via Bearer [REDACTED]' });
  });

  it('credentials declared as plain parameters are filled from the token file, never by the model', async () => {
    const { result, sent } = await call('getReport', { month: '2026-11' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent[0]!.headers['api-token']).toBe(REPORTS_TOKEN);
    expect(query(sent[0]!).getAll('token')).toEqual(['rq_test_REPORTSQUERY_0008']);
    expect(query(sent[0]!).get('month')).toBe('2026-11');
    const { tools } = await client.listTools();
    const report = tools.find((t) => t.name === 'getReport')!;
    expect(Object.keys(report.inputSchema.properties ?? {})).toEqual(['month']);
  });

  it('the model cannot set a credential: an argument naming one is refused before any request', async () => {
    for (const args of [{ month: '2026-11', token: 'model-chosen' }, { limit: 5, 'X-API-Key': 'model-chosen' }]) {
      const { result, sent } = await call(args.month ? 'getReport' : 'listWidgets', args);
      expect(result.isError).toBe(true);
      expect(sent).toHaveLength(0);
    }
  });

  it('oauth2, the alternative the manifest chose, for a write; its approval lookup carries its own schemes', async () => {
    const { result, sent } = await call('renameWidget', { id: 'w3', name: 'Three' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(sent.map((r) => r.method)).toEqual(['GET', 'PATCH']);
    const [lookup, write] = sent as [Recorded, Recorded];
    expect(query(lookup).get('api_key')).toBe('qk_test_QUERYKEY_0002');
    expect(lookup.headers.authorization).toBe('Bearer bt_test_BEARER_0005');
    expect(write.headers.authorization).toBe('Bearer oa_test_OAUTHWRITE_0006');
    expect(write.url).toBe('/widgets/w3');
    // A placeholder the template leaves unquoted is quoted (src/README.md D6).
    expect(prompts.at(-1)).toContain("Rename widget \"w3\" ('One') to 'Three'?");
  });

  it('a backend error that quotes the credentials becomes a short tool error without them', async () => {
    const { result, sent } = await call('getWidget', { id: 'wleak' });
    expect(sent.length).toBeGreaterThan(0);
    expect(result.isError).toBe(true);
    expect(textOf(result)).not.toMatch(/qk_test|bt_test|api_key=/);
  });
});

describe('the server profile comes from this manifest, not the committed one', () => {
  it('the instructions name this backend, never Acme Press', () => {
    const instructions = client.getInstructions() ?? '';
    expect(instructions).toContain('over the Widgets admin API. Widgets belong to workspaces; ids start with w.');
    expect(instructions).not.toMatch(/acme/i);
  });

  it("this backend's own key format is redacted from tool output", async () => {
    const { result } = await call('getWidget', { id: 'wkey' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(result.structuredContent).toEqual({ id: 'wkey', name: 'pasted [REDACTED] here' });
    expect(textOf(result)).not.toContain(WIDGET_KEY);
  });
});

describe('no credential value appears anywhere', () => {
  it('not in logs, the audit trail, tool results or approval prompts', async () => {
    // Logs and audit lines are written asynchronously by the child: wait for the last ones.
    await vi.waitFor(() => expect(stderr).toContain('bad key ?api_key='), { timeout: 5_000 });
    await vi.waitFor(() => expect(readFileSync(join(dir, 'audit.log'), 'utf8')).toContain('getProfile'), { timeout: 5_000 });
    const audit = readFileSync(join(dir, 'audit.log'), 'utf8');
    expect(audit).toContain('getLegacyWidget');
    // The query string (which holds the query API key) is never logged or audited; the backend's
    // own error text, which quoted it, is kept for operators with the values redacted.
    for (const text of [stderr, audit]) expect(text).not.toMatch(/api_key=(?!\[REDACTED\])|[?&]token=(?!\[REDACTED\])/);
    expect(stderr).toContain('bad key ?api_key=[REDACTED] Bearer [REDACTED]');
    const everything = [stderr, audit, JSON.stringify(results), ...prompts].join('\n');
    for (const secret of SECRETS) expect(everything, `leaked ${secret}`).not.toContain(secret);
  });

  it('not in `lint` output or the generated tools', async () => {
    const lint = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...TSX, 'lint', '--spec', SPEC, '--tools', TOOLS], { cwd: ROOT, env: { ...process.env, ...ENV } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    expect(lint).toContain('credentials    queryKey (query api_key) + bearerAuth (bearer)');
    const loaded = await loadAndCompile(SPEC, TOOLS, { out: () => {}, err: () => {} });
    expect(loaded?.result.errors).toEqual([]);
    const generated = emitToolsModule(loaded!.result.tools, { spec: 'widgets-api.yaml', manifest: 'widgets-tools.yaml' }, loaded!.result.profile);
    expect(generated).toContain('"kind": "cookie"');
    for (const secret of SECRETS) {
      expect(lint).not.toContain(secret);
      expect(generated).not.toContain(secret);
    }
  });
});

describe('start-up', () => {
  it('refuses to start without a credential for a scheme, naming the operation and the scheme', async () => {
    const partial = join(dir, 'partial-tokens.yaml');
    writeFileSync(partial, readFileSync(TOKENS, 'utf8').replace(/ {2}- id: (cookie-key|legacy-cookie)\n( {4}.*\n)+/g, ''));
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...TSX, 'stdio', '--spec', SPEC, '--tools', TOOLS, '--backend-url', backend.url, '--token-file', partial], {
        cwd: ROOT,
        env: { ...process.env, ...ENV },
      });
      let out = '';
      child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output: out }));
      child.stdin.end();
    });
    expect(code).toBe(1);
    expect(output).toContain('widgets/get legacy.v1#beta (scheme cookieKey: cookie API key)');
    expect(output).toContain('`scheme: cookieKey`');
    for (const secret of SECRETS) expect(output).not.toContain(secret);
  }, 30_000);
});
