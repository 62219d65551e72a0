/**
 * Memory and cold start.
 *
 * memory     Deputy's resident set size (VmRSS of the Deputy child, /proc/<pid>/status):
 *            idle after start, with 100 open agent sessions (each initialized, with its
 *            standalone SSE stream open as the SDK client opens it), and after 10,000 and
 *            100,000 getCustomerSummary calls spread over 32 of those sessions (32 in flight).
 *            RSS is sampled every 5,000 calls; no GC is forced (RSS as an operator sees it).
 * coldstart  from spawning Deputy to the first successful tools/list: initialize, initialized,
 *            tools/list over raw HTTP, retried every 5 ms until the port answers. Median of
 *            several starts, for the production build (`node dist/src/main.js serve`, as
 *            `npm run serve` and the container run it) and for tsx on the sources (`npm start`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench, BenchOptions, BenchReport } from './lib/bench.ts';
import { CUSTOMERS, connectAgent, mintAgentToken, type McpAgent } from './lib/agents.ts';
import { deputyWorkers, runLoad } from './lib/load.ts';
import { round } from './lib/machine.ts';
import { BENCH_SURFACE_PATH, MIB, REPO_ROOT, cpuMs, freePort, rssBytes, spawnDeputyRaw, startBackend, startDeputy, type DeputyChild } from './lib/processes.ts';
import { median, table } from './lib/stats.ts';

const TARGET_SESSIONS_MB = 150;
/** RSS after the last mark within ±10 % of after the first: flat, no per-call leak. */
const TARGET_GROWTH = 0.1;
const TARGET_IDLE_MIB = 90;
const TARGET_COLD_START_MS = 400;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => round(bytes / MIB, 1);
/** `156.7 MB (149.4 MiB)`: the target is read in decimal megabytes, the stricter reading. */
const both = (bytes: number) => `${round(bytes / 1e6, 1)} MB (${mib(bytes)} MiB)`;

