/**
 * Scale-out (src/README.md D13, D29): two Deputy replicas behind nginx from Debian's
 * packages, configured with the repository's own `.deploy/nginx/deputy.conf.template`, all on
 * loopback. One mock backend (and authorization server) serves both replicas, so one agent
 * token works on either.
 *
 * - Stateful: each session's requests reach the replica that opened it (session ids carry
 *   DEPUTY_REPLICA_ID, nginx maps on it), sessions survive hundreds of calls across tools,
 *   and an approval prompt's answer finds its way back to the replica that asked.
 * - One replica restarted mid-run: its agents get 404, re-initialize and carry on without a
 *   failed call; the other replica's agents keep their sessions.
 * - Stateless: no session ids, plain round robin over both replicas.
 * - MCP 2026-07-28 (v2 client): no sessions at all, plain round robin; an approval asked by one
 *   replica is resumed on the other (the replicas share DEPUTY_STATE_KEYS) and writes once.
 *
 * nginx is installed with apt-get when missing (CI starts from a fresh machine).
 */
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { loadConfig } from '../../src/config.ts';
import { tools as generatedTools } from '../../src/generated/tools.ts';
import { serveHttp, type Deputy } from '../../src/serve.ts';
import { createAuditLog } from '../../src/tools/audit.ts';
import { ALL_TOOL_SCOPES, QUOTAS_RAISED } from '../helpers/deputy.ts';
import { freePort } from '../helpers/debianPackages.ts';
import { ensureNginx, startNginx, type Nginx } from '../helpers/nginx.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DRAFTS = ['q3-pricing-update.md', 'launch-week-recap.md', 'pricing-2023.md', 'introducing-team-workspaces.md', 'markdown-tips-for-editors.md'];
const CUSTOMERS = [FIXTURES.activeCustomer, FIXTURES.cancelledCustomer];
const READ_TOOLS = new Set(generatedTools.filter((tool) => tool.risk === 'read').map((tool) => tool.name));

type Mode = 'stateful' | 'stateless';
/** Every replica seals and opens 2026-07-28 approval state with the same key. */
const SHARED_STATE_KEY = 'scale-out-test-state-key-0123456789abcdef';

interface Replica {
  id: 'r1' | 'r2';
  port: number;
  deputy: Deputy;
  /** Audit lines of every incarnation of this replica. */
  audit: { sessionId: string | null; tool: string; outcome: string; approvalId?: string }[];
}

interface Cluster {
  backend: MockBackend;
  nginx: Nginx;
  resource: string;
  replicas: Record<'r1' | 'r2', Replica>;
  mode: Mode;
}

async function startReplica(cluster: Omit<Cluster, 'replicas'>, id: 'r1' | 'r2', port: number, audit: Replica['audit'] = []): Promise<Replica> {
  const config = loadConfig({
    PORT: String(port),
    DEPUTY_PUBLIC_URL: cluster.nginx.url, // the token audience: the proxy's URL, the same for every replica
    DEPUTY_REPLICA_ID: id,
    DEPUTY_MODE: cluster.mode,
    DEPUTY_AUTH_ISSUER: cluster.backend.auth.issuer,
    DEPUTY_BACKEND_URL: cluster.backend.url,
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
    ...QUOTAS_RAISED,
    DEPUTY_STATE_KEYS: SHARED_STATE_KEY,
  });
  const sink = {
    write(line: string) {
      const parsed = JSON.parse(line) as Replica['audit'][number];
      audit.push({ sessionId: parsed.sessionId, tool: parsed.tool, outcome: parsed.outcome, ...(parsed.approvalId ? { approvalId: parsed.approvalId } : {}) });
    },
  };
  const deputy = await serveHttp(config, {
    tools: generatedTools,
    log: pino({ level: 'silent' }),
    audit: createAuditLog({ destination: sink, redactArguments: config.audit.redactArguments }),
  });
  return { id, port, deputy, audit };
}

/**
 * An agent that recovers the way the MCP transport spec asks: a 404 on a request carrying a
 * session id means the session is gone, so it initializes a new one and sends the request again.
 * A read interrupted by a replica going away mid-call is retried (reads are safe to repeat).
 */
