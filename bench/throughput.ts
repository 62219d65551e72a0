/**
 * Throughput: calls per second through Deputy at 1, 8 and 32 concurrent agent sessions (one
 * call in flight each) and at 8 and 32 calls in flight on one session, and at 1, 8 and 32
 * concurrent 2026-07-28 clients (no session; one call in flight each), each against what the
 * backend serves directly (undici, same concurrency) in the same run, as a ratio. 1 session
 * with 1 call in flight is one configuration and is run once.
 *
 * Every worker asks for its own customer, every answer is checked to be that customer
 * (`mismatches`), and any mismatch or error fails the run. Phases run in the order
 * direct@N, then Deputy@N, so each ratio compares neighbours in time.
 */
import type { Bench, BenchOptions, BenchReport } from './lib/bench.ts';
import { CUSTOMERS, connectAgent, connectModernAgent, directClient, mintAgentToken, mintBackendToken, type McpAgent } from './lib/agents.ts';
import { deputyWorkers, runLoad, type LoadResult, type ToolCaller, type Worker } from './lib/load.ts';
import { round } from './lib/machine.ts';
import { cpuMs, selfCpuMs, startBackend, startDeputy } from './lib/processes.ts';
import { table } from './lib/stats.ts';

const TARGET_RATIO = 0.35;
const LEVELS = [1, 8, 32] as const;

interface Phase {
  label: string;
  kind: 'direct' | 'sessions' | 'inFlight' | 'modern';
  concurrency: number;
  load: LoadResult;
  /** CPU used per second of wall time (1.0 = one core busy) by each process during the phase. */
  cpu: { deputy: number; backend: number; loadGenerator: number };
}

