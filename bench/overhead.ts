/**
 * Overhead: what Deputy adds to one call, loopback, warm, interleaved.
 *
 * The same operation is called two ways, alternating in random order so drift (other load,
 * GC, CPU frequency) hits both alike:
 *   direct  GET /customers/{id} with undici and a backend token for customers:read
 *   deputy  tools/call getCustomerSummary through Deputy (MCP SDK v1 Client, 2025-era session)
 *   modern  the same through Deputy on MCP 2026-07-28 (SDK v2 Client pinned to it: no session,
 *           every call one stateless POST with its `_meta` envelope)
 * plus, as a third interleaved series, an MCP `ping` through Deputy: the fixed cost of one
 * Streamable HTTP round trip (HTTP, bearer JWT check, session lookup, SDK transport, client)
 * with no tool and no backend call, which splits the overhead into "transport" and "tool".
 * Each call is timed in the load generator from send to parsed answer.
 */
import type { Bench, BenchOptions, BenchReport } from './lib/bench.ts';
import { CUSTOMERS, connectAgent, connectModernAgent, directClient, mintAgentToken, mintBackendToken } from './lib/agents.ts';
import { callSummary } from './lib/load.ts';
import { cpuMs, startBackend, startDeputy } from './lib/processes.ts';
import { round } from './lib/machine.ts';
import { summarize, table, type Summary } from './lib/stats.ts';

const TARGET_P50_MS = 0.6;
const TARGET_P99_MS = 3;

function ms(s: Summary) {
  return { n: s.n, p50: round(s.p50, 3), p90: round(s.p90, 3), p99: round(s.p99, 3), max: round(s.max, 3), mean: round(s.mean, 3) };
}

