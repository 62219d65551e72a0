/**
 * A/B of two or more production builds per call over stdio, the transport with nothing but the
 * SDK and the tool pipeline between the client and the backend: each build runs
 * `node DIR/src/main.js stdio` (the shipped manifest's `support` surface, client-credentials
 * backend tokens) as the child of one MCP SDK client, against one mock backend. After 300
 * warm-up calls each, N rounds in which every build answers `--conc` calls of
 * `getCustomerSummary` at once (1: one call at a time), builds in a random order per round.
 * Per build: latency p50/p90/p99 of a round and Deputy's CPU per call (/proc/<pid>/stat), the
 * figure a busy machine moves least. With `--prof DIR`, each build runs under
 * `node --cpu-prof` (DIR/NAME/…cpuprofile; read it with bench/profile-top.ts).
 *
 *   npm run build && cp -r dist .cache/ab/before   # …change, npm run build…
 *   npx tsx bench/stdio-ab.ts --calls 3000 before=.cache/ab/before after=dist
 *   npx tsx bench/stdio-ab.ts --conc 32 --calls 200 before=.cache/ab/before after=dist
 *
 * A build is NAME=DIR[:V8_OR_NODE_FLAG,…], as in bench/call-ab.ts. Servers run on the server
 * core as in `overhead` (BENCH_PIN=0: unpinned). DIR must sit inside the repository.
 */
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CUSTOMERS } from './lib/agents.ts';
import { BENCH_DEPUTY_ENV, cpuMs, DEPUTY_CLIENT_SECRET, pinLoadGenerator, REPO_ROOT, startBackend } from './lib/processes.ts';
import { summarize } from './lib/stats.ts';

const { values, positionals } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    conc: { type: 'string', default: '1' },
    prof: { type: 'string' },
  },
  allowPositionals: true,
});
const rounds = Number(values.calls);
const conc = Number(values.conc);
pinLoadGenerator();
const backend = await startBackend();

interface Build {
  name: string;
  client: Client;
  pid: number;
  latencies: number[];
  cpuStart: number;
  splitStart: { user: number; sys: number };
  round(): Promise<void>;
}

async function startBuild(spec: string, index: number): Promise<Build> {
  const [name, rest] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
  const [dir, flags] = rest.split(':');
  if (!name || !dir) throw new Error(`not NAME=DIR[:FLAGS]: ${spec}`);
  const prof = values.prof ? [`--cpu-prof`, `--cpu-prof-dir=${join(resolve(values.prof), name)}`] : [];
  if (values.prof) mkdirSync(join(values.prof, name), { recursive: true });
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...BENCH_DEPUTY_ENV,
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_AUTH_ISSUER: backend.url,
    DEPUTY_TOKEN_PROVIDER: 'client_credentials',
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET,
    DEPUTY_AUDIT_LOG: '/dev/null',
    DEPUTY_STDIO_SURFACE: 'support',
    ...(flags ? { NODE_OPTIONS: flags.split(',').join(' ') } : {}),
  };
  // The servers' core, as bench/lib/processes.ts places them (the client stays on CPU 0).
  const pinned = process.env.BENCH_PIN !== '0';
  const nodeArgs = [...prof, '--enable-source-maps', `${dir}/src/main.js`, 'stdio'];
  const transport = new StdioClientTransport({
    command: pinned ? 'taskset' : process.execPath,
    args: pinned ? ['-c', '1', process.execPath, ...nodeArgs] : nodeArgs,
    cwd: REPO_ROOT,
    env,
    stderr: 'inherit',
  });
  const client = new Client({ name: `stdio-ab-${name}`, version: '0' });
  await client.connect(transport);
  const pid = transport.pid!;
  const customer = CUSTOMERS[index % CUSTOMERS.length]!;
  const one = async () => {
    const result = (await client.callTool({ name: 'getCustomerSummary', arguments: { customerId: customer.id } })) as { isError?: boolean; content: { text?: string }[] };
    if (result.isError || !result.content[0]?.text?.includes(customer.name)) throw new Error(`${name}: a call failed: ${JSON.stringify(result).slice(0, 300)}`);
  };
  const build: Build = {
    name,
    client,
    pid,
    latencies: [],
    cpuStart: 0,
    splitStart: { user: 0, sys: 0 },
    async round() {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: conc }, one));
      build.latencies.push(performance.now() - t0);
    },
  };
  return build;
}

/** User and system CPU of a process so far, in ms (/proc/<pid>/stat; cpuMs is their sum). */
function cpuSplit(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const total = Number(fields[11]) + Number(fields[12]);
  const all = cpuMs(pid);
  return { user: (all * Number(fields[11])) / (total || 1), sys: (all * Number(fields[12])) / (total || 1) };
}

const builds: Build[] = [];
try {
  for (const [i, spec] of positionals.entries()) builds.push(await startBuild(spec, i));
  for (let i = 0; i < Math.max(10, Math.ceil(300 / conc)); i++) for (const build of builds) await build.round();
  for (const build of builds) {
    build.cpuStart = cpuMs(build.pid);
    build.splitStart = cpuSplit(build.pid);
  }
  for (let i = 0; i < rounds; i++) for (const build of [...builds].sort(() => Math.random() - 0.5)) await build.round();
  process.stdout.write(`${rounds} rounds of ${conc} call(s) in flight per build\n`);
  for (const build of builds) {
    const s = summarize(build.latencies);
    const n = rounds * conc;
    const cpu = (cpuMs(build.pid) - build.cpuStart) / n;
    const split = cpuSplit(build.pid);
    const user = ((split.user - build.splitStart.user) / n) * 1000;
    const sys = ((split.sys - build.splitStart.sys) / n) * 1000;
    process.stdout.write(
      `${build.name.padEnd(12)} round p50 ${s.p50.toFixed(2)}  p90 ${s.p90.toFixed(2)}  p99 ${s.p99.toFixed(2)} ms   Deputy CPU per call ${(cpu * 1000).toFixed(0)} µs (user ${user.toFixed(0)}, system ${sys.toFixed(0)})\n`,
    );
  }
} finally {
  for (const build of builds) await build.client.close();
  await backend.stop();
}
