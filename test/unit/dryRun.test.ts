/**
 * Dry-run mode (openapi/README.md, "Dry run") below the e2e tests: what generation refuses, the
 * request a dry run describes against the request a real call sends, and the answer when a
 * backend does not confirm `Prefer: dry-run`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createBackendClient, type BackendClient, type BackendResponse, type OperationBinding, type TokenProvider } from '../../src/backend/index.ts';
import { modeOf } from '../../src/codegen/blastRadius.ts';
import { compileTools, type CompileResult } from '../../src/codegen/compile.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import type { ToolDefinition } from '../../src/generated/tools.ts';
import type { AuditEvent } from '../../src/tools/audit.ts';
import { credentialNeeds } from '../../src/serveCommon.ts';
import { memoryLimiters } from '../../src/state/limiters.ts';
import { buildCatalog } from '../../src/tools/toolCatalog.ts';
import { createToolService } from '../../src/tools/toolService.ts';

const root = new URL('../../', import.meta.url);
let spec: Awaited<ReturnType<typeof loadSpec>>;

beforeAll(async () => {
  spec = await loadSpec(new URL('openapi/admin-api.yaml', root).pathname);
});

/** The project's manifest with `change` applied to the tool named `name`. */
function compileWith(name: string, change: Record<string, unknown>): CompileResult {
  const manifest = parseYaml(readFileSync(new URL('openapi/tools.yaml', root), 'utf8')) as { tools: Record<string, unknown>[] };
  Object.assign(manifest.tools.find((t) => t.name === name)!, change);
  if (!spec.ok) throw new Error('the admin spec did not load');
  return compileTools({ spec: spec.document, manifest });
}

const errorsOf = (result: CompileResult) => result.errors.map((e) => `${e.code} ${e.manifestPath ?? ''}: ${e.message}`);

