/**
 * A/B of two or more production builds (or node flags on one): from spawn to the first answered
 * `tools/list`, Deputy's CPU time up to then, and its RSS 1 s later (idle: no call yet). The
 * variants start one after the other in a random order every round, so a busy machine's drift
 * hits all alike; one unmeasured round first; medians. Unpinned, against one mock backend.
 *
 *   npm run build && cp -r dist .cache/ab/before     # the build to compare against
 *   …change, npm run build…
 *   npx tsx bench/start-ab.ts --rounds 9 before=.cache/ab/before after=dist
 *   npx tsx bench/start-ab.ts plain=dist 'semi1=dist:--max-semi-space-size=1'
 *
 * A variant is NAME=DIR[:NODE_FLAG,NODE_FLAG…][:VAR#VALUE;VAR#VALUE…] (DIR holds src/main.js;
 * it must sit inside the repository so node_modules resolve). Node runs the build as `npm run
 * serve` and the container do, with no flag; a build from before D45 (src/README.md) needs
 * `:--enable-source-maps` to start as it was served then.
 *
 * A variant whose flags include `--snapshot-blob=FILE` starts from that V8 startup snapshot
 * (no script: `node --snapshot-blob=FILE serve`; bench/README.md, "A V8 startup snapshot, measured").
 * `--node PATH` runs every variant on another Node binary (a blob only starts on the binary
 * that built it), e.g. `--node "$(npx -y -p node@24 -- node -p process.execPath)"`.
 *
 * `--transport stdio` starts `main.js stdio` instead (the committed tools, the same
 * client-credentials check) and times spawn → the `tools/list` answer on its stdout; the
 * initialize line is written at spawn, so it waits in the pipe until Deputy reads it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { mintAgentToken } from './lib/agents.ts';
import { BENCH_SURFACE_PATH, cpuMs, DEPUTY_CLIENT_SECRET, freePort, MIB, REPO_ROOT, rssBytes, startBackend } from './lib/processes.ts';
import { median } from './lib/stats.ts';

const { values, positionals } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, transport: { type: 'string', default: 'http' }, node: { type: 'string', default: process.execPath } }, allowPositionals: true });
if (values.transport !== 'http' && values.transport !== 'stdio') throw new Error(`--transport http|stdio, not ${values.transport}`);
const stdio = values.transport === 'stdio';
const variants = positionals.map((spec) => {
  const [name, rest = ''] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
  const [dir, flags, env] = rest.split(':');
  if (!name || !dir) throw new Error(`not NAME=DIR[:FLAGS][:ENV]: ${spec}`);
  return { name, dir, flags: flags ? flags.split(',') : [], env: Object.fromEntries((env ? env.split(';') : []).map((pair) => pair.split('#'))) as Record<string, string> };
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** initialize → initialized → tools/list, raw; throws until Deputy answers all three. */
async function firstToolsList(url: string, token: string): Promise<void> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` };
  const post = (body: unknown, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
  const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'start-ab', version: '1' } } });
  const session = init.headers.get('mcp-session-id');
  await init.text();
  if (!session) throw new Error(`initialize: ${init.status}`);
  const more = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, more)).text();
  const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, more);
  if (list.status !== 200 || !(await list.text()).includes('"tools"')) throw new Error(`tools/list: ${list.status}`);
}

/** The same three messages over the child's stdin; resolves on the `tools/list` answer. */
function stdioToolsList(child: ChildProcess): Promise<void> {
  const send = (message: unknown) => child.stdin!.write(`${JSON.stringify(message)}\n`);
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'start-ab', version: '1' } } });
  return new Promise((resolve, reject) => {
    child.once('exit', () => reject(new Error('exited during start')));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { id?: number; result?: { tools?: unknown } };
      if (message.id === 1) {
        send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      } else if (message.id === 2) {
        if (message.result?.tools) resolve();
        else reject(new Error(`tools/list: ${line.slice(0, 200)}`));
      }
    });
  });
}

const backend = await startBackend('all');
const results = new Map(variants.map((v) => [v.name, { ms: [] as number[], cpu: [] as number[], rss: [] as number[] }]));
try {
  for (let round = 0; round <= Number(values.rounds); round++) {
    for (const v of [...variants].sort(() => Math.random() - 0.5)) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}${BENCH_SURFACE_PATH}`;
      const token = stdio ? '' : await mintAgentToken(backend.url, url);
      const t0 = performance.now();
      const env = { PORT: String(port), DEPUTY_AUTH_ISSUER: backend.url, DEPUTY_BACKEND_URL: backend.url, DEPUTY_TOKEN_PROVIDER: 'client_credentials', DEPUTY_OAUTH_CLIENT_ID: 'deputy', DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET, DEPUTY_AUDIT_LOG: '/dev/null' };
      const script = v.flags.some((flag) => flag.startsWith('--snapshot-blob')) ? [] : [`${v.dir}/src/main.js`];
      const child = spawn(values.node, [...v.flags, ...script, stdio ? 'stdio' : 'serve'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, ...v.env },
        stdio: stdio ? ['pipe', 'pipe', 'ignore'] : 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        if (stdio) await stdioToolsList(child);
        else for (;;) {
          if (child.exitCode !== null) throw new Error(`${v.name} exited during start`);
          try {
            await firstToolsList(url, token);
            break;
          } catch {
            await sleep(5);
          }
          if (performance.now() - t0 > 30_000) throw new Error(`${v.name} did not answer tools/list within 30 s`);
        }
        const ms = performance.now() - t0;
        const cpu = cpuMs(child.pid!);
        await sleep(1_000);
        const rss = rssBytes(child.pid!) / MIB;
        if (round > 0) {
          const r = results.get(v.name)!;
          r.ms.push(ms);
          r.cpu.push(cpu);
          r.rss.push(rss);
        }
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    }
  }
} finally {
  await backend.stop();
}
for (const [name, r] of results) {
  process.stdout.write(
    `${name.padEnd(16)} to tools/list ${median(r.ms).toFixed(0)} ms (min ${Math.min(...r.ms).toFixed(0)})   CPU ${median(r.cpu).toFixed(0)} ms   idle RSS ${median(r.rss).toFixed(1)} MiB (min ${Math.min(...r.rss).toFixed(1)})\n`,
  );
}
