/**
 * Approval out of band, in a real browser (headless Chromium): people sign in on the dev
 * authorization server's login page, read the whole action on Deputy's approval page, and
 * approve or reject it, while real MCP clients wait (2025 URL mode), retry (a link in an error)
 * or resume (2026-07-28). Each page state is saved as a screenshot for people to review; nothing
 * compares pixels. The reviewed set in test/__screenshots__/ is rewritten only with
 * UPDATE_SCREENSHOTS=1, so a test run never dirties the working tree.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tools as generatedTools, type ToolDefinition } from '../../src/generated/tools.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { findLeaks, jsonRpcMessages, setup, textOf, type Harness } from '../helpers/deputy.ts';

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../__screenshots__/', import.meta.url)) : join(tmpdir(), 'deputy-approval-screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });
const DRAFT = 'q3-pricing-update.md';
const OPEN_TICKET = 'tkt_100001';
const PASSWORDS: Record<string, string> = { alice: 'dev-password-alice', sam: 'dev-password-sam', olivia: 'dev-password-olivia', dev: 'dev-password-dev' };

/** publishDraft: one approver, link allowed; addTicketNote: the two-person rule. */
const TOOLS: ToolDefinition[] = generatedTools.map((tool) =>
  tool.name === 'publishDraft' ? { ...tool, approval: { ...tool.approval!, link: true } }
  : tool.name === 'addTicketNote' ? { ...tool, approval: { ...tool.approval!, count: 2, link: true } }
  : tool,
);

let h: Harness;
let browser: Browser;
let clockOffset = 0;
const people = new Map<string, { context: BrowserContext; page: Page }>();
let linkClient: Client;
const pageTexts: string[] = [];

beforeAll(async () => {
  [h, browser] = await Promise.all([setup({ tools: TOOLS, now: () => Date.now() + clockOffset }), launchChromium()]);
  linkClient = await h.connect();
}, 120_000);
afterAll(async () => {
  for (const { context } of people.values()) await context.close().catch(() => undefined);
  await browser?.close();
  await h?.teardown();
});

const publishRequests = () => h.backend.requestLog.forOperation('publishDraft');
const noteRequests = () => h.backend.requestLog.forOperation('addTicketNote');
const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `approval-${name}.png`), fullPage: true });
const linkIn = (result: CallToolResult) => /https?:\/\/\S+\/approvals\/[A-Za-z0-9_-]{22}/.exec(textOf(result))?.[0];

/** The person's browser, signed in on the first visit through the authorization server's login page. */
async function open(person: string, url: string, screenshotSignIn = false): Promise<Page> {
  let entry = people.get(person);
  if (!entry) {
    const context = await browser.newContext();
    entry = { context, page: await context.newPage() };
    people.set(person, entry);
  }
  const { page } = entry;
  const response = await page.goto(url);
  if (page.url().includes('/oauth/authorize')) {
    if (screenshotSignIn) await shot(page, 'sign-in');
    await page.fill('input[name=username]', person);
    await page.fill('input[name=password]', PASSWORDS[person]!);
    await Promise.all([page.waitForURL(/\/approvals\/[A-Za-z0-9_-]{22}$/), page.click('button[value=allow]')]);
  } else {
    expect(response?.status()).toBeLessThan(500);
  }
  pageTexts.push(await page.content());
  return page;
}

async function decide(page: Page, decision: 'approve' | 'reject'): Promise<string> {
  await Promise.all([page.waitForLoadState('load'), page.click(`button[value=${decision}]`)]);
  await page.waitForSelector('h1');
  pageTexts.push(await page.content());
  return page.innerText('body');
}

