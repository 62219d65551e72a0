/**
 * Body templates and fixed JSON values over real HTTP: tools compiled from the nested-bodies
 * fixture (envelope, rich-text document, JSON patch), arguments validated by the runtime's own
 * validator, sent by the backend client to a recording server on a real port. The wire body is
 * the template filled with exactly the validated arguments; a value cannot add JSON structure,
 * and a path-segment value outside its pattern is refused before anything is sent.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackendClient, type BackendClient, type TokenProvider } from '../../src/backend/index.ts';
import { compileTools } from '../../src/codegen/compile.ts';
import { formatError } from '../../src/codegen/errors.ts';
import { buildCatalog, type ToolCatalog } from '../../src/tools/toolCatalog.ts';
import { loadNestedSpec, NESTED_WRITE } from '../fixtures/codegen/fixture.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const WRITE = NESTED_WRITE;

const TOOLS = [
  { ...WRITE, name: 'createThing', operation: 'createThing', body: { template: { data: { name: '{name}', kind: 'small', count: '{count}' } }, inputs: { name: { maxLength: 80 }, count: { maximum: 9, default: 1 } } } },
  {
    ...WRITE,
    name: 'addComment',
    operation: 'addComment',
    input: { issueId: {} },
    body: {
      template: { body: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: '{text}' }] }] }, visibility: 'internal' },
      inputs: { text: { type: 'string', maxLength: 2000 } },
    },
  },
  {
    ...WRITE,
    name: 'patchFlag',
    operation: 'patchFlag',
    input: { flagKey: {} },
    body: { template: [{ op: 'replace', path: '/environments/{env}/on', value: '{on}' }], inputs: { env: { pattern: '^[a-z0-9-]{1,32}$' }, on: { type: 'boolean' } } },
  },
  {
    ...WRITE,
    name: 'createRecord',
    operation: 'createRecord',
    input: { item: { properties: { id: { maxLength: 64, pattern: '^[a-z0-9-]+$' }, type: { enum: ['note', 'task'] }, internal: false, fields: false }, additionalProperties: false } },
    fixed: { access: { level: 'read' }, tags: ['agent'] },
  },
];

let server: Server;
let received: Received[] = [];
let catalog: ToolCatalog;
let client: BackendClient;

const tokens: TokenProvider = { getToken: async () => 'template-test-token-0123456789', invalidate: () => {}, describe: () => 'fixed test token' };

beforeAll(async () => {
  const compiled = compileTools({ spec: await loadNestedSpec(), manifest: { version: 1, tools: TOOLS } });
  if (compiled.errors.length > 0) throw new Error(compiled.errors.map((e) => formatError(e, 'tools')).join('\n'));
  catalog = buildCatalog(compiled.tools);

  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end('{"id":"x1"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = createBackendClient({
    baseUrl: `http://127.0.0.1:${port}`,
    tokens,
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
    maxResponseBytes: 64 * 1024,
    retry: { maxRetries: 0, maxRetryAfterSeconds: 1, baseDelayMs: 10 },
  });
});
afterAll(async () => {
  await client?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});
beforeEach(() => {
  received = [];
});

/** What the tool pipeline does before the backend call: strict validation, then the call. */
async function send(tool: string, args: Record<string, unknown>): Promise<{ refused: string[] } | Received> {
  const entry = catalog.get(tool)!;
  const parsed = entry.validate.safeParse(args);
  if (!parsed.success) return { refused: parsed.error.issues.map((i) => i.path.join('.')) };
  await client.call(entry.definition.operation, parsed.data as Record<string, unknown>, { idempotencyKey: 'k-1' });
  expect(received).toHaveLength(1);
  return received[0]!;
}

describe('body templates on the wire', () => {
  it('an envelope: the model names the thing, the template wraps it; an unset optional takes its manifest default', async () => {
    const sent = (await send('createThing', { name: 'Quarterly "report", v2' })) as Received;
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe('/things');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent.body)).toEqual({ data: { name: 'Quarterly "report", v2', kind: 'small', count: 1 } });
  });

  it('a rich-text document built around one bounded text: quotes and braces stay text', async () => {
    const text = '"}]}, {"type": "mention", "id": "admin"} {text}';
    const sent = (await send('addComment', { issueId: 'OPS-12', text })) as Received;
    expect(sent.url).toBe('/issues/OPS-12/comments');
    expect(JSON.parse(sent.body)).toEqual({ body: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] }, visibility: 'internal' });
  });

  it('a JSON patch with the environment in its path and a typed value', async () => {
    const sent = (await send('patchFlag', { flagKey: 'new-checkout', env: 'production', on: false })) as Received;
    expect(sent.method).toBe('PATCH');
    expect(sent.url).toBe('/flags/new-checkout');
    expect(JSON.parse(sent.body)).toEqual([{ op: 'replace', path: '/environments/production/on', value: false }]);
  });

  it.each([
    ['a pointer separator', 'prod/../admin'],
    ['a JSON-pointer escape', 'prod~1x'],
    ['an empty segment', ''],
  ])('a path segment with %s is refused and nothing is sent', async (_why, env) => {
    const result = await send('patchFlag', { flagKey: 'new-checkout', env, on: true });
    expect(result).toEqual({ refused: ['env'] });
    expect(received).toEqual([]);
  });

  it('fixed objects and arrays are sent next to the narrowed nested input; hidden fields are refused', async () => {
    const sent = (await send('createRecord', { item: { id: 'rec-1', type: 'task' } })) as Received;
    expect(JSON.parse(sent.body)).toEqual({ item: { id: 'rec-1', type: 'task' }, access: { level: 'read' }, tags: ['agent'] });
    received = [];
    expect(await send('createRecord', { item: { id: 'rec-1', internal: true } })).toMatchObject({ refused: expect.arrayContaining(['item']) });
    expect(await send('createRecord', { item: { id: 'rec-1' }, access: { level: 'admin' } })).toMatchObject({ refused: expect.any(Array) });
    expect(received).toEqual([]);
  });
});