export const overhead: Bench = {
  name: 'overhead',
  about: 'getCustomer direct (undici) vs getCustomerSummary through Deputy, interleaved: p50/p99 and the difference',
  async run(opts: BenchOptions): Promise<BenchReport> {
    const warmup = opts.quick ? 200 : 500;
    const calls = opts.quick ? 500 : 2_500;
    const backend = await startBackend();
    const deputy = await startDeputy({ backendUrl: backend.url, ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}) });
    try {
      const token = await mintAgentToken(backend.url, deputy.url);
      const agent = await connectAgent(deputy.url, token);
      const modern = await connectModernAgent(deputy.url, token);
      const direct = directClient(backend.url, await mintBackendToken(backend.url));
      const series = { direct: [] as number[], deputy: [] as number[], modern: [] as number[], ping: [] as number[] };
      let mismatches = 0;
      let errors = 0;
      const kinds = ['direct', 'deputy', 'modern', 'ping'] as const;
      const once = async (kind: (typeof kinds)[number], i: number): Promise<number> => {
        const customer = CUSTOMERS[i % CUSTOMERS.length]!;
        const t0 = performance.now();
        if (kind === 'ping') {
          await agent.client.ping();
        } else {
          const outcome =
            kind === 'direct' ? await direct.call(customer) : await callSummary(kind === 'modern' ? modern.client : agent.client, customer);
          if (outcome === 'mismatch') mismatches++;
          if (outcome === 'error') errors++;
        }
        return performance.now() - t0;
      };
      const round3 = async (i: number, record: boolean) => {
        // A random order every round: neither series always goes first.
        const order = [...kinds].sort(() => Math.random() - 0.5);
        for (const kind of order) {
          const elapsed = await once(kind, i);
          if (record) series[kind].push(elapsed);
        }
      };
      opts.log(`overhead: warm-up ${warmup} rounds`);
      for (let i = 0; i < warmup; i++) await round3(i, false);
      mismatches = 0;
      errors = 0;
      opts.log(`overhead: ${calls} interleaved rounds`);
      const cpu0 = { deputy: cpuMs(deputy.pid), backend: cpuMs(backend.pid) };
      for (let i = 0; i < calls; i++) await round3(i, true);
      const cpu = { deputy: cpuMs(deputy.pid) - cpu0.deputy, backend: cpuMs(backend.pid) - cpu0.backend };
      // Deputy's CPU for pings alone, to split its CPU per round into "MCP round trip" and "tool call".
      const pings = Math.min(1_000, calls);
      const ping0 = cpuMs(deputy.pid);
      for (let i = 0; i < pings; i++) await agent.client.ping();
      const deputyCpuPerPing = (cpuMs(deputy.pid) - ping0) / pings;
      await agent.close();
      await modern.close();
      await direct.close();

      const d = summarize(series.direct);
      const m = summarize(series.deputy);
      const p = summarize(series.ping);
      const n = summarize(series.modern);
      const overheadP50 = m.p50 - d.p50;
      const overheadP99 = m.p99 - d.p99;
      // Every backend call is made three times per round (direct, 2025 era, 2026-07-28); pings cost the backend nothing.
      const backendCpuPerCall = cpu.backend / (3 * calls);
      // Deputy's CPU per round covers one call per era and a ping; the two eras are not split here.
      const deputyCpuPerCall = cpu.deputy / (2 * calls); // per tool call, includes half a ping
      const result = {
        callsEach: calls,
        warmupRounds: warmup,
        latencyMs: { direct: ms(d), deputy: ms(m), modern: ms(n), ping: ms(p) },
        overheadMs: { p50: round(overheadP50, 3), p99: round(overheadP99, 3), mean: round(m.mean - d.mean, 3) },
        modernOverheadMs: { p50: round(n.p50 - d.p50, 3), p99: round(n.p99 - d.p99, 3), mean: round(n.mean - d.mean, 3) },
        cpuMsPerCall: {
          backend: round(backendCpuPerCall, 3),
          deputyCallPlusHalfPing: round(deputyCpuPerCall, 3),
          deputyPingAlone: round(deputyCpuPerPing, 3),
          deputyToolCall: round(deputyCpuPerCall - deputyCpuPerPing / 2, 3),
        },
        mismatches,
        errors,
      };
      if (mismatches > 0 || errors > 0) throw new Error(`overhead: ${mismatches} mismatched and ${errors} failed answers`);
      return {
        result,
        table: table([
          ['series (ms)', 'n', 'p50', 'p90', 'p99', 'max', 'mean'],
          ['direct getCustomer', d.n, d.p50, d.p90, d.p99, d.max, d.mean],
          ['Deputy getCustomerSummary (2025 session)', m.n, m.p50, m.p90, m.p99, m.max, m.mean],
          ['Deputy getCustomerSummary (2026-07-28)', n.n, n.p50, n.p90, n.p99, n.max, n.mean],
          ['Deputy MCP ping (no tool)', p.n, p.p50, p.p90, p.p99, p.max, p.mean],
          ['overhead (Deputy − direct)', '', overheadP50, m.p90 - d.p90, overheadP99, '', m.mean - d.mean],
          ['overhead 2026-07-28 (− direct)', '', n.p50 - d.p50, n.p90 - d.p90, n.p99 - d.p99, '', n.mean - d.mean],
        ]) + `\nCPU per call: backend ${round(backendCpuPerCall, 3)} ms; Deputy ${round(deputyCpuPerCall - deputyCpuPerPing / 2, 3)} ms per tool call (both eras' mean), ${round(deputyCpuPerPing, 3)} ms per ping`,
        targets: [
          { name: 'overhead p50', target: `≤ ${TARGET_P50_MS} ms`, measured: `${round(overheadP50, 2)} ms`, pass: overheadP50 <= TARGET_P50_MS },
          { name: 'overhead p99', target: `≤ ${TARGET_P99_MS} ms`, measured: `${round(overheadP99, 2)} ms`, pass: overheadP99 <= TARGET_P99_MS },
          { name: 'overhead p50, 2026-07-28', target: `≤ ${TARGET_P50_MS} ms`, measured: `${round(n.p50 - d.p50, 2)} ms`, pass: n.p50 - d.p50 <= TARGET_P50_MS },
          { name: 'overhead p99, 2026-07-28', target: `≤ ${TARGET_P99_MS} ms`, measured: `${round(n.p99 - d.p99, 2)} ms`, pass: n.p99 - d.p99 <= TARGET_P99_MS },
        ],
      };
    } finally {
      await deputy.stop();
      await backend.stop();
    }
  },
};

