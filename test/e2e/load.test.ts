/**
 * Load and faults: 50 concurrent agent sessions (SDK clients over Streamable HTTP;
 * a third accept approvals, a third decline them, a third cannot be asked) each make a fixed
 * number of calls over all seven tools while the mock backend rate-limits Deputy's tokens,
 * injects every fault kind on every operation (armed with `count`, so they come and go, and
 * cleared during the run) and is restarted once in the middle (same port, new store, new
 * signing key). The run is recorded once (beforeAll); each test then checks one property of it:
 *
 *   - Deputy stays up: /healthz and /readyz answer 200 afterwards, and a new agent can work;
 *   - every call is answered, in bounded time: a result (success, or isError with a message
 *     from toolErrors.ts), never a protocol error or a hang — a hung backend is given up after
 *     the per-attempt timeout, retries included;
 *   - no write happens twice: per backend lifetime, each Idempotency-Key did its work at most
 *     once (repeats are marked replays), each draft was published at most once and each
 *     distinct approved note exists at most once;
 *   - the restarted backend rejects Deputy's cached client-credentials tokens (401) and Deputy
 *     recovers by itself (invalidate → fetch a new one), so no agent ever sees that 401;
 *   - memory returns near its baseline once the sessions are gone (Deputy runs in this process).
 *
 * Bounded: SESSIONS × CALLS calls, a chaos step every CHAOS_STEP_MS, loopback only.
 */
import vm from 'node:vm';
import v8 from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault, FaultKind } from '../../mock-backend/faults.ts';
import type { RequestLogEntry } from '../../mock-backend/requestLog.ts';
import type { MockBackend } from '../../mock-backend/server.ts';
import { createRng, type Rng } from '../../mock-backend/seed.ts';
import type { TicketNote } from '../../mock-backend/apiTypes.ts';
import { setup, textOf, type AuditLine, type Harness } from '../helpers/deputy.ts';

const SESSIONS = 50;
const CALLS_PER_SESSION = 20;
const SUBJECTS = 10; // sessions share subjects, so identical approved writes repeat (same Idempotency-Key)
const PER_ATTEMPT_MS = 600; // DEPUTY_BACKEND_TIMEOUT_MS: per attempt
const RETRIES = 1;
const MAX_RETRY_AFTER_S = 1;
const RATE_LIMIT = { limit: 20, windowSeconds: 1 }; // per Deputy token (one per scope set)
const CHAOS_STEP_MS = 120;
const RESTART_AFTER = 0.4; // of all calls answered
/** Backstop only: a call the SDK gives up on is a failure of the "every call is answered" test. */
const SDK_REQUEST_TIMEOUT_MS = 20_000;
/** Worst case of one backend operation: every attempt times out, with the longest wait between. */
const PER_OPERATION_MS = (RETRIES + 1) * PER_ATTEMPT_MS + RETRIES * (MAX_RETRY_AFTER_S * 1000 + 100);
/** Two cores shared with the mock, 50 clients and the rest of the suite: scheduling delay. */
const SLACK_MS = 2_500;

const OPERATIONS = ['listDrafts', 'getDraft', 'publishDraft', 'getCustomer', 'searchCustomers', 'listCustomerTickets', 'addTicketNote'] as const;
const FAULT_KINDS: readonly FaultKind[] = ['delay', 'hang', 'reset', 'status', 'malformed', 'oversized', 'body'];
const TOOLS = ['listDrafts', 'getDraft', 'publishDraft', 'getCustomerSummary', 'searchCustomers', 'listCustomerTickets', 'addTicketNote'] as const;
type ToolName = (typeof TOOLS)[number];
/** Backend operations one call makes when nothing fails (publishDraft looks the draft up first). */
const OPERATIONS_PER_CALL: Record<ToolName, number> = {
  listDrafts: 1, getDraft: 1, publishDraft: 2, getCustomerSummary: 1, searchCustomers: 1, listCustomerTickets: 1, addTicketNote: 1,
};
const WRITES = ['publishDraft', 'addTicketNote'] as const;
/** drafts:read, drafts:publish, customers:read, tickets:read, tickets:write: one Deputy token each. */
const BACKEND_SCOPE_SETS = 5;

