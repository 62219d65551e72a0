/**
 * Writes in dry-run mode (openapi/README.md, "Dry run"), through a real SDK client against the
 * mock backend: the tool validates, asks for approval, makes its lookup and answers with the
 * exact request it would send, and the mock's request log proves the write operation is never
 * called. With a validate operation as preview, only the preview is called.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileTools } from '../../src/codegen/compile.ts';
import { loadSpec } from '../../src/codegen/loadSpec.ts';
import { findLeaks, setup, textOf, type Harness } from '../helpers/deputy.ts';

const DRAFT = 'q3-pricing-update.md';
const OPEN_TICKET = 'tkt_100001';
const CLOSED_TICKET = 'tkt_100002';

/**
 * The project's own manifest with its two writes switched to dry run: the note one previewed by
 * its validate operation, publishing by `Prefer: dry-run` when `preferHeader` is set.
 */
async function dryRunTools(preferHeader = false) {
  const manifest = parseYaml(readFileSync(new URL('../../openapi/tools.yaml', import.meta.url), 'utf8')) as { tools: Record<string, unknown>[] };
  for (const tool of manifest.tools) {
    if (tool.name === 'publishDraft') {
      tool.mode = 'dry-run';
      if (preferHeader) tool.preview = { header: 'Prefer: dry-run' };
    }
    if (tool.name === 'addTicketNote') {
      tool.mode = 'dry-run';
      tool.preview = { operation: 'validateTicketNote', pick: ['ticketStatus', 'visibility', 'emailsCustomer'] };
    }
  }
  const spec = await loadSpec(new URL('../../openapi/admin-api.yaml', import.meta.url).pathname);
  if (!spec.ok) throw new Error('the spec does not load');
  const result = compileTools({ spec: spec.document, manifest });
  expect(result.errors).toEqual([]);
  return result.tools;
}

let h: Harness;
let human: Client;
let answer: () => ElicitResult;
let prompts: string[];

beforeAll(async () => {
  h = await setup({ tools: await dryRunTools() });
  human = await h.connect({
    onElicit: (message) => {
      prompts.push(message);
      return answer();
    },
  });
});
afterAll(async () => {
  await h?.teardown();
});
beforeEach(() => {
  h.backend.reset();
  prompts = [];
  answer = () => ({ action: 'accept', content: { confirm: true } });
});

const operations = () => h.backend.requestLog.entries().flatMap((e) => (e.operationId === null ? [] : [e.operationId]));

describe('a write in dry-run mode without a preview', () => {
  it('asks for approval, looks the draft up and answers with the request it would send, never calling the write', async () => {
    const result = await h.callTool(human, 'publishDraft', { filename: DRAFT });

    expect(result.isError).toBeFalsy();
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/^DRY RUN — nothing will be changed/);
    expect(prompts[0]).toContain("Publish draft 'q3-pricing-update.md' (title 'Q3 pricing update')");
    // The lookup ran; the write did not.
    expect(operations()).toEqual(['getDraft']);
    expect(h.backend.store.drafts.get(DRAFT)!.status).not.toBe('published');

    const content = result.structuredContent as { dryRun: boolean; wouldSend: { method: string; path: string; query: object; headers: Record<string, string>; body: unknown } };
    expect(content.dryRun).toBe(true);
    expect(content.wouldSend).toMatchObject({ method: 'POST', path: `/drafts/${DRAFT}/publish`, query: {}, body: { notifySubscribers: false } });
    // The real request's headers, the credential's value redacted, the approved action's Idempotency-Key kept.
    expect(content.wouldSend.headers).toMatchObject({ authorization: 'Bearer [REDACTED]', 'content-type': 'application/json', });
    expect(content.wouldSend.headers['user-agent']).toMatch(/^deputy/);
    expect(content.wouldSend.headers['idempotency-key']).toMatch(/^deputy-/);
    expect(textOf(result)).toMatch(/^Publish a draft: dry run, nothing was changed/);

    const audit = h.auditLines().filter((line) => line.tool === 'publishDraft');
    expect(audit.at(-1)).toMatchObject({ outcome: 'dry_run', approval: 'accepted', backend: null });
    expect(findLeaks(h)).toEqual([]);
  });

  it('tells the model in tools/list that it is a dry run', async () => {
    const { tools } = await human.listTools();
    const publish = tools.find((t) => t.name === 'publishDraft')!;
    expect(publish.description).toMatch(/DRY RUN: calling it changes nothing; it answers with the exact request it would send\.$/);
    expect(publish.outputSchema?.required).toEqual(['dryRun', 'wouldSend']);
  });

  it('does nothing at all when the human declines', async () => {
    answer = () => ({ action: 'decline' });
    const result = await h.callTool(human, 'publishDraft', { filename: DRAFT });
    expect(result.isError).toBe(true);
    expect(operations()).toEqual(['getDraft']);
    expect(h.auditLines().at(-1)).toMatchObject({ outcome: 'approval_declined' });
  });

  it('still refuses invalid input before asking anyone', async () => {
    const result = await h.callTool(human, 'publishDraft', { filename: '../etc/passwd' });
    expect(result.isError).toBe(true);
    expect(prompts).toEqual([]);
    expect(operations()).toEqual([]);
  });
});