describe('generation', () => {
  const refused: [string, string, Record<string, unknown>, string][] = [
    ['a read tool', 'listDrafts', { mode: 'dry-run' }, 'DRY_RUN_INVALID tools[0].mode: a read tool changes nothing'],
    ['a preview on a live tool', 'publishDraft', { preview: { header: 'Prefer: dry-run' } }, 'DRY_RUN_INVALID tools[2].preview: `preview` applies only to a tool in `mode: dry-run`'],
    ['both kinds of preview', 'publishDraft', { mode: 'dry-run', preview: { header: 'Prefer: dry-run', operation: 'getDraft', pick: ['title'] } }, 'must name exactly one of `operation` or `header`'],
    ['a malformed header', 'publishDraft', { mode: 'dry-run', preview: { header: 'Prefer dry-run' } }, "must be 'Name: value'"],
    ['a header the spec does not declare', 'addTicketNote', { mode: 'dry-run', preview: { header: 'Prefer: dry-run' } }, "the spec declares no 'Prefer' header on POST /tickets/{ticketId}/notes"],
    ['a header value outside its enum', 'publishDraft', { mode: 'dry-run', preview: { header: 'Prefer: return=minimal' } }, `the spec allows 'Prefer' to be "dry-run", not 'return=minimal'`],
    ['a pick on a header preview', 'publishDraft', { mode: 'dry-run', preview: { header: 'Prefer: dry-run', pick: ['id'] } }, 'preview.pick applies to a preview operation'],
    ['a validate operation without pick', 'addTicketNote', { mode: 'dry-run', preview: { operation: 'validateTicketNote' } }, 'preview.pick is missing'],
    ['a validate operation that takes no body', 'publishDraft', { mode: 'dry-run', preview: { operation: 'getCustomer', pick: ['name'] } }, "the write sends a request body, and preview operation 'getCustomer' takes none"],
    ['a validate operation that does not take the request', 'addTicketNote', { mode: 'dry-run', preview: { operation: 'publishDraft', pick: ['id'] } }, "PARAM_NOT_IN_SPEC tools[6].preview.operation: the spec has no path parameter 'ticketId'"],
    ['the write itself as preview', 'publishDraft', { mode: 'dry-run', preview: { operation: 'publishDraft', pick: ['id'] } }, "preview operation 'publishDraft' is the write itself"],
    ['a destructive preview operation', 'publishDraft', { mode: 'dry-run', preview: { operation: 'deleteDraft', pick: ['filename'] } }, "preview operation 'deleteDraft' (DELETE /drafts/{filename}) looks like it acts"],
    ['a preview pick the answer does not have', 'addTicketNote', { mode: 'dry-run', preview: { operation: 'validateTicketNote', pick: ['noSuchField'] } }, 'PICK_NOT_IN_RESPONSE tools[6].preview.pick[0]'],
    ['an unknown mode', 'publishDraft', { mode: 'rehearse' }, 'MANIFEST_INVALID tools[2].mode'],
  ];
  it.each(refused)('refuses %s', (_what, name, change, message) => {
    const errors = errorsOf(compileWith(name, change));
    expect(errors.some((e) => e.includes(message)), errors.join('\n')).toBe(true);
  });

  it('compiles a dry run: its preview, the answer schema, a description the model cannot misread and the lint mode line', () => {
    const result = compileWith('addTicketNote', { mode: 'dry-run', preview: { operation: 'validateTicketNote', pick: ['ticketStatus', 'emailsCustomer'] } });
    expect(errorsOf(result)).toEqual([]);
    const tool = result.tools.find((t) => t.name === 'addTicketNote')!;
    expect(tool.dryRun?.preview).toMatchObject({ kind: 'operation', backendScopes: ['tickets:write'], pick: ['ticketStatus', 'emailsCustomer'] });
    const preview = tool.dryRun!.preview as Extract<NonNullable<NonNullable<ToolDefinition['dryRun']>['preview']>, { kind: 'operation' }>;
    // The validate operation gets exactly the write's arguments and fixed values.
    expect(preview.operation).toMatchObject({ operationId: 'validateTicketNote', path: '/tickets/{ticketId}/notes/validate', args: tool.operation.args, fixed: tool.operation.fixed, idempotencyKeyHeader: null });
    expect(tool.outputSchema.required).toEqual(['dryRun', 'wouldSend', 'preview']);
    expect(tool.description).toMatch(/Confirm with the user before calling\. DRY RUN: calling it changes nothing; it answers with the exact request it would send and the backend's preview of it\.$/);
    expect(modeOf(tool)).toBe('dry-run (never calls the write; previews with validateTicketNote, scopes tickets:write)');
    expect(modeOf(result.tools.find((t) => t.name === 'listDrafts')!)).toBe('live');
  });
});

describe('the credentials a dry run needs at start', () => {
  it("are not the write's own, unless a preview header calls the write; a validate operation's instead", () => {
    const needs = (tools: readonly ToolDefinition[]) => credentialNeeds(tools).map((n) => n.operationId).sort();
    const live = compileWith('addTicketNote', {}).tools;
    expect(needs(live)).toContain('addTicketNote');
    expect(needs(compileWith('addTicketNote', { mode: 'dry-run' }).tools)).not.toContain('addTicketNote');
    const validated = needs(compileWith('addTicketNote', { mode: 'dry-run', preview: { operation: 'validateTicketNote', pick: ['ticketStatus'] } }).tools);
    expect(validated).toContain('validateTicketNote');
    expect(validated).not.toContain('addTicketNote');
    expect(needs(compileWith('publishDraft', { mode: 'dry-run', preview: { header: 'Prefer: dry-run' } }).tools)).toContain('publishDraft');
  });
});

describe('the described request', () => {
  let server: Server;
  let seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string } | null = null;
  let client: BackendClient;
  let tokenRequests = 0;
  const tokens: TokenProvider = {
    getToken: () => {
      tokenRequests++;
      return Promise.resolve('secret-api-key-0123456789');
    },
    invalidate: () => undefined,
    describe: () => 'test',
  };
  // Credentials in a query parameter and a cookie as well as a bearer token: each must be redacted.
  const binding: OperationBinding = {
    operationId: 'addWidget',
    method: 'POST',
    path: '/widgets/{shelf}',
    args: [
      { arg: 'shelf', in: 'path', name: 'shelf' },
      { arg: 'tags', in: 'query', name: 'tag' },
      { arg: 'name', in: 'body', name: 'name' },
    ],
    fixed: [{ in: 'body', name: 'public', value: false }],
    body: { contentType: 'application/json', required: true },
    successStatuses: [201],
    idempotencyKeyHeader: 'Idempotency-Key',
    credentials: [
      { scheme: 'bearerAuth', kind: 'bearer', name: null, scopes: [] },
      { scheme: 'queryKey', kind: 'query', name: 'api_key', scopes: [] },
      { scheme: 'session', kind: 'cookie', name: 'sid', scopes: [] },
    ],
  };
  const args = { shelf: 'top shelf', tags: ['a', 'b c'], name: 'Gizmo' };
  const options = { idempotencyKey: 'deputy-abc12345', traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = createBackendClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
      tokens,
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      maxResponseBytes: 65536,
      retry: { maxRetries: 0, maxRetryAfterSeconds: 1 },
    });
  });
  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is the request a real call sends, every credential value redacted, and costs no token', async () => {
    const described = client.describe(binding, args, options);
    expect(tokenRequests).toBe(0);
    await client.call(binding, args, options);
    const sent = seen!;
    const url = new URL(sent.url, 'http://x');

    expect(described.method).toBe(sent.method);
    expect(described.path).toBe(url.pathname);
    expect(described.path).toBe('/api/widgets/top%20shelf');
    expect(described.query).toEqual({ tag: ['a', 'b c'], api_key: ['[REDACTED]'] });
    expect(url.searchParams.getAll('tag')).toEqual(['a', 'b c']);
    expect(described.body).toEqual(JSON.parse(sent.body));
    expect(described.body).toEqual({ name: 'Gizmo', public: false });
    // Every header sent is described (transport framing aside), with the same value unless it is a credential.
    const framing = new Set(['host', 'connection', 'content-length']);
    for (const [name, value] of Object.entries(sent.headers)) {
      if (framing.has(name)) continue;
      expect(described.headers[name], name).toBe(name === 'authorization' ? 'Bearer [REDACTED]' : name === 'cookie' ? 'sid=[REDACTED]' : value);
    }
    expect(Object.keys(described.headers).sort()).toEqual(Object.keys(sent.headers).filter((h) => !framing.has(h)).sort());
    expect(JSON.stringify(described)).not.toContain('secret-api-key');
  });
});

