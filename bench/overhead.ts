/**
 * Overhead: what Deputy adds to one call, loopback, warm, interleaved.
 *
 * The same operation is called two ways, alternating in random order so drift (other load,
 * GC, CPU frequency) hits both alike:
 *   direct  GET /customers/{id} with undici and a backend token for customers:read
 *   deputy  tools/call getCustomerSummary through Deputy (MCP SDK Client, Streamable HTTP)
 * plus, as a third interleaved series, an MCP `ping` through Deputy: the fixed cost of one
 * Streamable HTTP round trip (HTTP, bearer JWT check, session lookup, SDK transport, client)
 * with no tool and no backend call, which splits the overhead into "transport" and "tool".
 * Each call is timed in the load generator from send to parsed answer.
 */
import type { Bench, BenchOptions, BenchReport } from './lib/bench.ts';
import { CUSTOMERS, connectAgent, directClient, mintAgentToken, mintBackendToken } from './lib/agents.ts';
import { callSummary } from './lib/load.ts';
import { cpuMs, startBackend, startDeputy } from './lib/processes.ts';
import { round } from './lib/machine.ts';
import { summarize, table, type Summary } from './lib/stats.ts';

const TARGET_P50_MS = 1;
const TARGET_P99_MS = 5;

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
      const agent = await connectAgent(deputy.url, await mintAgentToken(backend.url, deputy.url));
      const direct = directClient(backend.url, await mintBackendToken(backend.url));
      const series = { direct: [] as number[], deputy: [] as number[], ping: [] as number[] };
      let mismatches = 0;
      let errors = 0;
      const kinds = ['direct', 'deputy', 'ping'] as const;
      const once = async (kind: (typeof kinds)[number], i: number): Promise<number> => {
        const customer = CUSTOMERS[i % CUSTOMERS.length]!;
        const t0 = performance.now();
        if (kind === 'ping') {
          await agent.client.ping();
        } else {
          const outcome = kind === 'direct' ? await direct.call(customer) : await callSummary(agent.client, customer);
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
      await direct.close();

      const d = summarize(series.direct);
      const m = summarize(series.deputy);
      const p = summarize(series.ping);
      const overheadP50 = m.p50 - d.p50;
      const overheadP99 = m.p99 - d.p99;
      // Every backend call is made twice per round (direct and through Deputy); pings cost the backend nothing.
      const backendCpuPerCall = cpu.backend / (2 * calls);
      const deputyCpuPerCall = cpu.deputy / calls; // includes the pings' share
      const result = {
        callsEach: calls,
        warmupRounds: warmup,
        latencyMs: { direct: ms(d), deputy: ms(m), ping: ms(p) },
        overheadMs: { p50: round(overheadP50, 3), p99: round(overheadP99, 3), mean: round(m.mean - d.mean, 3) },
        cpuMsPerCall: {
          backend: round(backendCpuPerCall, 3),
          deputyCallPlusPing: round(deputyCpuPerCall, 3),
          deputyPingAlone: round(deputyCpuPerPing, 3),
          deputyToolCall: round(deputyCpuPerCall - deputyCpuPerPing, 3),
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
          ['Deputy getCustomerSummary', m.n, m.p50, m.p90, m.p99, m.max, m.mean],
          ['Deputy MCP ping (no tool)', p.n, p.p50, p.p90, p.p99, p.max, p.mean],
          ['overhead (Deputy − direct)', '', overheadP50, m.p90 - d.p90, overheadP99, '', m.mean - d.mean],
        ]) + `\nCPU per call: backend ${round(backendCpuPerCall, 3)} ms; Deputy ${round(deputyCpuPerCall - deputyCpuPerPing, 3)} ms per tool call, ${round(deputyCpuPerPing, 3)} ms per ping`,
        targets: [
          { name: 'overhead p50', target: `≤ ${TARGET_P50_MS} ms`, measured: `${round(overheadP50, 2)} ms`, pass: overheadP50 <= TARGET_P50_MS },
          { name: 'overhead p99', target: `≤ ${TARGET_P99_MS} ms`, measured: `${round(overheadP99, 2)} ms`, pass: overheadP99 <= TARGET_P99_MS },
        ],
      };
    } finally {
      await deputy.stop();
      await backend.stop();
    }
  },
};

