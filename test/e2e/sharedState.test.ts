/**
 * Shared state on Redis (src/README.md, "Shared state"): two Deputy replicas with the same
 * DEPUTY_REDIS_URL and DEPUTY_STATE_KEYS, in front of one mock backend, against a real
 * redis-server from Debian's packages (installed when missing, started on a free loopback port,
 * stopped by PID).
 *
 * - one user's call quota is counted once across both replicas;
 * - a 2026-07-28 approval consumed on one replica is refused on the other;
 * - an approval waiting on the approval page is kept in Redis, decided outside the replica that
 *   opened it, and carried out once through the other;
 * - `/readyz` answers from its cached state: a burst of probes costs one PING, one backend and one
 *   JWKS request;
 * - Redis stopped mid-run: reads go on, writes and approvals are refused with the documented message, the
 *   metrics and `/readyz` say so, the warning is logged once, not per call; Redis started again
 *   on the same port: everything recovers by itself.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { loadConfig } from '../../src/config.ts';
import { tools as generatedTools } from '../../src/generated/tools.ts';
import { serveHttp, type Deputy } from '../../src/serve.ts';
import { redisPendingApprovals } from '../../src/state/pendingApprovals.ts';
import { SharedStateUnavailable } from '../../src/state/singleUse.ts';
import { redisState } from '../../src/state/redisState.ts';
import { createAuditLog } from '../../src/tools/audit.ts';
import { createOutOfBandApprovals } from '../../src/tools/outOfBand.ts';
import { ALL_TOOL_SCOPES, jsonRpcMessages, postModernTo } from '../helpers/deputy.ts';
import { freePort } from '../helpers/debianPackages.ts';
import { ensureRedis, startRedis, type RedisServer } from '../helpers/redis.ts';

const CALLS = 6;
const WINDOW_SECONDS = 60;
const STATE_KEY = 'shared-state-test-key-0123456789abcdef';
/** Redis runs with a password, so the URL carries a secret that must never be shown. */
const REDIS_PASSWORD = 'redis-pw-7f3a9c2e5b1d4068';
const DRAFT = FIXTURES.draftInReview;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Replica {
  deputy: Deputy;
  base: string;
  logLines: string[];
  audit: { outcome: string; tool: string }[];
}

let redisBinary: string;
let redis: RedisServer;
let backend: MockBackend;
let replicas: [Replica, Replica];
let audience: string;
let probe: Redis;
const clients: Client[] = [];

async function startReplica(id: string, port: number, publicUrl: string): Promise<Replica> {
  const logLines: string[] = [];
  const audit: Replica['audit'] = [];
  const config = loadConfig({
    PORT: String(port),
    DEPUTY_PUBLIC_URL: publicUrl, // one token audience for both replicas, as behind a proxy
    DEPUTY_REPLICA_ID: id,
    DEPUTY_AUTH_ISSUER: backend.auth.issuer,
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
    DEPUTY_STATE_KEYS: STATE_KEY,
    DEPUTY_REDIS_URL: redis.url,
    DEPUTY_QUOTA_WINDOW_SECONDS: String(WINDOW_SECONDS),
    DEPUTY_QUOTA_CALLS: String(CALLS),
    DEPUTY_QUOTA_READ_TOOL_CALLS: '1000',
    DEPUTY_QUOTA_WRITE_TOOL_CALLS: '1000',
  });
  const deputy = await serveHttp(config, {
    tools: generatedTools,
    log: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    audit: createAuditLog({ destination: { write: (line: string) => void audit.push(JSON.parse(line) as Replica['audit'][number]) }, redactArguments: config.audit.redactArguments }),
  });
  return { deputy, base: `http://127.0.0.1:${port}`, logLines, audit };
}

async function token(subject: string): Promise<string> {
  const { accessToken } = await backend.auth.mintAccessToken({ subject, clientId: 'deputy-dev-agent', audience, scopes: ALL_TOOL_SCOPES });
  return accessToken;
}