describe('a `Prefer: dry-run` preview', () => {
  async function run(answerHeaders: BackendResponse['headers']) {
    const result = compileWith('publishDraft', { mode: 'dry-run', preview: { header: 'Prefer: dry-run' } });
    expect(errorsOf(result)).toEqual([]);
    const calls: { operationId: string; previewHeader?: unknown; idempotencyKey?: unknown }[] = [];
    const backend: BackendClient = {
      call: (binding, _args, options) => {
        calls.push({ operationId: binding.operationId, previewHeader: options.previewHeader, idempotencyKey: options.idempotencyKey });
        const body = binding.operationId === 'getDraft' ? { title: 'Q3' } : { id: 'post_0123456789', slug: 'q3', title: 'Q3', url: 'https://x.example/q3', status: 'live', publishedAt: '2026-12-01T00:00:00Z' };
        return Promise.resolve({ status: 200, body, headers: binding.operationId === 'getDraft' ? {} : answerHeaders, attempts: 1 });
      },
      describe: (binding) => ({ method: binding.method, path: binding.path, query: {}, headers: {}, body: null }),
      close: () => Promise.resolve(),
    };
    const events: AuditEvent[] = [];
    const service = createToolService({
      catalog: buildCatalog(result.tools),
      backend,
      audit: { record: (e) => events.push(e), flush: () => Promise.resolve() },
      log: pino({ level: 'silent' }),
      quotas: { windowSeconds: 10, calls: 100, readToolCalls: 100, writeToolCalls: 100, inFlight: 4, key: 'subject' },
      limiters: memoryLimiters,
      onBehalfOfCaller: false,
    });
    const outcome = await service.call('publishDraft', { filename: 'q3.md' }, {
      caller: { subject: 'alice', clientId: 'agent', scopes: ['drafts:publish', 'drafts:read'], tenant: null, expiresAt: 0 },
      callerToken: null,
      sessionId: 's1',
      client: null,
      approver: { supports: () => true, decide: () => Promise.resolve({ decision: 'accepted', approvalId: null }) },
      signal: new AbortController().signal,
    });
    return { outcome, calls, events };
  }

  it('calls the write with the header and no Idempotency-Key, and answers dry_run when the backend confirms it', async () => {
    const { outcome, calls, events } = await run({ preferenceApplied: 'dry-run' });
    // (This approver decides without building the form, so no approval lookup is made.)
    expect(calls).toEqual([{ operationId: 'publishDraft', previewHeader: { name: 'Prefer', value: 'dry-run' }, idempotencyKey: undefined }]);
    expect(outcome).toMatchObject({ structuredContent: { dryRun: true, preview: { slug: 'q3', status: 'live' } } });
    expect(events.map((e) => e.outcome)).toEqual(['dry_run']);
  });

  it('is an error saying the write may have happened when the backend does not confirm it', async () => {
    const { outcome, events } = await run({});
    expect(outcome).toMatchObject({ isError: true });
    expect(JSON.stringify(outcome)).toContain('did not confirm that it only previewed the request');
    expect(events.map((e) => [e.outcome, e.backend?.status])).toEqual([['tool_error', 200]]);
  });
});