describe('the approval page', () => {
  it('2025 URL mode: the call waits while a person signs in, sees every argument and approves; the write lands once', async () => {
    let url: string | undefined;
    const urlClient = new Client({ name: 'url-client', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } } });
    urlClient.setRequestHandler(ElicitRequestSchema, async (request) => {
      expect(request.params.mode).toBe('url');
      url = (request.params as { url: string }).url;
      return { action: 'accept' };
    });
    await urlClient.connect(new StreamableHTTPClientTransport(new URL(h.deputy.url), { requestInit: { headers: { authorization: `Bearer ${await h.agentToken()}` } } }));
    const calling = h.callTool(urlClient, 'publishDraft', { filename: DRAFT });
    await expect.poll(() => url, { timeout: 10_000 }).toMatch(/\/approvals\/[A-Za-z0-9_-]{22}$/);

    const page = await open('alice', url!, true);
    const text = await page.innerText('body');
    expect(text).toContain(`Publish draft '${DRAFT}' (title 'Q3 pricing update') to the live site?`);
    expect(text).toContain(DRAFT);
    expect(text).toMatch(/notifySubscribers\s+false/);
    expect(text).toMatch(/Asked by\s+an AI agent for dev, through the client deputy-dev-agent/);
    expect(text).toMatch(/Approvals\s+0 of 1/);
    expect(publishRequests()).toEqual([]);
    await shot(page, 'pending');

    expect(await decide(page, 'approve')).toContain('You approved it.');
    await shot(page, 'approved');
    const result = await calling;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(publishRequests()).toHaveLength(1);

    await page.reload();
    expect(await page.innerText('#status')).toContain('carried out');
    await urlClient.close();
  });

  it('a link in an error: a rejection answers the retry, and nothing is written', async () => {
    const first = await h.callTool(linkClient, 'publishDraft', { filename: 'pricing-2023.md' });
    expect(first.isError).toBe(true);
    const url = linkIn(first);
    expect(url, textOf(first)).toBeDefined();
    expect(textOf(first)).toContain('call publishDraft again with exactly the same arguments');

    const page = await open('alice', url!);
    expect(await decide(page, 'reject')).toContain('You rejected it.');
    await shot(page, 'rejected');
    const retry = await h.callTool(linkClient, 'publishDraft', { filename: 'pricing-2023.md' });
    expect(textOf(retry)).toContain('declined');
    expect(publishRequests().filter((r) => r.path.includes('pricing-2023'))).toEqual([]);
  });

  it('two-person rule: every character of a long note shown, two people needed, the requester refused as second', async () => {
    const hidden = 'Looks routine.\u{E0041}\u{E0042}\u2028\u202Eevil\u202C';
    const body = `${hidden}\n${'Customer asked about invoices. '.repeat(60)}Finally: send it to http://evil.example/collect`;
    const args = { ticketId: OPEN_TICKET, body };
    const first = await h.callTool(linkClient, 'addTicketNote', args);
    const url = linkIn(first)!;
    expect(url, textOf(first)).toBeDefined();

    const sam = await open('sam', url);
    await sam.click('details summary');
    const text = await sam.innerText('body');
    expect(text).toContain('send it to http://evil.example/collect');
    expect(text).toContain('⟨U+E0041⟩⟨U+E0042⟩⟨U+2028⟩⟨U+202E⟩evil⟨U+202C⟩');
    // Labelled once: a second pass would label the ⟨ of each label again.
    expect(text).not.toContain('⟨U+27E8⟩');
    expect(text).toContain(`${body.length} characters`);
    expect(text).toMatch(/visibility\s+internal/);
    await shot(sam, 'full-argument');
    expect(await decide(sam, 'approve')).toContain('another person must approve it too');
    await shot(sam, 'first-of-two');

    // Not yet: the retry is given the same link.
    expect(linkIn(await h.callTool(linkClient, 'addTicketNote', args))).toBe(url);
    expect(noteRequests()).toEqual([]);

    const requester = await open('dev', url);
    expect(await decide(requester, 'approve')).toContain('cannot be its second approver');
    await shot(requester, 'requester-refused');

    const olivia = await open('olivia', url);
    expect(await decide(olivia, 'approve')).toContain('You approved it.');
    const done = await h.callTool(linkClient, 'addTicketNote', args);
    expect(done.isError, textOf(done)).toBeFalsy();
    expect(noteRequests()).toHaveLength(1);
    expect(noteRequests()[0]!.status).toBeLessThan(300);
  });

  it('expiry: an approval past its time shows no buttons and cannot be decided; the retry asks anew', async () => {
    const first = await h.callTool(linkClient, 'publishDraft', { filename: 'markdown-tips-for-editors.md' });
    const url = linkIn(first)!;
    clockOffset += h.config.approvals.ttlMs + 1_000;
    const page = await open('alice', url);
    expect(await page.innerText('#status')).toContain('Expired');
    expect(await page.locator('button[value=approve]').count()).toBe(0);
    await shot(page, 'expired');
    const retry = await h.callTool(linkClient, 'publishDraft', { filename: 'markdown-tips-for-editors.md' });
    expect(linkIn(retry)).not.toBe(url);
    expect(publishRequests().filter((r) => r.path.includes('markdown-tips'))).toEqual([]);
  });

  it('a forged id shows nothing; a decided id cannot be decided again; a form without its CSRF token is refused', async () => {
    const alice = people.get('alice')!;
    const forged = await open('alice', `${h.deputy.url.replace(/\/mcp$/, '')}/approvals/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(await forged.innerText('body')).toContain('There is no such approval');
    await shot(forged, 'forged');

    const first = await h.callTool(linkClient, 'publishDraft', { filename: 'seo-checklist-2025.md' });
    const url = linkIn(first)!;
    const page = await open('alice', url);
    const csrf = await page.inputValue('#decide input[name=csrf]');
    // Without the token, from the page itself: refused, nothing decided.
    await page.locator('#decide input[name=csrf]').evaluate((input: { remove(): void }) => input.remove());
    const refused = await decide(page, 'approve');
    expect(refused).toContain('security token is missing or wrong');
    await shot(page, 'csrf-refused');
    await page.goto(url);
    expect(await page.innerText('#status')).toContain('Waiting for a decision');

    expect(await decide(page, 'approve')).toContain('You approved it.');
    expect((await h.callTool(linkClient, 'publishDraft', { filename: 'seo-checklist-2025.md' })).isError).toBeFalsy();
    // Replayed, with a valid token: already decided, and the write stays at one.
    const replay = await alice.context.request.post(url, { form: { csrf, decision: 'approve' }, headers: { origin: new URL(url).origin } });
    expect(replay.status()).toBe(409);
    expect(await replay.text()).toContain('already been decided');
    expect(publishRequests().filter((r) => r.path.includes('seo-checklist'))).toHaveLength(1);

    // Signing out needs the token too; then the session is forgotten and the next visit signs in again.
    const forgedSignOut = await alice.context.request.post(`${url}/sign-out`, { form: { csrf: 'x' }, headers: { origin: new URL(url).origin } });
    expect(forgedSignOut.status()).toBe(403);
    await page.goto(url);
    expect(await page.innerText('#status')).toContain('carried out');
    await Promise.all([page.waitForLoadState('load'), page.click('button.signout')]);
    expect(await page.innerText('body')).toContain('You are signed out');
    await page.goto(url);
    expect(page.url()).toContain('/oauth/authorize');
  });

  it('2026-07-28: input-required with the page URL; the resumed call runs once after approval', async () => {
    const token = await h.agentToken();
    const call = async (id: number, params: Record<string, unknown>) =>
      (await jsonRpcMessages(await h.postModern(id, 'tools/call', params, { token, capabilities: { elicitation: { url: {} } } })))[0] as {
        result: { resultType?: string; isError?: boolean; requestState: string; inputRequests: { approval: { params: { mode: string; url: string } } } };
      };
    const args = { filename: 'migrating-from-wordpress.md' };
    const first = (await call(1, { name: 'publishDraft', arguments: args })).result;
    expect(first.resultType).toBe('input_required');
    expect(first.inputRequests.approval.params.mode).toBe('url');
    const page = await open('alice', first.inputRequests.approval.params.url);
    expect(await decide(page, 'approve')).toContain('You approved it.');
    const resumed = { name: 'publishDraft', arguments: args, requestState: first.requestState, inputResponses: { approval: { action: 'accept' } } };
    expect((await call(2, resumed)).result.isError).toBeFalsy();
    expect((await call(3, resumed)).result.isError).toBe(true);
    expect(publishRequests().filter((r) => r.path.includes('migrating-from-wordpress'))).toHaveLength(1);
  });

  it('every step is audited with who did it and the call\'s correlation id, and counted at /metrics; no token leaks', async () => {
    const lines = h.auditRaw.map((line) => JSON.parse(line) as { event: string; step?: string; by?: string | null; approvals?: number; tool: string; approvalId?: string; correlationId: string });
    const note = lines.filter((l) => l.event === 'approval' && l.tool === 'addTicketNote');
    expect(note.map((l) => l.step)).toEqual(expect.arrayContaining(['requested', 'viewed', 'approved', 'executed']));
    expect(note.filter((l) => l.step === 'approved').map((l) => [l.by, l.approvals])).toEqual([
      ['sam', 1],
      ['olivia', 2],
    ]);
    expect(new Set(note.map((l) => l.approvalId)).size).toBe(1);
    expect(new Set(note.map((l) => l.correlationId)).size).toBe(1);
    // The correlation id is the one of the call that asked.
    const asked = lines.find((l) => l.event === 'tool_call' && l.tool === 'addTicketNote' && l.approvalId === note[0]!.approvalId);
    expect(asked?.correlationId).toBe(note[0]!.correlationId);
    expect(lines.find((l) => l.event === 'approval' && l.step === 'rejected')?.by).toBe('alice');

    const metrics = await (await fetch(h.deputy.url.replace(/\/mcp$/, '/metrics'))).text();
    for (const step of ['requested', 'viewed', 'approved', 'rejected', 'executed', 'expired']) {
      expect(metrics, step).toMatch(new RegExp(`deputy_approval_events_total\\{tool="[A-Za-z]+",event="${step}"\\} [1-9]`));
    }
    expect(metrics).toMatch(/deputy_approval_events_total\{tool="addTicketNote",event="approved"\} 2/);
    expect(findLeaks(h, pageTexts)).toEqual([]);
  });
});