/** A 2025-era SDK client with a session on one replica. */
async function connect(replica: Replica, subject: string): Promise<Client> {
  const client = new Client({ name: 'shared-state-e2e', version: '1.0.0' });
  client.onerror = () => {};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${replica.base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${await token(subject)}` } } }));
  clients.push(client);
  return client;
}

const read = (client: Client) => client.callTool({ name: 'getDraft', arguments: { filename: DRAFT } }) as Promise<CallToolResult>;
const text = (result: CallToolResult | undefined) => (result?.content[0]?.type === 'text' ? result.content[0].text : '');

let rpcId = 0;
type ModernAnswer = { result?: CallToolResult & { resultType?: string; requestState?: string }; error?: { code: number; message: string } };
async function modernCall(replica: Replica, as: string, params: Record<string, unknown>): Promise<ModernAnswer> {
  const [message] = await jsonRpcMessages(await postModernTo(`${replica.base}/mcp`, ++rpcId, 'tools/call', params, { token: as }));
  return message as ModernAnswer;
}

async function metric(replica: Replica, name: string): Promise<number> {
  const body = await (await fetch(`${replica.base}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

async function readyz(replica: Replica): Promise<{ status: number; body: { status: string; checks: Record<string, boolean>; degraded?: string[] } }> {
  const res = await fetch(`${replica.base}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, boolean>; degraded?: string[] } };
}

async function pings(): Promise<number> {
  const stats = await probe.info('commandstats');
  return Number(/cmdstat_ping:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

beforeAll(async () => {
  redisBinary = await ensureRedis();
  redis = await startRedis({ binary: redisBinary, port: await freePort(), password: REDIS_PASSWORD });
  probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  backend = await startMockBackend({ rateLimit: { limit: 10_000, windowSeconds: 60 } });
  const [portA, portB] = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${portA}`;
  audience = `${publicUrl}/mcp`;
  replicas = [await startReplica('r1', portA, publicUrl), await startReplica('r2', portB, publicUrl)];
}, 600_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  await Promise.all((replicas ?? []).map((replica) => replica.deputy.close()));
  probe?.disconnect();
  await backend?.close();
  await redis?.stop();
});

describe('two replicas sharing one Redis', () => {
  it('start connected: no start-up warning about Redis', () => {
    for (const replica of replicas) expect(replica.logLines.filter((line) => line.includes('SHARED STATE (Redis)'))).toEqual([]);
  });

  it('count one user’s calls once, whichever replica serves them', async () => {
    const [a, b] = replicas;
    const onA = await connect(a, 'roaming-user');
    const onB = await connect(b, 'roaming-user');
    for (let i = 0; i < CALLS / 2; i++) {
      expect((await read(onA)).isError).toBeFalsy();
      expect((await read(onB)).isError).toBeFalsy();
    }
    for (const client of [onA, onB]) {
      const refused = await read(client);
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(new RegExp(`^Quota reached \\(calls\\): this user may start ${CALLS} tool calls per ${WINDOW_SECONDS} s`));
    }
    // Another user has a quota of their own.
    expect((await read(await connect(b, 'other-user'))).isError).toBeFalsy();
  });

  it('refuse on one replica a 2026-07-28 approval already used on the other', async () => {
    const [a, b] = replicas;
    const as = await token('approver');
    const asked = await modernCall(a, as, { name: 'publishDraft', arguments: { filename: DRAFT } });
    expect(asked.result?.resultType).toBe('input_required');
    const resume = { name: 'publishDraft', arguments: { filename: DRAFT }, requestState: asked.result!.requestState, inputResponses: { approval: { action: 'accept', content: { confirm: true } } } };
    const done = await modernCall(b, as, resume); // resumed on the other replica: fine, once
    expect(done.result?.isError, JSON.stringify(done)).toBeFalsy();
    const replayed = await modernCall(a, as, resume);
    expect(replayed.result?.isError).toBe(true);
    expect(text(replayed.result)).toContain('already used');
    expect(backend.requestLog.forOperation('publishDraft')).toHaveLength(1);
    expect(a.audit.at(-1)).toMatchObject({ tool: 'publishDraft', outcome: 'approval_declined' });
  });

  it('an approval waiting on the approval page is kept in Redis, decided from anywhere, carried out once', async () => {
    const [a, b] = replicas;
    const as = await token('page-user');
    const args = { ticketId: FIXTURES.openTicket, body: 'approved on the page, through any replica' };
    const urlCall = async (replica: Replica, params: Record<string, unknown>) =>
      ((await jsonRpcMessages(await postModernTo(`${replica.base}/mcp`, ++rpcId, 'tools/call', params, { token: as, capabilities: { elicitation: { url: {} } } })))[0] as {
        result: CallToolResult & { resultType?: string; requestState: string; inputRequests: { approval: { params: { mode: string; url: string } } } };
      }).result;
    const notes = () => backend.requestLog.forOperation('addTicketNote').length;
    const notesBefore = notes();
    const asked = await urlCall(a, { name: 'addTicketNote', arguments: args });
    expect(asked.resultType).toBe('input_required');
    expect(asked.inputRequests.approval.params.mode).toBe('url');
    const id = asked.inputRequests.approval.params.url.split('/').at(-1)!;

    // Opened by replica a, in Redis for every replica: b's page sends the person to sign in, it does not say "no such approval".
    const store = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    expect(await store.exists(`deputy:pending:${id}`)).toBe(1);
    expect((await fetch(`${b.base}/approvals/${id}`, { redirect: 'manual' })).status).toBe(303);

    // Decided as the page decides (outOfBand.decide on the shared store), outside both replicas.
    const page = createOutOfBandApprovals({ store: redisPendingApprovals(store), pageUrl: (x) => x, ttlMs: 600_000, record: () => {}, schedule: () => {} });
    expect((await page.decide(id, { subject: 'editor', scopes: ALL_TOOL_SCOPES, roles: [] }, true)).ok).toBe(true);
    const resume = { name: 'addTicketNote', arguments: args, requestState: asked.requestState, inputResponses: { approval: { action: 'accept' } } };
    const done = await urlCall(b, resume);
    expect(done.isError, JSON.stringify(done)).toBeFalsy();
    expect((await urlCall(a, resume)).isError).toBe(true);
    expect(notes()).toBe(notesBefore + 1);
    store.disconnect();
  });

  it('/readyz answers from its cached state: 50 unauthenticated probes cost one PING, one backend and one JWKS request', async () => {
    const [a] = replicas;
    await probe.connect();
    await sleep(5_100); // the cached state is now stale: the next probe refreshes it, once
    const before = await pings();
    const outbound = () => backend.requestLog.entries().filter((entry) => entry.path === new URL(backend.url).pathname || entry.path === '/.well-known/jwks.json').length;
    const outboundBefore = outbound();
    const answers = await Promise.all(Array.from({ length: 50 }, () => readyz(a)));
    expect(await pings()).toBe(before + 1);
    await expect.poll(outbound, { timeout: 2_000, interval: 50 }).toBe(outboundBefore + 2);
    await sleep(200); // and no more arrive later
    expect(outbound()).toBe(outboundBefore + 2);
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: { status: 'ready', checks: { backend: true, authorizationServer: true, sharedState: true } } });
  });
});