const PUBLISHABLE = ['q3-pricing-update.md', 'pricing-2023.md', 'markdown-tips-for-editors.md', 'seo-checklist-2025.md', 'holiday-support-hours.md', 'launch-week-recap.md'];
const DRAFTS = [...PUBLISHABLE, 'no-such-draft.md'];

/** Every text an agent may get back from this run, from src/tools/toolErrors.ts. */
const KNOWN_ERRORS: readonly RegExp[] = [
  /^The admin backend is rate limiting this operation; retry after \d+ s\.$/,
  /^The admin backend is unavailable right now(; retry after \d+ s|; try again in a minute)\.$/,
  /^The admin backend did not answer in time\. It may be overloaded; try again later\. If this was a write, check its result before retrying\.$/,
  /^The admin backend could not be reached \(connection failed or was reset\)\. Try again in a minute\.$/,
  /^The admin backend sent a response that could not be read\. Try again later; if it persists, report it to the operators\.$/,
  /^The admin backend response was larger than this tool allows\. Narrow the request \(filters, a smaller limit\) and try again\.$/,
  /^(The admin backend's answer to \w+|\w+ was carried out \(the admin backend accepted it\), but its answer) does not match its API description \(.+\), so no result can be shown\./,
  /^Not found: (filename|customerId|ticketId) '[^']+' does not exist\. Call \w+ to find valid values\.$/,
  /^Conflict: (filename|ticketId) '[^']+' is not in a state that allows (publishDraft|addTicketNote) \(for example, it was already done\)\. Nothing was changed; check its current state before retrying\.$/,
  /^The user declined (publishDraft|addTicketNote)\. Nothing was done\. Do not retry unless the user asks again\.$/,
  // The default refusal without elicitation, or the tool's own text from the manifest.
  /needs a human's approval/,
];
/** Only while the backend (and its token endpoint) is down: Deputy cannot get a token at all. */
const OPERATOR_TEXT = 'Deputy could not complete this call because of a server-side configuration problem. The operators have been notified in the logs; do not retry.';

type Approver = 'accept' | 'decline' | 'none';

interface CallRecord {
  session: number;
  subject: string;
  approver: Approver;
  tool: ToolName;
  args: Record<string, unknown>;
  startedAt: number;
  ms: number;
  /** `ok` | `isError` with its text | `failed`: a protocol or transport error, or no answer. */
  outcome: 'ok' | 'isError' | 'failed';
  text: string;
  result?: CallToolResult;
}

interface Epoch {
  log: RequestLogEntry[];
  publications: { filename: string }[];
  /** Notes added during the run (the seed's excluded). */
  newNotes: TicketNote[];
}

interface Memory {
  heapUsed: number;
  rss: number;
  external: number;
}

let h: Harness;
const calls: CallRecord[] = [];
const epochs: Epoch[] = [];
const faultsArmed: Record<FaultKind, number> = { delay: 0, hang: 0, reset: 0, status: 0, malformed: 0, oversized: 0, body: 0 };
let restart: { startedAt: number; endedAt: number; endedAtWall: number } | undefined;
let seedNoteIds: Set<string>;
let memory: { baseline: Memory; after: Memory; gc: boolean } | undefined;
let runMs = 0;

/** `global.gc`, or the same function obtained at run time (vitest does not start workers with --expose-gc). */
function collector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

async function measure(gc: (() => void) | undefined): Promise<Memory> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { heapUsed, rss, external } = process.memoryUsage();
  return { heapUsed, rss, external };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function argsFor(tool: ToolName, subject: string, rng: Rng, ids: { customers: string[]; tickets: string[] }): Record<string, unknown> {
  switch (tool) {
    case 'listDrafts':
      return rng.chance(0.5) ? { limit: rng.int(1, 10) } : { limit: rng.int(1, 5), status: rng.pick(['draft', 'in_review', 'published']) };
    case 'getDraft':
      return { filename: rng.pick(DRAFTS) };
    case 'publishDraft':
      return { filename: rng.pick(PUBLISHABLE) };
    case 'getCustomerSummary':
      return { customerId: rng.pick(ids.customers) };
    case 'searchCustomers':
      return { q: rng.pick(['a', 'north', 'studio', 'cus_', 'zzz-nothing']), limit: rng.int(1, 10) };
    case 'listCustomerTickets':
      return { customerId: rng.pick(ids.customers), limit: rng.int(1, 5) };
    case 'addTicketNote':
      // Three distinct notes per subject and ticket: repeats are the same approved action.
      return { ticketId: rng.pick(ids.tickets), body: `Load test note from ${subject}, #${rng.int(0, 2)}.` };
  }
}