export const memory: Bench = {
  name: 'memory',
  about: 'Deputy RSS idle, with 100 open sessions, after 10,000 and 100,000 calls',
  async run(opts: BenchOptions): Promise<BenchReport> {
    const sessionsWanted = 100;
    const firstMark = opts.quick ? 2_000 : 10_000;
    const lastMark = opts.quick ? 10_000 : 100_000;
    const sampleEvery = opts.quick ? 1_000 : 5_000;
    const compiledDir = compiledBuild(opts.log);
    // RSS does not depend on placement, so the servers may use every core here (the 100,000 calls go faster).
    const backend = await startBackend('all');
    const agents: McpAgent[] = [];
    /** Starts Deputy, measures RSS idle and with `sessionsWanted` open sessions (left open in `agents`). */
    const openSessions = async (deputy: DeputyChild) => {
      await sleep(1_000);
      const idle = rssBytes(deputy.pid);
      const tokens = await Promise.all(Array.from({ length: 10 }, () => mintAgentToken(backend.url, deputy.url)));
      for (let i = 0; i < sessionsWanted; i++) agents.push(await connectAgent(deputy.url, tokens[i % tokens.length]!));
      await Promise.all(agents.map((agent) => agent.client.listTools()));
      await sleep(1_000);
      return { idle, withSessions: rssBytes(deputy.pid) };
    };
    // The pre-compiled build first, for comparison: how much of the RSS is tsx's.
    let compiledRss: { idle: number; withSessions: number };
    try {
      const compiled = await startDeputy({ backendUrl: backend.url, runtime: { compiledDir }, cores: 'all' });
      try {
        compiledRss = await openSessions(compiled);
      } finally {
        await Promise.all(agents.splice(0).map((agent) => agent.close()));
        await compiled.stop();
      }
    } catch (error) {
      await backend.stop();
      throw error;
    }
    opts.log(`pre-compiled: idle ${mib(compiledRss.idle)} MiB, ${sessionsWanted} sessions ${mib(compiledRss.withSessions)} MiB`);
    const deputy = await startDeputy({ backendUrl: backend.url, cores: 'all', ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}) }).catch(async (error: unknown) => {
      await backend.stop();
      throw error;
    });
    try {
      const { idle, withSessions } = await openSessions(deputy);
      opts.log(`tsx: idle ${mib(idle)} MiB, ${sessionsWanted} sessions ${mib(withSessions)} MiB`);

      const workers = deputyWorkers(agents.slice(0, 32).map((agent) => agent.client), 1, CUSTOMERS);
      const samples: { calls: number; rssMiB: number }[] = [];
      let calls = 0;
      let mismatches = 0;
      let errors = 0;
      const t0 = performance.now();
      while (calls < lastMark) {
        const load = await runLoad(workers, { maxCalls: sampleEvery });
        calls += load.calls;
        mismatches += load.mismatches;
        errors += load.errors;
        samples.push({ calls, rssMiB: mib(rssBytes(deputy.pid)) });
        if (calls % (sampleEvery * 4) === 0 || calls >= lastMark) opts.log(`${calls} calls: ${samples.at(-1)!.rssMiB} MiB (${((calls * 1000) / (performance.now() - t0)).toFixed(0)} calls/s)`);
      }
      const at = (mark: number) => samples.find((s) => s.calls >= mark)!;
      const afterFirst = at(firstMark);
      const afterLast = at(lastMark);
      const growth = afterLast.rssMiB / afterFirst.rssMiB - 1;
      const peak = Math.max(...samples.map((s) => s.rssMiB));
      if (mismatches > 0 || errors > 0) throw new Error(`memory: ${mismatches} mismatched and ${errors} failed calls`);
      const result = {
        rssMiB: { idle: mib(idle), withSessions: mib(withSessions), [`after${firstMark}Calls`]: afterFirst.rssMiB, [`after${lastMark}Calls`]: afterLast.rssMiB, peakUnderLoad: peak },
        precompiledRssMiB: { idle: mib(compiledRss.idle), withSessions: mib(compiledRss.withSessions) },
        openSessions: sessionsWanted,
        growthFirstToLast: round(growth, 3),
        callsPerSecond: round((calls * 1000) / (performance.now() - t0), 0),
        samples,
        mismatches,
        errors,
      };
      return {
        result,
        table: table([
          ['Deputy RSS (MiB)', 'tsx (development)', 'production build (npm run serve)'],
          ['idle (after start)', mib(idle), mib(compiledRss.idle)],
          [`${sessionsWanted} open sessions`, mib(withSessions), mib(compiledRss.withSessions)],
          [`after ${firstMark.toLocaleString('en')} calls`, afterFirst.rssMiB, ''],
          [`after ${lastMark.toLocaleString('en')} calls`, afterLast.rssMiB, ''],
          ['peak under load', peak, ''],
          ['growth', `${(growth * 100).toFixed(1)} %`, ''],
        ]),
        targets: [
          { name: `RSS with ${sessionsWanted} sessions (tsx)`, target: `≤ ${TARGET_SESSIONS_MB} MB`, measured: both(withSessions), pass: withSessions / 1e6 <= TARGET_SESSIONS_MB },
          {
            name: `RSS with ${sessionsWanted} sessions (pre-compiled)`,
            target: `≤ ${TARGET_SESSIONS_MB} MB`,
            measured: both(compiledRss.withSessions),
            pass: compiledRss.withSessions / 1e6 <= TARGET_SESSIONS_MB,
          },
          {
            name: 'idle RSS (production build)',
            target: `≤ ${TARGET_IDLE_MIB} MiB`,
            measured: `${mib(compiledRss.idle)} MiB`,
            pass: mib(compiledRss.idle) <= TARGET_IDLE_MIB,
          },
          {
            name: `RSS growth ${firstMark / 1000}k → ${lastMark / 1000}k calls`,
            target: `within ±${TARGET_GROWTH * 100} %`,
            measured: `${(growth * 100).toFixed(1)} %`,
            pass: Math.abs(growth) <= TARGET_GROWTH,
          },
        ],
        notes: [
          'The 150 MB target is compared in decimal megabytes (10^6 bytes; 150 MB = 143 MiB), the stricter reading; tables show MiB.',
          'Placement for this bench: mock backend and Deputy may use every core (RSS does not depend on placement); the load generator stays on CPU 0.',
        ],
      };
    } finally {
      await Promise.all(agents.map((agent) => agent.close()));
      await deputy.stop();
      await backend.stop();
    }
  },
};

/** The JSON-RPC messages of a Streamable HTTP answer (JSON or SSE). */
async function messages(response: Response): Promise<{ result?: unknown; error?: unknown }[]> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => JSON.parse(line.slice(5)) as { result?: unknown });
  }
  return text ? [JSON.parse(text) as { result?: unknown }] : [];
}

/** initialize → initialized → tools/list with raw fetch; the number of tools, or throws. */
async function firstToolsList(url: string, token: string): Promise<number> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
  };
  const post = (body: unknown, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
  const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-cold-start', version: '1.0.0' } } });
  const sessionId = init.headers.get('mcp-session-id');
  await messages(init);
  if (init.status !== 200 || !sessionId) throw new Error(`initialize: ${init.status}`);
  const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).body?.cancel();
  const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, session);
  const [answer] = await messages(list);
  const tools = (answer?.result as { tools?: unknown[] } | undefined)?.tools;
  if (list.status !== 200 || !Array.isArray(tools)) throw new Error(`tools/list: ${list.status}`);
  return tools.length;
}

