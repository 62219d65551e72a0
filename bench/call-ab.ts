/**
 * A/B of two or more production builds per call: each build serves one MCP SDK client
 * (`getCustomerSummary`, a 2025-era session, or 2026-07-28 with `--modern`) against one mock
 * backend; after 300 warm-up calls each, N rounds in which every build answers one call, in a
 * random order per round. Per build: latency p50/p90/p99 and Deputy's CPU per call
 * (/proc/<pid>/stat), the figure a busy machine moves least; with `--strace`, the system calls
 * each Deputy made over the timed calls (`strace -f -c`).
 *
 *   npm run build && cp -r dist .cache/ab/before   # …change, npm run build…
 *   npx tsx bench/call-ab.ts --calls 2000 before=.cache/ab/before after=dist
 *
 * A build is NAME=DIR[:V8_OR_NODE_FLAG,…] (flags through NODE_OPTIONS, e.g.
 * `semi1=dist:--max-semi-space-size=1`). Servers share the server core as in `overhead`
 * (BENCH_PIN=0: unpinned). DIR must sit inside the repository so node_modules resolve.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { connectAgent, connectModernAgent, CUSTOMERS, mintAgentToken } from './lib/agents.ts';
import { cpuMs, pinLoadGenerator, startBackend, startDeputy, type DeputyChild } from './lib/processes.ts';
import { summarize } from './lib/stats.ts';

const { values, positionals } = parseArgs({
  options: { calls: { type: 'string', default: '2000' }, modern: { type: 'boolean', default: false }, strace: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const calls = Number(values.calls);
pinLoadGenerator();
const backend = await startBackend();
const builds: { name: string; deputy: DeputyChild; call: () => Promise<{ isError?: boolean }>; latencies: number[]; cpuStart: number; close: () => Promise<void> }[] = [];
try {
  for (const spec of positionals) {
    const [name, rest] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
    const [dir, flags] = rest.split(':');
    if (!name || !dir) throw new Error(`not NAME=DIR[:FLAGS]: ${spec}`);
    const env = flags ? { NODE_OPTIONS: flags.split(',').join(' ') } : undefined;
    const deputy = await startDeputy({ backendUrl: backend.url, runtime: { compiledDir: dir }, ...(env ? { env } : {}) });
    const token = await mintAgentToken(backend.url, deputy.url);
    const agent = values.modern ? await connectModernAgent(deputy.url, token) : await connectAgent(deputy.url, token);
    const args = { customerId: CUSTOMERS[0]!.id };
    const call = () => agent.client.callTool({ name: 'getCustomerSummary', arguments: args }) as Promise<{ isError?: boolean }>;
    builds.push({ name, deputy, call, latencies: [], cpuStart: 0, close: () => agent.close() });
  }
  for (let i = 0; i < 300; i++) for (const build of builds) await build.call();
  const traces = values.strace
    ? builds.map((build) => {
        const child = spawn('strace', ['-f', '-c', '-p', String(build.deputy.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let out = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        return { build, child, out: () => out };
      })
    : [];
  if (traces.length > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (const build of builds) build.cpuStart = cpuMs(build.deputy.pid);
  for (let i = 0; i < calls; i++) {
    for (const build of [...builds].sort(() => Math.random() - 0.5)) {
      const t0 = performance.now();
      if ((await build.call()).isError) throw new Error(`${build.name}: a call failed`);
      build.latencies.push(performance.now() - t0);
    }
  }
  for (const build of builds) {
    const s = summarize(build.latencies);
    const cpu = (cpuMs(build.deputy.pid) - build.cpuStart) / calls;
    process.stdout.write(`${build.name.padEnd(12)} p50 ${s.p50.toFixed(2)}  p90 ${s.p90.toFixed(2)}  p99 ${s.p99.toFixed(2)} ms   Deputy CPU per call ${cpu.toFixed(3)} ms\n`);
  }
  for (const { build, child, out } of traces) {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    const rows = out()
      .split('\n')
      .filter((line) => /\s(write|writev|read|epoll_pwait|total)$/.test(line));
    process.stdout.write(`${build.name}: system calls over ${calls} calls (strace -c)\n${rows.join('\n')}\n`);
  }
} finally {
  for (const build of builds) {
    await build.close();
    await build.deputy.stop();
  }
  await backend.stop();
}
