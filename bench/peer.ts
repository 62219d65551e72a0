/**
 * `npm run bench -- peer`: Deputy and openapi-mcp-generator 4.0.1 side by side, in one run, with
 * the peer measurement kit's own spec, backend and load scripts
 * (bench/README.md, "Side by side with the peer").
 *
 * The kit is read where it lies (`PEER_KIT`, default `../shared/peer-kit` from the repository);
 * nothing of it is committed here. Its scripts need their npm dependencies, and the kit's folder is
 * read-only, so they run from a copy in git-ignored `.cache/peer/kit/`; the peer is generated and
 * built into `.cache/peer/` as the kit's `run-peer-baseline.sh` does (stdio, and streamable HTTP
 * with the SDK pinned to 1.24.3, the last version its HTTP server runs on). Deputy serves the
 * kit's spec from its production build through `bench/fixtures/peer-kit-tools.yaml` (the kit's
 * four read operations), compiled once with `compile` and served with `--compiled`.
 *
 * Per transport, Deputy then the peer: the kit's `load.mjs` (interleaved direct vs tools/call
 * latency, calls/s at 1, 8 and 32 in flight on one session, RSS idle / during / after) and
 * `coldstart.mjs` (spawn to the first tools/list); then `load.mjs` once more against the floor,
 * `bench/floor-server.ts --backend` (the SDK v2 and one keep-alive backend GET per call, nothing
 * else): the best any server reaches under this kit, so "floor ÷ peer" bounds every ratio.
 * Every process runs on every core, as in the kit's own baseline.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Bench, BenchOptions, BenchReport, Target } from './lib/bench.ts';
import { mintAgentToken } from './lib/agents.ts';
import { round } from './lib/machine.ts';
import { compiledBuild } from './memory.ts';
import { BENCH_DEPUTY_ENV, REPO_ROOT, allCoresCommand, freePort, launch, productionStart, startBackend, type Child } from './lib/processes.ts';
import { table } from './lib/stats.ts';

const KIT = resolve(REPO_ROOT, process.env.PEER_KIT ?? '../shared/peer-kit');
const CACHE = join(REPO_ROOT, '.cache/peer');
const KIT_COPY = join(CACHE, 'kit');
const PEER = 'openapi-mcp-generator@4.0.1';
/** The peer's HTTP port is baked into its generated code (`--port`), as in the kit's baseline. */
const PEER_HTTP_PORT = 3100;
/** The kit's backend token that is not rate limited (its README: "use it for load tests"). */
const BENCH_TOKEN = 'tok_bench';
const MANIFEST = join(REPO_ROOT, 'bench/fixtures/peer-kit-tools.yaml');
const CONCURRENCY = [1, 8, 32] as const;
/** The floor server (bench/floor-server.ts) as node arguments. */
const FLOOR = ['--import', 'tsx', join(REPO_ROOT, 'bench/floor-server.ts')];

const TARGETS = { overheadP50Ms: 0.6, overheadP99Ms: 3, throughputRatio: 2, coldStartMs: 400, idleRssMiB: 90 };