/** The production build (`npm run build` into dist/), rebuilt when src/ changed since. */
export function compiledBuild(log: (line: string) => void): string {
  const dir = join(REPO_ROOT, 'dist');
  const newest = (path: string): number =>
    readdirSync(path, { withFileTypes: true }).reduce((max, entry) => {
      const full = join(path, entry.name);
      return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const stamp = join(dir, 'src/main.js');
  if (existsSync(stamp) && statSync(stamp).mtimeMs > newest(join(REPO_ROOT, 'src'))) return dir;
  log('compiling src/ with `npm run build` (the production build, dist/)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  return dir;
}

export const coldStart: Bench = {
  name: 'coldstart',
  about: 'from spawning Deputy to its first successful tools/list (median of several starts), tsx and pre-compiled',
  async run(opts: BenchOptions): Promise<BenchReport> {
    const starts = opts.quick ? 3 : 7;
    const compiledDir = compiledBuild(opts.log);
    const backend = await startBackend();
    try {
      const runtimes = { tsx: 'tsx' as const, compiled: { compiledDir } };
      const times: Record<keyof typeof runtimes, number[]> = { tsx: [], compiled: [] };
      const toListening: Record<keyof typeof runtimes, number[]> = { tsx: [], compiled: [] };
      // CPU time Deputy used up to its first answered tools/list: what a start costs however busy the machine is.
      const cpu: Record<keyof typeof runtimes, number[]> = { tsx: [], compiled: [] };
      let toolCount = 0;
      // Warm the OS file cache and tsx's transpile cache once, not measured.
      for (const runtime of Object.values(runtimes)) {
        const warm = await startDeputy({ backendUrl: backend.url, runtime });
        await warm.stop();
      }
      for (let i = 0; i < starts; i++) {
        for (const [name, runtime] of Object.entries(runtimes) as [keyof typeof runtimes, (typeof runtimes)[keyof typeof runtimes]][]) {
          const port = await freePort();
          const url = `http://127.0.0.1:${port}${BENCH_SURFACE_PATH}`;
          const token = await mintAgentToken(backend.url, url);
          const t0 = performance.now();
          // --prof profiles the production build's starts (one .cpuprofile each).
          const prof = opts.cpuProfDir && name === 'compiled' ? { cpuProfDir: opts.cpuProfDir } : {};
          const child = spawnDeputyRaw({ backendUrl: backend.url, port, runtime, ...prof });
          try {
            for (;;) {
              if (child.process.exitCode !== null) throw new Error(`Deputy exited during start:\n${child.stderr.join('\n')}`);
              try {
                toolCount = await firstToolsList(url, token);
                break;
              } catch {
                await sleep(5);
              }
              if (performance.now() - t0 > 30_000) throw new Error('Deputy did not answer tools/list within 30 s');
            }
            times[name].push(round(performance.now() - t0, 1));
            cpu[name].push(round(cpuMs(child.pid), 1));
            if (child.listeningAt !== null) toListening[name].push(round(child.listeningAt - t0, 1));
          } finally {
            await child.stop();
          }
        }
      }
      // The floor: Node itself (spawn to exit of an empty script).
      const bare: number[] = [];
      for (let i = 0; i < starts; i++) {
        const t0 = performance.now();
        execFileSync(process.execPath, ['-e', '0']);
        bare.push(round(performance.now() - t0, 1));
      }
      const tsxMedian = median(times.tsx);
      const compiledMedian = median(times.compiled);
      const result = {
        starts,
        toolsListed: toolCount,
        msToFirstToolsList: { tsx: { median: tsxMedian, all: times.tsx }, compiled: { median: compiledMedian, all: times.compiled } },
        cpuMsToFirstToolsList: { tsx: { median: median(cpu.tsx), all: cpu.tsx }, compiled: { median: median(cpu.compiled), all: cpu.compiled } },
        msToListeningLine: { tsx: { median: median(toListening.tsx), all: toListening.tsx }, compiled: { median: median(toListening.compiled), all: toListening.compiled } },
        nodeEmptyScriptMs: { median: median(bare), all: bare },
      };
      return {
        result,
        table: table([
          ['cold start (ms)', 'to tools/list median', 'min', 'max', 'to "listening" median', 'CPU to tools/list median'],
          ['node --import tsx src/main.ts serve', tsxMedian, Math.min(...times.tsx), Math.max(...times.tsx), median(toListening.tsx), median(cpu.tsx)],
          ['node dist/src/main.js serve (npm run serve)', compiledMedian, Math.min(...times.compiled), Math.max(...times.compiled), median(toListening.compiled), median(cpu.compiled)],
          ['node -e 0 (floor)', median(bare), Math.min(...bare), Math.max(...bare), '', ''],
        ]),
        targets: [
          { name: 'cold start (tsx, development)', target: `≤ ${TARGET_COLD_START_MS} ms`, measured: `${tsxMedian} ms`, pass: tsxMedian <= TARGET_COLD_START_MS },
          { name: 'cold start (production build, npm run serve)', target: `≤ ${TARGET_COLD_START_MS} ms`, measured: `${compiledMedian} ms`, pass: compiledMedian <= TARGET_COLD_START_MS },
        ],
        notes: ['Start-up includes fetching a client-credentials backend token for every operation (the credential check) from the mock authorization server.'],
      };
    } finally {
      await backend.stop();
    }
  },
};