export const throughput: Bench = {
  name: 'throughput',
  about: 'calls/s through Deputy at 1/8/32 sessions and 1/8/32 in flight on one session, vs the backend directly (ratio); every answer checked',
  async run(opts: BenchOptions): Promise<BenchReport> {
    const durationMs = opts.quick ? 1_500 : 5_000;
    const warmupMs = opts.quick ? 500 : 1_000;
    const backend = await startBackend();
    const deputy = await startDeputy({ backendUrl: backend.url, ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}) });
    const agents: McpAgent[] = [];
    const modernAgents: { client: ToolCaller; close(): Promise<void> }[] = [];
    try {
      const token = await mintAgentToken(backend.url, deputy.url);
      for (let i = 0; i < Math.max(...LEVELS); i++) agents.push(await connectAgent(deputy.url, i === 0 ? token : await mintAgentToken(backend.url, deputy.url)));
      const direct = directClient(backend.url, await mintBackendToken(backend.url));
      for (let i = 0; i < Math.max(...LEVELS); i++) modernAgents.push(await connectModernAgent(deputy.url, await mintAgentToken(backend.url, deputy.url)));
      const clients: ToolCaller[] = agents.map((agent) => agent.client);
      const modernClients = modernAgents.map((agent) => agent.client);

      const phases: Phase[] = [];
      const measure = async (label: string, kind: Phase['kind'], concurrency: number, workers: Worker[]) => {
        await runLoad(workers, { durationMs: warmupMs });
        const c0 = { deputy: cpuMs(deputy.pid), backend: cpuMs(backend.pid), self: selfCpuMs() };
        const load = await runLoad(workers, { durationMs });
        const per = (ms: number) => round(ms / load.durationMs, 2);
        const cpu = { deputy: per(cpuMs(deputy.pid) - c0.deputy), backend: per(cpuMs(backend.pid) - c0.backend), loadGenerator: per(selfCpuMs() - c0.self) };
        phases.push({ label, kind, concurrency, load, cpu });
        opts.log(`${label.padEnd(28)} ${load.callsPerSecond.toFixed(0).padStart(6)} calls/s  ok ${load.ok}  mismatches ${load.mismatches}  errors ${load.errors}  cpu deputy ${cpu.deputy} backend ${cpu.backend} loadgen ${cpu.loadGenerator}`);
        if (load.exceptions.length > 0) opts.log(`  exceptions: ${load.exceptions.join(' | ')}`);
      };

      for (const n of LEVELS) {
        const directWorkers: Worker[] = CUSTOMERS.slice(0, n).map((customer) => ({ customer, call: () => direct.call(customer) }));
        await measure(`direct, ${n} concurrent`, 'direct', n, directWorkers);
        await measure(`Deputy 2026-07-28, ${n} clients × 1`, 'modern', n, deputyWorkers(modernClients.slice(0, n), 1, CUSTOMERS));
        if (n === 1) {
          await measure('Deputy, 1 session × 1', 'sessions', 1, deputyWorkers(clients.slice(0, 1), 1, CUSTOMERS));
          continue;
        }
        await measure(`Deputy, ${n} sessions × 1`, 'sessions', n, deputyWorkers(clients.slice(0, n), 1, CUSTOMERS));
        await measure(`Deputy, 1 session × ${n}`, 'inFlight', n, deputyWorkers(clients.slice(0, 1), n, CUSTOMERS));
      }
      await direct.close();

      const directAt = (n: number) => phases.find((p) => p.kind === 'direct' && p.concurrency === n)!.load.callsPerSecond;
      const rows = phases.map((p) => ({
        phase: p.label,
        kind: p.kind,
        concurrency: p.concurrency,
        callsPerSecond: round(p.load.callsPerSecond, 1),
        ratioToDirect: p.kind === 'direct' ? 1 : round(p.load.callsPerSecond / directAt(p.concurrency), 3),
        calls: p.load.calls,
        mismatches: p.load.mismatches,
        errors: p.load.errors,
        cpuCoresUsed: p.cpu,
      }));
      const mismatches = rows.reduce((sum, r) => sum + r.mismatches, 0);
      const errors = rows.reduce((sum, r) => sum + r.errors, 0);
      const ratio = (kind: Phase['kind'], n: number) => rows.find((r) => r.kind === kind && r.concurrency === n)?.ratioToDirect ?? Number.NaN;
      const result = { durationMsPerPhase: durationMs, warmupMsPerPhase: warmupMs, phases: rows, mismatches, errors };
      if (mismatches > 0 || errors > 0) {
        throw new Error(`throughput: ${mismatches} answers were another session's customer and ${errors} calls failed — the run is void\n${JSON.stringify(rows, null, 1)}`);
      }
      const s32 = ratio('sessions', 32);
      const f32 = ratio('inFlight', 32);
      return {
        result,
        table: table([
          ['phase', 'calls/s', 'vs direct', 'calls', 'mismatch', 'errors', 'CPU Deputy', 'CPU backend', 'CPU loadgen'],
          ...rows.map((r) => [
            r.phase,
            r.callsPerSecond,
            r.kind === 'direct' ? '—' : `${(r.ratioToDirect * 100).toFixed(1)} %`,
            r.calls,
            r.mismatches,
            r.errors,
            r.cpuCoresUsed.deputy,
            r.cpuCoresUsed.backend,
            r.cpuCoresUsed.loadGenerator,
          ]),
        ]),
        targets: [
          { name: 'ratio at 32 sessions', target: `≥ ${TARGET_RATIO * 100} %`, measured: `${(s32 * 100).toFixed(1)} %`, pass: s32 >= TARGET_RATIO },
          { name: 'ratio at 32 in flight, 1 session', target: `≥ ${TARGET_RATIO * 100} %`, measured: `${(f32 * 100).toFixed(1)} %`, pass: f32 >= TARGET_RATIO },
          { name: 'ratio at 32 clients, 2026-07-28', target: `≥ ${TARGET_RATIO * 100} %`, measured: `${(ratio('modern', 32) * 100).toFixed(1)} %`, pass: ratio('modern', 32) >= TARGET_RATIO },
          { name: 'cross-session mismatches', target: '0', measured: String(mismatches), pass: mismatches === 0 },
        ],
        notes: ['1 session × 1 in flight is one configuration; it is measured once and counts for both series.', 'CPU columns: cores used (CPU seconds per wall second) by each process during the phase.'],
      };
    } finally {
      await Promise.all([...agents, ...modernAgents].map((agent) => agent.close()));
      await deputy.stop();
      await backend.stop();
    }
  },
};