class Agent {
  client: Client | null = null;
  transport: StreamableHTTPClientTransport | null = null;
  readonly sessionIds: string[] = [];
  reinitialized = 0;
  interrupted = 0;
  calls = 0;
  approvals = 0;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly token: string,
  ) {}

  async connect(): Promise<void> {
    await this.client?.close().catch(() => {});
    const client = new Client({ name: this.name, version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, () => {
      this.approvals += 1;
      return { action: 'accept', content: { confirm: true } };
    });
    client.onerror = () => {}; // the standalone GET stream breaking during a restart is expected
    const transport = new StreamableHTTPClientTransport(new URL(this.url), { requestInit: { headers: { authorization: `Bearer ${this.token}` } } });
    await client.connect(transport);
    this.client = client;
    this.transport = transport;
    this.sessionIds.push(transport.sessionId ?? '');
  }

  get sessionId(): string {
    return this.transport?.sessionId ?? '';
  }

  async call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = (await this.client!.callTool({ name, arguments: args }, undefined, { timeout: 5_000 })) as CallToolResult;
        this.calls += 1;
        return result;
      } catch (error) {
        if (attempt >= 4) throw error;
        if (error instanceof StreamableHTTPError && error.code === 404) {
          this.reinitialized += 1;
          await this.connect();
        } else if (READ_TOOLS.has(name)) {
          this.interrupted += 1;
          await sleep(100);
        } else {
          throw error;
        }
      }
    }
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => {});
  }
}