/** `first`: the first arming of each kind, whose answer the agents must see at least once. */
function faultOf(kind: FaultKind, rng: Rng, first = false): Fault {
  const count = rng.int(1, 4);
  switch (kind) {
    case 'delay':
      return { kind, ms: rng.pick([50, 200, PER_ATTEMPT_MS + 300]), count }; // the last is over the per-attempt timeout
    case 'hang':
      return { kind, count: Math.min(count, 2) };
    case 'reset':
      return { kind, count };
    case 'status':
      // The first is a 503 outlasting every retry of two calls, so some agent is told the backend
      // is unavailable however the quotas and the fair share thin out the calls that reach it.
      if (first) return { kind, status: 503, count: 2 * (RETRIES + 1) };
      return { kind, status: rng.pick([500, 502, 503, 504] as const), count };
    case 'malformed':
      return { kind, count };
    case 'oversized':
      return { kind, bytes: 1536 * 1024, count: 1 }; // over Deputy's 1 MiB response cap
    case 'body':
      // Breaks the spec's shape; one request at a time, so clean answers still reach every operation.
      return { kind, body: ['a list', 'where every tool expects an object'], count: 1 };
  }
}

/** Arms, rotates and clears faults until `stop()`; the first steps arm every kind once. */
function chaos(rng: Rng): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    for (let step = 0; running && step < 2_000; step++) {
      const backend = h.backend;
      const operation = OPERATIONS[step % OPERATIONS.length]!;
      if (step > 0 && step % 25 === 0) backend.faults.clear();
      else if (step % 7 === 6) backend.faults.clear(rng.pick(OPERATIONS));
      else {
        const kind = step < FAULT_KINDS.length * 2 ? FAULT_KINDS[step % FAULT_KINDS.length]! : rng.pick(FAULT_KINDS);
        backend.faults.set(operation, faultOf(kind, rng, step < FAULT_KINDS.length));
        faultsArmed[kind]++;
      }
      await sleep(CHAOS_STEP_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

function snapshot(backend: MockBackend): Epoch {
  const newNotes = [...backend.store.notes.values()].flat().filter((note) => !seedNoteIds.has(note.id));
  return { log: backend.requestLog.entries(), publications: backend.store.events.publications.map((p) => ({ filename: p.filename })), newNotes };
}

async function agentSession(session: number, client: Client, subject: string, approver: Approver, ids: { customers: string[]; tickets: string[] }, onAnswered: () => void) {
  const rng = createRng(0x10ad + session);
  let lastWrite: { tool: ToolName; args: Record<string, unknown> } | undefined;
  for (let n = 0; n < CALLS_PER_SESSION; n++) {
    // Every tool at least twice per session, in a shuffled order; the rest at random. The last
    // call of a session repeats its last write, as an agent retrying after an unclear answer would.
    const repeat = n === CALLS_PER_SESSION - 1 ? lastWrite : undefined;
    const tool = repeat?.tool ?? (n < TOOLS.length * 2 ? TOOLS[(n + session) % TOOLS.length]! : rng.pick(TOOLS));
    const args = repeat?.args ?? argsFor(tool, subject, rng, ids);
    if ((WRITES as readonly string[]).includes(tool)) lastWrite = { tool, args };
    const startedAt = performance.now();
    const record: CallRecord = { session, subject, approver, tool, args, startedAt, ms: 0, outcome: 'failed', text: '' };
    try {
      const result = (await client.callTool({ name: tool, arguments: args }, undefined, { timeout: SDK_REQUEST_TIMEOUT_MS })) as CallToolResult;
      record.result = result;
      record.outcome = result.isError ? 'isError' : 'ok';
      record.text = textOf(result);
    } catch (error) {
      record.text = `${(error as Error).name}: ${(error as Error).message}`;
    }
    record.ms = performance.now() - startedAt;
    calls.push(record);
    onAnswered();
  }
}

beforeAll(async () => {
  h = await setup({
    env: {
      DEPUTY_BACKEND_TIMEOUT_MS: String(PER_ATTEMPT_MS),
      DEPUTY_BACKEND_MAX_RETRIES: String(RETRIES),
      DEPUTY_BACKEND_MAX_RETRY_AFTER_SECONDS: String(MAX_RETRY_AFTER_S),
      // The backend's own 429s are part of the chaos here; the fair share is tested in fairShare.test.ts.
      DEPUTY_BACKEND_FAIR_SHARE: '1',
    },
    // The mock's own response validation is for its developers; it would only add CPU on the one event loop here.
    backend: { rateLimit: RATE_LIMIT, validateResponses: false },
  });
  seedNoteIds = new Set([...h.backend.store.notes.values()].flat().map((note) => note.id));
  const ids = {
    customers: [...h.backend.store.customers.keys()].slice(0, 12),
    tickets: [...h.backend.store.tickets.keys()].slice(0, 12), // open and closed ones (closed → 409)
  };
  const gc = collector();

  // Warm-up: every tool once, so the baseline includes the code paths, token cache and pools.
  const warm = await h.connect({ onElicit: () => ({ action: 'accept', content: { confirm: true } }) });
  for (const tool of TOOLS) await warm.callTool({ name: tool, arguments: argsFor(tool, 'warm-up', createRng(1), ids) });
  await (warm.transport as StreamableHTTPClientTransport).terminateSession();
  await warm.close();
  h.backend.reset();
  h.logLines.length = 0;
  h.auditRaw.length = 0;
  const baseline = await measure(gc);

  const approvers: Approver[] = ['accept', 'decline', 'none'];
  const sessions = await Promise.all(
    Array.from({ length: SESSIONS }, async (_, i) => {
      const approver = approvers[i % 3]!;
      const subject = `agent-${i % SUBJECTS}`;
      const client = await h.connect({
        subject,
        ...(approver === 'accept' ? { onElicit: () => ({ action: 'accept' as const, content: { confirm: true } }) } : {}),
        ...(approver === 'decline' ? { onElicit: () => ({ action: 'decline' as const }) } : {}),
      });
      return { client, subject, approver };
    }),
  );

  const total = SESSIONS * CALLS_PER_SESSION;
  let answered = 0;
  let restarting: Promise<void> | undefined;
  const onAnswered = () => {
    answered++;
    if (!restarting && answered >= total * RESTART_AFTER) {
      // A backend restart in the middle: everything in flight to it fails; Deputy keeps serving.
      restarting = (async () => {
        const old = h.backend;
        const startedAt = performance.now();
        await h.restartBackend();
        restart = { startedAt, endedAt: performance.now(), endedAtWall: Date.now() };
        epochs.push(snapshot(old));
      })();
    }
  };

  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const faults = chaos(createRng(0xfa17));
  await Promise.all(sessions.map((s, i) => agentSession(i, s.client, s.subject, s.approver, ids, onAnswered)));
  await faults.stop();
  await restarting;
  runMs = performance.now() - started;
  lag.disable();
  const used = process.cpuUsage(cpu);
  loopDelay = { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6, cpuMs: (used.user + used.system) / 1000 };
  h.backend.faults.clear();
  epochs.push(snapshot(h.backend));

  // Sessions end (DELETE), the harness forgets its copies, then memory is measured again.
  await Promise.all(sessions.map(async ({ client }) => {
    await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession().catch(() => {});
    await client.close();
  }));
  for (let i = 0; i < 50 && h.deputy.sessions.size > 0; i++) await sleep(100);
  sessionsLeft = h.deputy.sessions.size;
  const audit = h.auditLines();
  h.logLines.length = 0;
  h.auditRaw.length = 0;
  h.backend.requestLog.clear();
  for (const call of calls) delete call.result;
  const after = await measure(gc);
  memory = { baseline, after, gc: gc !== undefined };
  auditLines = audit;
}, 120_000);

let auditLines: AuditLine[] = [];
let sessionsLeft = -1;
let loopDelay: { p50: number; p99: number; max: number; cpuMs: number } | undefined;

afterAll(async () => {
  await h?.teardown();
});

function overlapsRestart(call: CallRecord): boolean {
  return restart !== undefined && call.startedAt <= restart.endedAt && call.startedAt + call.ms >= restart.startedAt;
}

describe(`${SESSIONS} sessions × ${CALLS_PER_SESSION} calls under rate limits, every fault kind and a backend restart`, () => {
  it('every call is answered: a result, success or a known isError text; never a protocol error', () => {
    expect(calls).toHaveLength(SESSIONS * CALLS_PER_SESSION);
    const failed = calls.filter((c) => c.outcome === 'failed');
    expect(failed.map((c) => `${c.tool}: ${c.text}`)).toEqual([]);
    const unknown = calls.filter((c) => c.outcome === 'isError' && !KNOWN_ERRORS.some((re) => re.test(c.text)) && !(c.text === OPERATOR_TEXT && overlapsRestart(c)));
    expect(unknown.map((c) => `${c.tool} ${JSON.stringify(c.args)}: ${c.text}`)).toEqual([]);

    const byOutcome = (outcome: CallRecord['outcome']) => calls.filter((c) => c.outcome === outcome).length;
    console.info(
      `load: ${calls.length} calls in ${Math.round(runMs)} ms; ${byOutcome('ok')} ok, ${byOutcome('isError')} isError; ` +
        `faults armed ${JSON.stringify(faultsArmed)}; restart took ${Math.round(restart!.endedAt - restart!.startedAt)} ms`,
    );
    // Work got done despite the chaos, by every tool.
    for (const tool of TOOLS) expect(calls.some((c) => c.tool === tool && c.outcome === 'ok'), tool).toBe(true);
  });

  it('no call is held past its timeout: per backend operation, every attempt and the wait between, plus slack', () => {
    const late = calls.filter((c) => {
      const operations = OPERATIONS_PER_CALL[c.tool] * (overlapsRestart(c) ? 2 : 1); // a 401 costs one more round
      return c.ms > operations * PER_OPERATION_MS + SLACK_MS;
    });
    expect(late.map((c) => `${c.tool} ${Math.round(c.ms)} ms: ${c.text}`)).toEqual([]);
    const slowest = Math.max(...calls.map((c) => c.ms));
    const sorted = calls.map((c) => c.ms).sort((a, b) => a - b);
    console.info(`load: call ms p50 ${Math.round(sorted[sorted.length >> 1]!)} p90 ${Math.round(sorted[Math.floor(sorted.length * 0.9)]!)} p99 ${Math.round(sorted[Math.floor(sorted.length * 0.99)]!)}; event loop delay ${JSON.stringify(loopDelay)}`);
    console.info(`load: slowest call ${Math.round(slowest)} ms (bound per operation ${PER_OPERATION_MS} ms + ${SLACK_MS} ms slack)`);
    // Hangs happened and were given up on: timeouts reached agents as the timeout text.
    const hung = epochs.flatMap((e) => e.log).filter((e) => e.fault === 'hang');
    expect(hung.length).toBeGreaterThan(0);
    // Deputy hung up (status 0), unless a clear() released the request first and the mock answered it.
    expect(hung.some((e) => e.status === 0)).toBe(true);
    const deputySide = auditLines.map((l) => l.durationMs).sort((a, b) => b - a);
    console.info(`load: slowest calls inside Deputy (audit) ${deputySide.slice(0, 5).map(Math.round).join(', ')} ms; slowest at the client ${[...calls].sort((a, b) => b.ms - a.ms).slice(0, 5).map((c) => `${c.tool} ${Math.round(c.ms)}`).join(', ')}`);
    expect(calls.some((c) => c.text.startsWith('The admin backend did not answer in time.'))).toBe(true);
  });

  it('the backend saw every fault kind and its rate limit, and agents got the matching answers', () => {
    const log = epochs.flatMap((e) => e.log);
    const hits = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, log.filter((e) => e.fault === kind).length]));
    const limited = log.filter((e) => e.status === 429).length;
    console.info(`load: backend requests ${log.length}; fault hits ${JSON.stringify(hits)}; 429s ${limited}; 401s ${log.filter((e) => e.status === 401).length}`);
    for (const kind of FAULT_KINDS) expect(hits[kind], kind).toBeGreaterThan(0);
    expect(limited).toBeGreaterThan(0);
    const texts = new Set(calls.map((c) => c.text.split(/[;.(]/)[0]));
    for (const start of ['The admin backend is rate limiting this operation', 'The admin backend is unavailable right now', 'The admin backend could not be reached ', 'The admin backend sent a response that could not be read', 'The admin backend response was larger than this tool allows', "The admin backend's answer to "]) {
      expect([...texts].some((t) => (t ?? "").startsWith(start)), start).toBe(true);
    }
  });

  it('approvals follow each client: accepted ones may write, declined and unsupported ones never reach a write', () => {
    for (const c of calls.filter((c) => (WRITES as readonly string[]).includes(c.tool))) {
      // The approval lookup (publishDraft) may fail first, or find no token while the backend restarts.
      if (c.approver === 'decline' && !(c.text === OPERATOR_TEXT && overlapsRestart(c))) expect(c.text).toMatch(/^(The user declined|The admin backend|Not found)/);
      if (c.approver === 'none') expect(c.text).toMatch(/needs a human's approval/);
    }
    const writers = new Set(auditLines.filter((l) => (WRITES as readonly string[]).includes(l.tool) && l.backend?.status && l.approval === 'accepted').map((l) => l.caller.subject));
    expect(writers.size).toBeGreaterThan(0);
    expect(auditLines.filter((l) => l.approval === 'declined' && l.backend !== null && l.tool === 'addTicketNote')).toEqual([]);
  });

  it('no write happens twice: per backend lifetime, one effective write per Idempotency-Key, draft and note; repeats are marked replays', () => {
    expect(epochs).toHaveLength(2);
    let replays = 0;
    let effectiveWrites = 0;
    for (const [index, epoch] of epochs.entries()) {
      for (const operation of WRITES) {
        const entries = epoch.log.filter((e) => e.operationId === operation);
        // Answered by the handler (not a fault standing in for it), with its first, real reply. A
        // request held by `hang` is handled normally once the fault is cleared while its client
        // still waits: that write happened too.
        const effective = entries.filter((e) => e.status >= 200 && e.status < 300 && !e.idempotentReplay && (e.fault === undefined || e.fault === 'delay' || e.fault === 'hang'));
        const perKey = new Map<string, number>();
        for (const e of effective) {
          expect(e.idempotencyKey, `${operation} without an Idempotency-Key`).toMatch(/^deputy-/);
          perKey.set(e.idempotencyKey!, (perKey.get(e.idempotencyKey!) ?? 0) + 1);
        }
        expect([...perKey].filter(([, n]) => n > 1), `epoch ${index} ${operation}`).toEqual([]);
        // A replayed success replays a write that happened in this backend's lifetime: one logged
        // 2xx, or one whose answer was lost because Deputy stopped waiting (status 0) while the
        // handler went on and stored it — which a slow machine makes common.
        const lostKeys = new Set(entries.filter((e) => e.status === 0 && e.fault === undefined).map((e) => e.idempotencyKey));
        for (const replay of entries.filter((e) => e.idempotentReplay && e.status < 300)) {
          expect(perKey.has(replay.idempotencyKey!) || lostKeys.has(replay.idempotencyKey), `replay of ${replay.idempotencyKey}`).toBe(true);
        }
        replays += entries.filter((e) => e.idempotentReplay).length;
        effectiveWrites += effective.length;

        // The store agrees: the work itself happened once. A write whose answer was lost when the
        // backend closed (status 0, no fault) may have happened without a logged 2xx.
        const lost = entries.filter((e) => e.status === 0 && e.fault === undefined).length;
        const done = operation === 'publishDraft' ? epoch.publications.length : epoch.newNotes.length;
        expect(done).toBeGreaterThanOrEqual(effective.length);
        expect(done).toBeLessThanOrEqual(effective.length + lost);
      }
      const filenames = epoch.publications.map((p) => p.filename);
      expect(new Set(filenames).size, `epoch ${index}: a draft published twice`).toBe(filenames.length);
      const notes = epoch.newNotes.map((n) => `${n.ticketId} ${n.body}`);
      expect(new Set(notes).size, `epoch ${index}: the same approved note written twice`).toBe(notes.length);
    }
    console.info(`load: ${effectiveWrites} effective writes, ${replays} idempotent replays`);
    expect(effectiveWrites).toBeGreaterThan(0);
    expect(replays).toBeGreaterThan(0);
  });

  it('after the restart, Deputy’s old backend tokens were refused (401) and it fetched new ones itself', () => {
    const after = epochs[1]!.log;
    const rejected = after.filter((e) => e.status === 401);
    expect(rejected.length).toBeGreaterThan(0);
    // Only requests that carried a token from before the restart: all within the first seconds.
    const lastRejected = Math.max(...rejected.map((e) => Date.parse(e.time)));
    expect(lastRejected - restart!.endedAtWall).toBeLessThan(5_000);
    // One fresh token per scope set (single flight), not one per rejected call.
    const tokenFetches = after.filter((e) => e.path === '/oauth/token').length;
    console.info(`load: after the restart ${rejected.length} requests with old tokens got 401, then ${tokenFetches} token fetches`);
    expect(tokenFetches).toBeGreaterThan(0);
    expect(tokenFetches).toBeLessThanOrEqual(2 * BACKEND_SCOPE_SETS);
    // The restarted backend knows none of the old tokens, so every success it logged carried a
    // token Deputy fetched after the restart: each operation must have one.
    const served = new Set(after.filter((e) => e.status >= 200 && e.status < 300 && e.tokenKind === 'jwt').map((e) => e.operationId));
    expect(OPERATIONS.filter((operation) => !served.has(operation)), 'operations never served after the restart').toEqual([]);
    // No agent saw the 401: Deputy dropped the token and retried once with a fresh one.
    expect(auditLines.filter((l) => l.backend?.errorCode === 'BACKEND_UNAUTHORIZED')).toEqual([]);
    // Calls that did not overlap the restart never got the operator text.
    expect(calls.filter((c) => c.text === OPERATOR_TEXT && !overlapsRestart(c))).toEqual([]);
  });

  it('every call is audited exactly once', () => {
    expect(auditLines).toHaveLength(calls.length);
    expect(auditLines.filter((l) => l.outcome === 'ok')).toHaveLength(calls.filter((c) => c.outcome === 'ok').length);
  });

  it('memory returns near its baseline once the sessions are closed', () => {
    expect(sessionsLeft).toBe(0);
    const { baseline, after, gc } = memory!;
    console.info(
      `load: memory (gc ${gc ? 'forced' : 'not available'}) heapUsed ${MiB(baseline.heapUsed)} → ${MiB(after.heapUsed)} MiB, ` +
        `rss ${MiB(baseline.rss)} → ${MiB(after.rss)} MiB, external ${MiB(baseline.external)} → ${MiB(after.external)} MiB`,
    );
    // Heap after a forced GC. The same heap holds this test's records of the run (calls, request
    // logs, audit lines), code compiled for the fault and restart paths, and idle kept-alive
    // sockets (SDK clients, Deputy's pool, the mock): about 10 MiB when measured with heap
    // snapshots, none of it per-session or per-call state of Deputy's (the sessions are gone,
    // checked above). A leak of the kind the reference generator had (~30 KiB per call) would
    // add ~30 MiB here and fail.
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(gc ? 20 * 1024 * 1024 : 64 * 1024 * 1024);
  });

  it('Deputy stays up: health and readiness 200, and a new agent with a token from the restarted server can work', async () => {
    const origin = new URL(h.deputy.url).origin;
    const health = await fetch(`${origin}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status, await ready.text()).toBe(200);

    // The restarted authorization server signs with a new key. Deputy's cached key set still has
    // the old one (old agent tokens kept working through the run); jose re-fetches the key set
    // for an unknown `kid` at most once per 30 s (its cooldown), so a brand-new token may wait
    // that long — bounded here, and the time is reported.
    const started = performance.now();
    let client: Client | undefined;
    let lastError = '';
    while (!client && performance.now() - started < 35_000) {
      try {
        client = await h.connect({ subject: 'after-restart' });
      } catch (error) {
        lastError = (error as Error).message;
        await sleep(1_000);
      }
    }
    expect(client, lastError).toBeDefined();
    console.info(`load: a token from the restarted server was accepted after ${Math.round(performance.now() - started)} ms`);
    const result = await h.callTool(client!, 'listDrafts', { limit: 2 });
    expect(result.isError, textOf(result)).toBeFalsy();
  }, 45_000);
});