/** Runs a set-up command quietly; its output is shown only when it fails. */
function sh(command: string, args: string[], cwd: string, env: Record<string, string> = {}): void {
  try {
    execFileSync(command, args, { cwd, env: { ...process.env, ...env }, stdio: 'pipe', maxBuffer: 64 * 2 ** 20 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    const output = (stdout?.toString() ?? '') + (stderr?.toString() ?? '');
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${output.slice(-3000)}`);
  }
}

/** A hash of the kit's files: the copy is refreshed when the kit changes. */
function kitFingerprint(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(KIT).sort()) {
    const path = join(KIT, name);
    if (name.endsWith('.mjs') || name.endsWith('.json') || name.endsWith('.yaml')) hash.update(name).update(readFileSync(path));
  }
  return hash.digest('hex');
}

/** The kit's scripts with their dependencies installed, in .cache/peer/kit. */
function prepareKit(log: (line: string) => void): void {
  if (!existsSync(join(KIT, 'load.mjs')) || !existsSync(join(KIT, 'admin-api.yaml'))) {
    throw new Error(`no peer measurement kit at ${KIT} (load.mjs, admin-api.yaml): set PEER_KIT to the kit's folder`);
  }
  const stamp = join(KIT_COPY, '.fingerprint');
  const fingerprint = kitFingerprint();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === fingerprint) return;
  log(`copying the kit from ${KIT} to ${KIT_COPY} and installing its dependencies…`);
  rmSync(KIT_COPY, { recursive: true, force: true });
  cpSync(KIT, KIT_COPY, { recursive: true, filter: (src) => !src.includes('baseline-results') });
  execFileSync('chmod', ['-R', 'u+w', KIT_COPY]);
  sh('npm', ['ci', '--no-audit', '--no-fund'], KIT_COPY);
  writeFileSync(stamp, fingerprint);
}

/** The peer generated from the kit's spec and built, as run-peer-baseline.sh does. */
function preparePeer(log: (line: string) => void): { stdio: string; http: string } {
  const gen = join(CACHE, 'gen');
  const bin = join(gen, 'node_modules/openapi-mcp-generator/bin/openapi-mcp-generator.js');
  if (!existsSync(bin)) {
    log(`installing ${PEER} into ${gen}…`);
    mkdirSync(gen, { recursive: true });
    if (!existsSync(join(gen, 'package.json'))) writeFileSync(join(gen, 'package.json'), '{ "private": true }\n');
    sh('npm', ['install', '--no-audit', '--no-fund', '--save-exact', PEER], gen);
  }
  const out = { stdio: join(CACHE, 'admin-stdio'), http: join(CACHE, 'admin-http-sdk1243') };
  const spec = join(KIT, 'admin-api.yaml');
  for (const [transport, dir] of [['stdio', out.stdio], ['streamable-http', out.http]] as const) {
    if (existsSync(join(dir, 'build/index.js'))) continue;
    log(`generating and building the peer (${transport}) in ${dir}…`);
    sh(process.execPath, [bin, '--input', spec, '--output', dir, `--transport=${transport}`, `--port=${PEER_HTTP_PORT}`, '--force'], CACHE);
    sh('npm', ['install', '--no-audit', '--no-fund'], dir);
    // The default-resolved SDK crashes the peer's HTTP server on the first initialize (kit README).
    if (transport === 'streamable-http') sh('npm', ['install', '--no-audit', '--no-fund', '--save-exact', '@modelcontextprotocol/sdk@1.24.3'], dir);
    sh('npm', ['run', 'build'], dir);
  }
  return out;
}

/** Deputy's compiled surface for the kit's spec, and a static token file with the kit's bench token. */
function prepareDeputy(log: (line: string) => void): { dist: string; surface: string; tokenFile: string } {
  const dist = compiledBuild(log);
  const surface = join(CACHE, 'deputy-tools.json');
  sh(process.execPath, [join(dist, 'src/main.js'), 'compile', '--spec', join(KIT, 'admin-api.yaml'), '--tools', MANIFEST, '--out', surface], REPO_ROOT);
  const tokenFile = join(CACHE, 'deputy-tokens.yaml');
  // The kit's public dev token, for every operation using its one scheme.
  writeFileSync(tokenFile, `tokens:\n  - id: kit-bench\n    scheme: bearerAuth\n    token: ${BENCH_TOKEN}\n`);
  return { dist, surface, tokenFile };
}

/** Runs one of the kit's scripts (from the copy, on every core) and returns the JSON it wrote. */
function kitScript<T>(script: string, args: string[], outName: string, env: Record<string, string>, log: (line: string) => void): Promise<T> {
  const outFile = join(CACHE, 'results', outName);
  rmSync(outFile, { force: true });
  const { command, args: full } = allCoresCommand([join(KIT_COPY, script), ...args, '--out', outFile]);
  log(`${script} ${outName}`);
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(command, full, { cwd: KIT_COPY, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    proc.once('exit', (code) => {
      if (code !== 0 || !existsSync(outFile)) return reject(new Error(`${script} ${outName} failed (${code}):\n${stderr}`));
      resolvePromise(JSON.parse(readFileSync(outFile, 'utf8')) as T);
    });
  });
}

interface LoadResult {
  latency?: {
    direct: { p50: number; p99: number };
    mcp: { p50: number; p99: number };
    overheadMs: { p50: number; p99: number; mean: number };
    nonOk: { direct: number; mcp: number };
    rssDuringKiB?: { maxKiB: number };
  };
  throughput?: { concurrency: number; kind: 'mcp' | 'direct'; okPerSec: number; ok: number; wrong_data: number; error: number; exceptions: number; serverDead?: boolean; rss?: { maxKiB: number } }[];
  rssIdleStartKiB: number;
  rssIdleAfterKiB: number;
}
interface ColdStartResult {
  summary: { runs: number; succeeded: number; p50Ms: number; minMs: number; maxMs: number };
}

interface Side {
  load: LoadResult;
  coldStart: ColdStartResult;
}
/** The floor server is only loaded, never cold-started: its start is tsx's, not a server's. */
type FloorSide = { load: LoadResult };
type Sides = Record<'deputyHttp' | 'peerHttp' | 'deputyStdio' | 'peerStdio', Side> & Record<'floorHttp' | 'floorStdio', FloorSide>;

const mib = (kib: number) => round(kib / 1024, 1);
const perSec = (load: LoadResult, concurrency: number, kind: 'mcp' | 'direct' = 'mcp') =>
  load.throughput?.find((t) => t.concurrency === concurrency && t.kind === kind)?.okPerSec ?? 0;
/** The highest RSS sampled while calls ran (latency series and every throughput level). */
const peakKiB = (load: LoadResult) => Math.max(load.latency?.rssDuringKiB?.maxKiB ?? 0, ...(load.throughput ?? []).map((t) => t.rss?.maxKiB ?? 0));
const wrongData = (load: LoadResult) => (load.throughput ?? []).reduce((sum, t) => sum + (t.wrong_data ?? 0), 0);

/** Waits until something answers HTTP at `url` (any status). */
async function untilAnswering(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) }).then((r) => r.body?.cancel());
      return;
    } catch {
      if (Date.now() > until) throw new Error(`nothing answers at ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A server child on every core, stopped by PID. */
function spawnServer(nodeArgs: string[], cwd: string, env: Record<string, string>): Child {
  const { command, args } = allCoresCommand(nodeArgs);
  const proc = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(...chunk.split('\n').filter(Boolean).slice(-50)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    pid: proc.pid!,
    process: proc,
    stderr,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const peer: Bench = {
  name: 'peer',
  about: `Deputy and ${PEER} side by side: the peer kit's spec, backend and load scripts, one run, as ratios`,
  async run(opts: BenchOptions): Promise<BenchReport> {
    const { log } = opts;
    prepareKit(log);
    const peerBuild = preparePeer(log);
    const deputy = prepareDeputy(log);
    const loadArgs = opts.quick ? ['--latency-n', '300', '--warmup', '100', '--duration', '3'] : ['--latency-n', '2000', '--warmup', '300', '--duration', '10'];
    const coldRuns = opts.quick ? '3' : '10';

    // The kit's backend, and Deputy's dev authorization server (only for agents' tokens).
    const kitPort = await freePort();
    const kitBackend = spawnServer([join(KIT_COPY, 'backend/server.mjs')], join(KIT_COPY, 'backend'), { PORT: String(kitPort), HOST: '127.0.0.1' });
    const auth = await startBackend('all');
    const backendBase = `http://127.0.0.1:${kitPort}`;
    const kitEnv = { BACKEND_URL: backendBase };
    const deputyEnv = {
      ...BENCH_DEPUTY_ENV,
      DEPUTY_AUTH_ISSUER: auth.url,
      DEPUTY_AUDIT_LOG: '/dev/null',
    };
    // Started as `npm run serve` and the container start it: from the startup snapshot (D47).
    const deputyArgs = (transport: 'serve' | 'stdio') => [...productionStart(deputy.dist, transport), '--compiled', deputy.surface, '--backend-url', `${backendBase}/v1`, '--token-file', deputy.tokenFile];
    const peerEnv = { API_BASE_URL: `${backendBase}/v1`, BEARER_TOKEN_BEARERAUTH: BENCH_TOKEN };
    const envFlags = (env: Record<string, string>) => Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    const sides: Sides = {} as never;
    try {
      await untilAnswering(`${backendBase}/__stats`);

      // HTTP: Deputy (production build, --compiled), then the peer.
      const deputyPort = await freePort();
      // bench/fixtures/peer-kit-tools.yaml declares no surfaces: everything is at the single /mcp.
      const mcpUrl = `http://127.0.0.1:${deputyPort}/mcp`;
      const token = await mintAgentToken(auth.url, mcpUrl, 'drafts:read customers:read');
      const header = ['--header', `Authorization: Bearer ${token}`];
      const httpEnv = { ...deputyEnv, PORT: String(deputyPort) };
      {
        const { child } = await launch(deputyArgs('serve'), httpEnv, /deputy listening on (\S+)/, 'all');
        try {
          const load = await kitScript<LoadResult>('load.mjs', ['--url', mcpUrl, ...header, '--pid', String(child.pid), '--sessions', 'shared', '--direct-throughput', ...loadArgs], 'deputy-http-load.json', kitEnv, log);
          sides.deputyHttp = { load, coldStart: null as never };
        } finally {
          await child.stop();
        }
        sides.deputyHttp.coldStart = await kitScript<ColdStartResult>(
          'coldstart.mjs',
          ['--cmd', [process.execPath, ...deputyArgs('serve')].join(' '), '--cwd', REPO_ROOT, '--url', mcpUrl, ...header, '--runs', coldRuns],
          'deputy-http-coldstart.json',
          { ...kitEnv, ...httpEnv },
          log,
        );
      }
      {
        const server = spawnServer(['build/index.js'], peerBuild.http, peerEnv);
        const peerUrl = `http://127.0.0.1:${PEER_HTTP_PORT}/mcp`;
        try {
          await untilAnswering(`http://127.0.0.1:${PEER_HTTP_PORT}/health`);
          const load = await kitScript<LoadResult>('load.mjs', ['--url', peerUrl, '--pid', String(server.pid), '--sessions', 'shared', ...loadArgs], 'peer-http-load.json', kitEnv, log);
          sides.peerHttp = { load, coldStart: null as never };
        } finally {
          await server.stop();
        }
        sides.peerHttp.coldStart = await kitScript<ColdStartResult>(
          'coldstart.mjs',
          ['--cmd', `${process.execPath} build/index.js`, '--cwd', peerBuild.http, '--url', peerUrl, ...envFlags(peerEnv), '--runs', coldRuns],
          'peer-http-coldstart.json',
          kitEnv,
          log,
        );
      }

      {
        const floorPort = await freePort();
        const floor = spawnServer([...FLOOR, 'http', '--port', String(floorPort), '--backend', `${backendBase}/v1`], REPO_ROOT, {});
        try {
          await untilAnswering(`http://127.0.0.1:${floorPort}/mcp`);
          const floorUrl = `http://127.0.0.1:${floorPort}/mcp`;
          sides.floorHttp = { load: await kitScript<LoadResult>('load.mjs', ['--url', floorUrl, '--pid', String(floor.pid), '--sessions', 'shared', ...loadArgs], 'floor-http-load.json', kitEnv, log) };
        } finally {
          await floor.stop();
        }
      }

      // stdio: each script starts its own server process.
      const deputyStdio = ['--stdio', [process.execPath, ...deputyArgs('stdio')].join(' '), '--cwd', REPO_ROOT, ...envFlags({ ...deputyEnv, DEPUTY_LOG_LEVEL: 'warn' })];
      const peerStdio = ['--stdio', `${process.execPath} build/index.js`, '--cwd', peerBuild.stdio, ...envFlags(peerEnv)];
      sides.deputyStdio = {
        load: await kitScript<LoadResult>('load.mjs', [...deputyStdio, ...loadArgs], 'deputy-stdio-load.json', kitEnv, log),
        coldStart: await kitScript<ColdStartResult>('coldstart.mjs', [...deputyStdio, '--runs', coldRuns], 'deputy-stdio-coldstart.json', kitEnv, log),
      };
      sides.peerStdio = {
        load: await kitScript<LoadResult>('load.mjs', [...peerStdio, ...loadArgs], 'peer-stdio-load.json', kitEnv, log),
        coldStart: await kitScript<ColdStartResult>('coldstart.mjs', [...peerStdio, '--runs', coldRuns], 'peer-stdio-coldstart.json', kitEnv, log),
      };
      const floorStdio = ['--stdio', [process.execPath, ...FLOOR, 'stdio', '--backend', `${backendBase}/v1`].join(' '), '--cwd', REPO_ROOT];
      sides.floorStdio = { load: await kitScript<LoadResult>('load.mjs', [...floorStdio, ...loadArgs], 'floor-stdio-load.json', kitEnv, log) };
    } finally {
      await auth.stop();
      await kitBackend.stop();
    }
    return report(sides, { kit: KIT, peer: PEER, manifest: 'bench/fixtures/peer-kit-tools.yaml', loadArgs, coldRuns: Number(coldRuns) });
  },
};

function report(sides: Sides, params: Record<string, unknown>): BenchReport {
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 2) : 0);
  const rows: (string | number)[][] = [
    ['figure', 'Deputy HTTP', 'peer HTTP', 'Deputy ÷ peer', 'floor HTTP', 'floor ÷ peer', 'Deputy stdio', 'peer stdio', 'Deputy ÷ peer', 'floor stdio', 'floor ÷ peer'],
  ];
  /** One figure for all three servers; the floor's only where it is measured (load figures). */
  const both = (label: string, pick: (s: Side) => number, pickFloor?: (s: FloorSide) => number) => {
    const [dh, ph, ds, ps] = [pick(sides.deputyHttp), pick(sides.peerHttp), pick(sides.deputyStdio), pick(sides.peerStdio)];
    const [fh, fs] = pickFloor ? [pickFloor(sides.floorHttp), pickFloor(sides.floorStdio)] : [NaN, NaN];
    const floorCells = (f: number, p: number) => (pickFloor ? [f, ratio(f, p)] : ['—', '—']);
    rows.push([label, dh, ph, ratio(dh, ph), ...floorCells(fh, ph), ds, ps, ratio(ds, ps), ...floorCells(fs, ps)]);
    const floor = (f: number, p: number) => (pickFloor ? { floor: f, floorRatio: ratio(f, p) } : {});
    return { http: { deputy: dh, peer: ph, ratio: ratio(dh, ph), ...floor(fh, ph) }, stdio: { deputy: ds, peer: ps, ratio: ratio(ds, ps), ...floor(fs, ps) } };
  };
  const load = (pick: (load: LoadResult) => number) => [(s: Side) => pick(s.load), (s: FloorSide) => pick(s.load)] as const;
  const figures = {
    overheadP50Ms: both('overhead over a direct call, p50 (ms)', ...load((l) => l.latency?.overheadMs.p50 ?? NaN)),
    overheadP99Ms: both('overhead over a direct call, p99 (ms)', ...load((l) => l.latency?.overheadMs.p99 ?? NaN)),
    callsPerSec: Object.fromEntries(CONCURRENCY.map((c) => [c, both(`calls/s, ${c} in flight (one session)`, ...load((l) => perSec(l, c)))])),
    idleRssMiB: both('RSS idle (MiB)', (s) => mib(s.load.rssIdleStartKiB)),
    peakRssMiB: both('RSS peak under load (MiB)', (s) => mib(peakKiB(s.load))),
    afterLoadRssMiB: both('RSS after load (MiB)', (s) => mib(s.load.rssIdleAfterKiB)),
    coldStartMs: both('cold start to the first tools/list, median (ms)', (s) => round(s.coldStart.summary.p50Ms, 0)),
    wrongData: both('answers with another session\'s data', ...load((l) => wrongData(l))),
  };
  const direct = Object.fromEntries(CONCURRENCY.map((c) => [c, perSec(sides.deputyHttp.load, c, 'direct')]));
  const targets: Target[] = [
    { name: 'HTTP overhead p50', target: `≤ ${TARGETS.overheadP50Ms} ms`, measured: `${figures.overheadP50Ms.http.deputy} ms`, pass: figures.overheadP50Ms.http.deputy <= TARGETS.overheadP50Ms },
    { name: 'HTTP overhead p99', target: `≤ ${TARGETS.overheadP99Ms} ms`, measured: `${figures.overheadP99Ms.http.deputy} ms`, pass: figures.overheadP99Ms.http.deputy <= TARGETS.overheadP99Ms },
    ...CONCURRENCY.flatMap((c) =>
      (['http', 'stdio'] as const).map((t) => ({
        name: `throughput ${t}, ${c} in flight`,
        target: `≥ ${TARGETS.throughputRatio}× the peer`,
        measured: `${figures.callsPerSec[c]![t].ratio}× (${figures.callsPerSec[c]![t].deputy} vs ${figures.callsPerSec[c]![t].peer} calls/s)`,
        pass: figures.callsPerSec[c]![t].ratio >= TARGETS.throughputRatio,
      })),
    ),
    {
      name: 'cold start (production build, HTTP)',
      target: `≤ ${TARGETS.coldStartMs} ms and faster than the peer`,
      measured: `${figures.coldStartMs.http.deputy} ms (peer ${figures.coldStartMs.http.peer} ms)`,
      pass: figures.coldStartMs.http.deputy <= TARGETS.coldStartMs && figures.coldStartMs.http.deputy < figures.coldStartMs.http.peer,
    },
    { name: 'idle RSS (HTTP)', target: `≤ ${TARGETS.idleRssMiB} MiB`, measured: `${figures.idleRssMiB.http.deputy} MiB`, pass: figures.idleRssMiB.http.deputy <= TARGETS.idleRssMiB },
    { name: 'no cross-session data (Deputy)', target: '0 answers', measured: `${figures.wrongData.http.deputy + figures.wrongData.stdio.deputy}`, pass: figures.wrongData.http.deputy + figures.wrongData.stdio.deputy === 0 },
  ];
  return {
    placement: 'unpinned, as in the kit\'s own baseline: the kit backend, the server under test and the kit\'s load scripts share every core',
    result: { params, figures, directCallsPerSec: direct, raw: sides },
    table: table(rows),
    targets,
    notes: [
      'Both servers run from their production builds on every core with the kit backend; the kit scripts are the load generator (same machine, same run).',
      'Ratios are Deputy ÷ peer: above 1 means Deputy has more of it (for calls/s, better; for latency, RSS and cold start, worse).',
      'The floor is bench/floor-server.ts --backend: the SDK v2 and one keep-alive backend GET per call, no checks of its own; floor ÷ peer is the most any server on this SDK reaches in this run.',
    ],
  };
}