/** A 2026-07-28 agent: the v2 client pinned to the revision; it approves every write. */
class ModernAgent {
  approvals = 0;
  private client: ModernClient | null = null;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly token: string,
  ) {}

  async connect(): Promise<void> {
    const client = new ModernClient(
      { name: this.name, version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    client.setRequestHandler('elicitation/create', async () => {
      this.approvals += 1;
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(new ModernTransport(new URL(this.url), { requestInit: { headers: { authorization: `Bearer ${this.token}` } } }));
    this.client = client;
  }

  async call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    return (await this.client!.callTool({ name, arguments: args }, { timeout: 5_000 })) as CallToolResult;
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => {});
  }
}

/** The i-th call of an agent's mix over the five read tools, and a check that it got what it asked for. */
async function mixedCall(agent: Pick<Agent, 'name' | 'call'>, i: number): Promise<void> {
  const customerId = CUSTOMERS[i % CUSTOMERS.length]!;
  const filename = DRAFTS[i % DRAFTS.length]!;
  const step = i % 5;
  const [name, args]: [string, Record<string, unknown>] =
    step === 0 ? ['listDrafts', { limit: 3 }]
    : step === 1 ? ['getDraft', { filename }]
    : step === 2 ? ['searchCustomers', { limit: 2 }]
    : step === 3 ? ['getCustomerSummary', { customerId }]
    : ['listCustomerTickets', { customerId: FIXTURES.activeCustomer, limit: 2 }];
  const result = await agent.call(name, args);
  const where = `${agent.name} call ${i} (${name})`;
  expect(result.isError ?? false, `${where}: ${JSON.stringify(result.content)}`).toBe(false);
  const data = result.structuredContent as Record<string, unknown> & { items?: Record<string, unknown>[] };
  if (step === 0) expect(data.items, where).toHaveLength(3);
  if (step === 1) expect(data.filename, where).toBe(filename);
  if (step === 2) expect(data.items?.length, where).toBe(2);
  if (step === 3) expect(data.id, where).toBe(customerId);
  if (step === 4) {
    expect(data.items?.length, where).toBeGreaterThan(0);
    for (const ticket of data.items ?? []) expect(String(ticket.id), where).toMatch(/^tkt_/);
  }
}

describe('two replicas behind nginx', () => {
  let nginxBinary: string;
  let backend: MockBackend;
  let nginx: Nginx;
  let ports: { r1: number; r2: number };
  const agents: Agent[] = [];

  beforeAll(async () => {
    nginxBinary = await ensureNginx();
    backend = await startMockBackend({ rateLimit: { limit: 100_000, windowSeconds: 60 } });
    ports = { r1: await freePort(), r2: await freePort() };
    nginx = await startNginx({ binary: nginxBinary, port: await freePort(), replicas: { r1: `127.0.0.1:${ports.r1}`, r2: `127.0.0.1:${ports.r2}` } });
  }, 300_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await nginx?.stop();
    await backend?.close();
  });

  async function cluster(mode: Mode): Promise<Cluster> {
    const base = { backend, nginx, resource: `${nginx.url}/mcp`, mode };
    const [r1, r2] = await Promise.all([startReplica(base, 'r1', ports.r1), startReplica(base, 'r2', ports.r2)]);
    return { ...base, replicas: { r1, r2 } };
  }

  async function newAgent(c: Cluster, name: string): Promise<Agent> {
    const { accessToken } = await backend.auth.mintAccessToken({ subject: `agent-${name}`, clientId: 'deputy-dev-agent', audience: c.resource, scopes: ALL_TOOL_SCOPES });
    const agent = new Agent(name, c.resource, accessToken);
    agents.push(agent);
    await agent.connect();
    return agent;
  }

  /** nginx's upstream address → replica id, for the access-log checks. */
  const replicaAt = (address: string) => (address === `127.0.0.1:${ports.r1}` ? 'r1' : address === `127.0.0.1:${ports.r2}` ? 'r2' : `?${address}`);

  describe('stateful, affinity on Mcp-Session-Id', () => {
    let c: Cluster;
    beforeAll(async () => {
      c = await cluster('stateful');
    });
    afterAll(async () => {
      // Agents first: a closed replica would otherwise see their GET streams reconnect.
      await Promise.all(agents.splice(0).map((agent) => agent.close()));
      await Promise.all(Object.values(c?.replicas ?? {}).map((replica) => replica.deputy.close()));
    });

    it('health and metadata answer through the proxy', async () => {
      expect((await fetch(`${nginx.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${nginx.url}/readyz`);
      expect(ready.status, await ready.clone().text()).toBe(200);
      const prm = (await (await fetch(`${nginx.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { resource: string };
      expect(prm.resource).toBe(c.resource);
      // Metrics are scraped per replica, never through the balancer.
      expect((await fetch(`${nginx.url}/metrics`)).status).toBe(404);
    });

    it('every session stays on its replica for 240 calls across tools, approvals included', async () => {
      const logStart = (await nginx.accessLog()).length;
      const team = await Promise.all(['a', 'b', 'c', 'd'].map((name) => newAgent(c, `stateful-${name}`)));
      // Round robin spreads the initializes; each id names the replica that issued it.
      expect(team.map((agent) => agent.sessionId.split('.')[0]).sort()).toEqual(['r1', 'r1', 'r2', 'r2']);

      await Promise.all(
        team.map(async (agent) => {
          for (let i = 0; i < 60; i++) await mixedCall(agent, i);
          // A write: Deputy asks the human over the call's own stream; the answer is a POST that
          // must reach the same replica, or the call would hang.
          const note = await agent.call('addTicketNote', { ticketId: FIXTURES.openTicket, body: `Scale-out check from ${agent.name}` });
          expect(note.isError ?? false, JSON.stringify(note.content)).toBe(false);
          expect((note.structuredContent as { ticketId: string }).ticketId).toBe(FIXTURES.openTicket);
        }),
      );

      for (const agent of team) {
        expect(agent.sessionIds, agent.name).toHaveLength(1); // never re-initialized
        expect([agent.reinitialized, agent.interrupted, agent.approvals], agent.name).toEqual([0, 0, 1]);
        const replica = c.replicas[agent.sessionId.split('.')[0] as 'r1' | 'r2'];
        expect(replica.audit.filter((line) => line.sessionId === agent.sessionId && line.outcome === 'ok'), agent.name).toHaveLength(61);
      }
      // nginx sent every request that carried a session id to the replica named in it, first try.
      const entries = (await nginx.accessLog()).slice(logStart).filter((entry) => entry.uri === '/mcp' && entry.sid);
      expect(entries.length).toBeGreaterThanOrEqual(4 * 62);
      for (const entry of entries) {
        expect(entry.upstreams.map(replicaAt), entry.sid.slice(0, 8)).toEqual([entry.sid.split('.')[0]]);
        expect(entry.status).toBeLessThan(300);
      }
    });

    it('a replica restarted mid-run: its agents re-initialize on 404 and carry on; the other replica’s sessions survive', async () => {
      const team = await Promise.all(['e', 'f', 'g', 'h'].map((name) => newAgent(c, `restart-${name}`)));
      const before = new Map(team.map((agent) => [agent, agent.sessionId.split('.')[0]]));
      expect([...before.values()].sort()).toEqual(['r1', 'r1', 'r2', 'r2']);

      let done = 0;
      const work = Promise.all(
        team.map(async (agent) => {
          for (let i = 0; i < 50; i++) {
            await mixedCall(agent, i);
            done += 1;
          }
        }),
      );
      let settled = false;
      void work.finally(() => (settled = true)).catch(() => {});
      const midRun = Date.now() + 20_000;
      while (done < 60 && !settled && Date.now() < midRun) await sleep(5);
      if (settled) await work; // surfaces the failure that stopped the agents early
      expect(done, 'the agents stopped before the restart').toBeGreaterThanOrEqual(60);
      expect(settled, 'the agents finished before the restart').toBe(false);
      // Restart r1: its sessions are gone with it (nothing is shared between replicas).
      await c.replicas.r1.deputy.close();
      await sleep(300);
      c.replicas.r1 = await startReplica(c, 'r1', ports.r1, c.replicas.r1.audit);
      await work;

      for (const agent of team) {
        const onR1 = before.get(agent) === 'r1';
        expect(agent.calls, agent.name).toBe(50);
        if (onR1) {
          expect(agent.reinitialized, agent.name).toBeGreaterThanOrEqual(1);
          expect(agent.sessionIds.length, agent.name).toBeGreaterThanOrEqual(2);
        } else {
          expect([agent.reinitialized, agent.interrupted, agent.sessionIds.length], agent.name).toEqual([0, 0, 1]);
        }
      }

      // The restarted replica is back in the rotation: new sessions land on it again (nginx
      // retries a server marked failed after fail_timeout, 2 s).
      const seen = new Set<string>();
      const deadline = Date.now() + 10_000;
      while (!seen.has('r1') && Date.now() < deadline) {
        const probe = await newAgent(c, `probe-${seen.size}-${Date.now()}`);
        seen.add(probe.sessionId.split('.')[0]!);
        await mixedCall(probe, 3);
        await probe.close();
        if (!seen.has('r1')) await sleep(250);
      }
      expect(seen.has('r1')).toBe(true);
    });
  });

  describe('stateless, plain round robin', () => {
    let c: Cluster;
    beforeAll(async () => {
      c = await cluster('stateless');
    });
    afterAll(async () => {
      await Promise.all(Object.values(c?.replicas ?? {}).map((replica) => replica.deputy.close()));
    });

    it('no session ids; calls alternate over both replicas and every one is answered', async () => {
      const logStart = (await nginx.accessLog()).length;
      const team = await Promise.all(['i', 'j'].map((name) => newAgent(c, `stateless-${name}`)));
      for (const agent of team) expect(agent.sessionId).toBe('');
      await Promise.all(team.map(async (agent) => { for (let i = 0; i < 50; i++) await mixedCall(agent, i); }));

      const r1 = c.replicas.r1.audit.filter((line) => line.outcome === 'ok').length;
      const r2 = c.replicas.r2.audit.filter((line) => line.outcome === 'ok').length;
      expect(r1 + r2).toBe(100);
      // Round robin: each replica serves about half (other /mcp requests interleave, so not exactly).
      expect(Math.min(r1, r2)).toBeGreaterThanOrEqual(30);
      const entries = (await nginx.accessLog()).slice(logStart).filter((entry) => entry.uri === '/mcp');
      expect(entries.filter((entry) => entry.sid !== '' || entry.upstreams.length !== 1)).toEqual([]);

      // A write needs an approval, which needs a session: refused clearly, never performed.
      const write = await team[0]!.call('addTicketNote', { ticketId: FIXTURES.openTicket, body: 'stateless write' });
      expect(write.isError).toBe(true);
    });
  });

  describe('MCP 2026-07-28, plain round robin, no affinity', () => {
    let c: Cluster;
    const modern: ModernAgent[] = [];
    beforeAll(async () => {
      // The default mode: 2025-era sessions would need affinity; 2026-07-28 requests carry no session.
      c = await cluster('stateful');
    });
    afterAll(async () => {
      await Promise.all(modern.map((agent) => agent.close()));
      await Promise.all(Object.values(c?.replicas ?? {}).map((replica) => replica.deputy.close()));
    });

    it('220 calls and approvals resumed on the other replica all succeed; each approved write happens once', async () => {
      const logStart = (await nginx.accessLog()).length;
      const notesBefore = backend.store.notes.get(FIXTURES.openTicket)!.length;
      const team = await Promise.all(
        ['k', 'l'].map(async (name) => {
          const { accessToken } = await backend.auth.mintAccessToken({ subject: `agent-modern-${name}`, clientId: 'deputy-dev-agent', audience: c.resource, scopes: ALL_TOOL_SCOPES });
          const agent = new ModernAgent(`modern-${name}`, c.resource, accessToken);
          modern.push(agent);
          await agent.connect();
          return agent;
        }),
      );
      const WRITES = 5;
      await Promise.all(team.map(async (agent) => { for (let i = 0; i < 110; i++) await mixedCall(agent, i); }));
      // The writes one at a time: with two agents in lockstep, round robin would give each agent
      // one replica for good; alone, an agent's two rounds reach the two replicas in turn.
      for (const agent of team) {
        for (let i = 0; i < WRITES; i++) {
          const note = await agent.call('addTicketNote', { ticketId: FIXTURES.openTicket, body: `Round-robin note ${i} from ${agent.name}` });
          expect(note.isError ?? false, JSON.stringify(note.content)).toBe(false);
        }
      }
      for (const agent of team) expect(agent.approvals, agent.name).toBe(WRITES);
      expect(backend.store.notes.get(FIXTURES.openTicket)!).toHaveLength(notesBefore + 2 * WRITES);

      const lines = [...c.replicas.r1.audit.map((l) => ({ ...l, replica: 'r1' })), ...c.replicas.r2.audit.map((l) => ({ ...l, replica: 'r2' }))];
      const reads = lines.filter((l) => l.outcome === 'ok' && READ_TOOLS.has(l.tool));
      expect(reads).toHaveLength(220);
      expect(Math.min(...['r1', 'r2'].map((r) => reads.filter((l) => l.replica === r).length))).toBeGreaterThanOrEqual(60);
      // Each approval: asked on one replica, accepted — and written — on whichever the next request reached.
      const asked = new Map(lines.filter((l) => l.outcome === 'approval_requested').map((l) => [l.approvalId!, l.replica]));
      const written = lines.filter((l) => l.tool === 'addTicketNote' && l.outcome === 'ok');
      expect(written).toHaveLength(2 * WRITES);
      expect(new Set(written.map((l) => l.approvalId)).size).toBe(2 * WRITES);
      for (const line of written) expect(asked.has(line.approvalId!), line.approvalId).toBe(true);
      const crossed = written.filter((line) => asked.get(line.approvalId!) !== line.replica);
      expect(crossed.length, 'approvals resumed on the other replica').toBeGreaterThan(0);

      // No session ids anywhere; every /mcp request went to one upstream, first try.
      const entries = (await nginx.accessLog()).slice(logStart).filter((entry) => entry.uri === '/mcp');
      expect(entries.length).toBeGreaterThanOrEqual(220 + 4 * WRITES);
      expect(entries.filter((entry) => entry.sid !== '' || entry.upstreams.length !== 1 || entry.status >= 300)).toEqual([]);
    });
  });
});