describe('Redis stopped mid-run, then back', () => {
  it('reads go on, writes and approvals are refused, metrics and /readyz say so; all recovers when Redis returns', async () => {
    const [a, b] = replicas;
    const reader = await connect(a, 'outage-reader');
    const writer = await token('outage-writer');
    // An approval asked for before the outage, resumed during it.
    const approver = await token('outage-approver');
    const approved = { ticketId: FIXTURES.openTicket, body: 'approved before the outage' };
    const asked = await modernCall(a, approver, { name: 'addTicketNote', arguments: approved });
    expect(asked.result?.resultType).toBe('input_required');
    const resume = { name: 'addTicketNote', arguments: approved, requestState: asked.result!.requestState, inputResponses: { approval: { action: 'accept', content: { confirm: true } } } };
    const approvedNotes = () => backend.requestLog.forOperation('addTicketNote').length;
    const approvedNotesBefore = approvedNotes();
    const errorsBefore = await metric(a, 'deputy_shared_state_errors_total');
    expect(await metric(a, 'deputy_shared_state_up')).toBe(1);

    probe.disconnect();
    const outageStart = Date.now();
    await redis.stop();
    await expect.poll(() => metric(a, 'deputy_shared_state_up'), { timeout: 5_000, interval: 100 }).toBe(0);

    // Reads: served, counted in each replica's memory meanwhile.
    for (let i = 0; i < 4; i++) expect((await read(reader)).isError, 'a read during the outage').toBeFalsy();
    expect((await read(await connect(b, 'outage-reader'))).isError).toBeFalsy();

    // Writes: refused before anything is asked or sent, on both replicas.
    const notesBefore = backend.requestLog.forOperation('addTicketNote').length;
    for (const replica of replicas) {
      const write = await modernCall(replica, writer, { name: 'addTicketNote', arguments: { ticketId: FIXTURES.openTicket, body: 'during the outage' } });
      expect(write.result?.isError).toBe(true);
      expect(text(write.result)).toBe(
        "addTicketNote changes data, and Deputy cannot reach its shared state right now to check this user's limits and approvals, so it refuses rather than guess. Nothing was done; read tools still work. Retry in a minute.",
      );
      expect(replica.audit.at(-1)).toMatchObject({ tool: 'addTicketNote', outcome: 'shared_state_unavailable' });
    }
    expect(backend.requestLog.forOperation('addTicketNote')).toHaveLength(notesBefore);
    const approvedDuringOutage = await modernCall(b, approver, resume);
    expect(text(approvedDuringOutage.result)).toMatch(/^addTicketNote changes data, and Deputy cannot reach its shared state right now/);
    expect(approvedNotes()).toBe(approvedNotesBefore);

    // A single-use record cannot be written either: the approval path fails closed too.
    const direct = redisState(redis.url, { log: pino({ level: 'silent' }) });
    await expect(direct.approvals.consume('outage-approval', Date.now() + 60_000)).rejects.toBeInstanceOf(SharedStateUnavailable);
    await direct.close();

    expect(await metric(a, 'deputy_shared_state_errors_total')).toBeGreaterThan(errorsBefore);
    await expect.poll(async () => (await readyz(a)).body.status, { timeout: 7_000, interval: 250 }).toBe('degraded');
    const degraded = await readyz(a);
    expect(degraded.status).toBe(200); // reads go on: the load balancer keeps the replica
    expect(degraded.body.checks.sharedState).toBe(false);
    expect(degraded.body.degraded).toEqual([expect.stringMatching(/^sharedState: Redis does not answer: reads go on with per-replica limits; writes and approvals are refused/)]);
    // One warning per 30 s of outage (one so far, unless this machine is very slow), not one per
    // call or reconnect attempt, of which there were several by now.
    const warnings = a.logLines.filter((line) => line.includes('SHARED STATE (Redis) UNAVAILABLE')).length;
    expect(warnings).toBeGreaterThanOrEqual(1);
    expect(warnings).toBeLessThanOrEqual(1 + Math.floor((Date.now() - outageStart) / 30_000));

    redis = await startRedis({ binary: redisBinary, port: redis.port, password: REDIS_PASSWORD });
    await expect.poll(() => metric(a, 'deputy_shared_state_up'), { timeout: 8_000, interval: 100 }).toBe(1);
    await expect.poll(() => metric(b, 'deputy_shared_state_up'), { timeout: 8_000, interval: 100 }).toBe(1);
    const write = await modernCall(b, writer, { name: 'addTicketNote', arguments: { ticketId: FIXTURES.openTicket, body: 'after the outage' } });
    expect(write.result?.resultType, JSON.stringify(write)).toBe('input_required');
    // The approval refused during the outage was not used up: it goes through once, now.
    const approvedAfter = await modernCall(a, approver, resume);
    expect(approvedAfter.result?.isError, JSON.stringify(approvedAfter)).toBeFalsy();
    expect(approvedNotes()).toBe(approvedNotesBefore + 1);
    await expect.poll(async () => (await readyz(a)).body.status, { timeout: 7_000, interval: 250 }).toBe('ready');
    expect(a.logLines.some((line) => line.includes('shared state (Redis) reachable again'))).toBe(true);
    // The Redis password is in no log line, probe or metric of either replica.
    const shown = [...a.logLines, ...b.logLines, JSON.stringify(degraded), await (await fetch(`${a.base}/metrics`)).text()];
    expect(shown.filter((line) => line.includes(REDIS_PASSWORD))).toEqual([]);
  });
});