describe('a write in dry-run mode on MCP 2026-07-28', () => {
  it('asks by multi-round-trip, and the resumed call answers with the request, its Idempotency-Key from the approval', async () => {
    const modern = await h.connectModern({
      onElicit: (message) => {
        prompts.push(message);
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const auditBefore = h.auditLines().length;
    const result = await modern.callTool({ name: 'publishDraft', arguments: { filename: DRAFT } });
    h.results.push(result as never);

    expect(result.isError).toBeFalsy();
    expect(prompts[0]).toMatch(/^DRY RUN — nothing will be changed/);
    expect(operations()).not.toContain('publishDraft');
    const content = result.structuredContent as { dryRun: boolean; wouldSend: { headers: Record<string, string> } };
    expect(content.dryRun).toBe(true);
    const audit = h.auditLines().slice(auditBefore);
    expect(audit.map((line) => line.outcome)).toEqual(['approval_requested', 'dry_run']);
    expect(content.wouldSend.headers['idempotency-key']).toMatch(/^deputy-approval-/);
    expect(findLeaks(h)).toEqual([]);
  });
});

describe('a write in dry-run mode with a validate operation as preview', () => {
  it('calls only the validate operation, with the request the write would send, and returns its answer', async () => {
    const before = h.backend.store.notes.get(OPEN_TICKET)?.length ?? 0;
    const result = await h.callTool(human, 'addTicketNote', { ticketId: OPEN_TICKET, body: 'Customer asked for a call back.' });

    expect(result.isError).toBeFalsy();
    expect(operations()).toEqual(['validateTicketNote']);
    expect(h.backend.store.notes.get(OPEN_TICKET)?.length ?? 0).toBe(before);
    const content = result.structuredContent as { wouldSend: { path: string; body: unknown }; preview: unknown };
    expect(content.wouldSend).toMatchObject({ path: `/tickets/${OPEN_TICKET}/notes`, body: { body: 'Customer asked for a call back.', visibility: 'internal' } });
    expect(content.preview).toEqual({ ticketStatus: 'open', visibility: 'internal', emailsCustomer: false });
    expect(h.auditLines().at(-1)).toMatchObject({ outcome: 'dry_run', backend: { status: 200 } });
    expect(findLeaks(h)).toEqual([]);
  });

  it("turns the preview's refusal into an error the model can act on, still without calling the write", async () => {
    const result = await h.callTool(human, 'addTicketNote', { ticketId: CLOSED_TICKET, body: 'Follow-up.' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(CLOSED_TICKET);
    expect(operations()).toEqual(['validateTicketNote']);
    expect(h.auditLines().at(-1)).toMatchObject({ outcome: 'tool_error', backend: { status: 409 } });
  });
});

describe('a write in dry-run mode previewed with `Prefer: dry-run`', () => {
  let hp: Harness;
  let client: Client;
  beforeAll(async () => {
    hp = await setup({ tools: await dryRunTools(true) });
    client = await hp.connect({ onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
  });
  afterAll(async () => {
    await hp?.teardown();
  });

  it("sends the write only with the preview header and no Idempotency-Key, and returns the backend's preview", async () => {
    const posts = hp.backend.store.posts.size;
    const result = await hp.callTool(client, 'publishDraft', { filename: DRAFT });

    expect(result.isError).toBeFalsy();
    const log = hp.backend.requestLog.entries().filter((e) => e.operationId !== null);
    expect(log.map((e) => e.operationId)).toEqual(['getDraft', 'publishDraft']);
    // Never stored under a key the real write would reuse.
    expect(log[1]!.idempotencyKey).toBeUndefined();
    expect(hp.backend.store.drafts.get(DRAFT)!.status).not.toBe('published');
    expect(hp.backend.store.posts.size).toBe(posts);
    expect(hp.backend.store.events.publications).toEqual([]);

    const content = result.structuredContent as { wouldSend: { headers: Record<string, string> }; preview: { slug: string; status: string } };
    // wouldSend is the live request: without the preview header.
    expect(content.wouldSend.headers.prefer).toBeUndefined();
    expect(content.preview).toMatchObject({ slug: 'q3-pricing-update', status: 'live' });
    expect(hp.auditLines().at(-1)).toMatchObject({ outcome: 'dry_run', backend: { status: 200 } });
    expect(findLeaks(hp)).toEqual([]);
  });
});
