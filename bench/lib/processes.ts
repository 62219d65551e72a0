/**
 * The processes a benchmark measures, each a child of the bench process so CPU and memory are
 * attributed honestly: the mock backend (`mock-backend/main.ts`) and Deputy (`src/main.ts serve`).
 * The bench process itself is the load generator (MCP SDK clients and undici).
 *
 * Placement on a small machine (default when `taskset` exists and there are ≥ 2 cores): the
 * load generator is pinned to CPU 0 and both servers share CPU 1, so Deputy and the backend do
 * their work on the same core in every phase (with and without Deputy) and the load
 * generator never competes with them. `BENCH_PIN=0` turns pinning off (everything floats).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, machine } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let clockTicks: number | undefined;
function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let pin: boolean | undefined;
function pinned(): boolean {
  pin ??= process.env.BENCH_PIN !== '0' && cpus().length >= 2 && process.platform === 'linux' && hasTaskset();
  return pin;
}
const LAST_CPU = cpus().length - 1;

/** Pins the calling (load generator) process to CPU 0; a no-op without pinning. */
export function pinLoadGenerator(): void {
  if (pinned()) execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
}

export function placement(): string {
  if (!pinned()) return 'unpinned: load generator, mock backend and Deputy float over all cores (BENCH_PIN=0 or no taskset)';
  return `pinned with taskset: load generator (bench process) on CPU 0; mock backend and Deputy share CPU ${LAST_CPU === 1 ? 1 : `1-${LAST_CPU}`}`;
}

/** Where a server child runs: the server core(s) (default) or every core (memory bench: placement does not matter there, speed does). */
export type Cores = 'server' | 'all';

function serverCommand(nodeArgs: string[], cores: Cores = 'server'): { command: string; args: string[] } {
  const node = process.execPath;
  if (cores === 'all') return allCoresCommand(nodeArgs);
  if (!pinned()) return { command: node, args: nodeArgs };
  return { command: 'taskset', args: ['-c', LAST_CPU === 1 ? '1' : `1-${LAST_CPU}`, node, ...nodeArgs] };
}

/** A command run on every core, whatever the load generator's pinning (children inherit it). */
export function allCoresCommand(nodeArgs: string[]): { command: string; args: string[] } {
  const node = process.execPath;
  if (!pinned()) return { command: node, args: nodeArgs };
  return { command: 'taskset', args: ['-c', `0-${LAST_CPU}`, node, ...nodeArgs] };
}

export interface Child {
  pid: number;
  process: ChildProcess;
  /** Lines the child wrote to stderr (kept for error messages; the last 200). */
  stderr: string[];
  stop(): Promise<void>;
}

export function launch(nodeArgs: string[], env: Record<string, string>, readyPattern: RegExp, cores: Cores = 'server', timeoutMs = 30_000): Promise<{ child: Child; match: RegExpExecArray }> {
  const { command, args } = serverCommand(nodeArgs, cores);
  const proc = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(...chunk.split('\n').filter(Boolean));
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    pid: proc.pid!,
    process: proc,
    stderr,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      void child.stop();
      reject(new Error(`${nodeArgs.join(' ')}: not ready after ${timeoutMs} ms\n${stderr.slice(-20).join('\n')}`));
    }, timeoutMs);
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (out === null) return;
      out += chunk;
      const match = readyPattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${nodeArgs.join(' ')} exited (${code ?? signal}) before it was ready\n${stderr.slice(-20).join('\n')}`));
    });
  });
}

export interface BackendChild extends Child {
  url: string;
}

/** The mock backend with its rate limits effectively off (10^9 requests per second per token). */
export async function startBackend(cores: Cores = 'server'): Promise<BackendChild> {
  const { child, match } = await launch(
    ['--import', 'tsx', 'mock-backend/main.ts'],
    { MOCK_BACKEND_PORT: '0', MOCK_BACKEND_RATE_LIMIT: '1000000000', MOCK_BACKEND_RATE_WINDOW_SECONDS: '1' },
    /mock-backend listening on (\S+)/,
    cores,
  );
  return { ...child, url: match[1]! };
}

export interface DeputyChild extends Child {
  /** The MCP endpoint URL. */
  url: string;
}

export interface DeputyOptions {
  backendUrl: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Extra environment (budgets, limits). */
  env?: Record<string, string>;
  /** Where the audit trail goes; default /dev/null (lines are still built and written). */
  auditLog?: string;
  /** `tsx` (default): `node --import tsx src/main.ts`; `compiled`: `node <dir>/src/main.js`, the production build (dist/). */
  runtime?: 'tsx' | { compiledDir: string };
  /** Profile Deputy with `--cpu-prof` into this directory (written when it stops). */
  cpuProfDir?: string;
  cores?: Cores;
}

/** Per-user quotas raised so the benchmark measures Deputy, not its limits (one subject opens every session). */
export const BENCH_DEPUTY_ENV: Record<string, string> = {
  DEPUTY_QUOTA_IN_FLIGHT: '256',
  DEPUTY_QUOTA_CALLS: '1000000000',
  DEPUTY_QUOTA_READ_TOOL_CALLS: '1000000000',
  DEPUTY_QUOTA_WRITE_TOOL_CALLS: '1000000000',
  DEPUTY_QUOTA_SESSIONS: '999',
  DEPUTY_LOG_LEVEL: 'warn',
};

export function deputyEnv(opts: DeputyOptions): Record<string, string> {
  return {
    PORT: String(opts.port ?? 0),
    DEPUTY_AUTH_ISSUER: opts.backendUrl,
    DEPUTY_BACKEND_URL: opts.backendUrl,
    DEPUTY_TOKEN_PROVIDER: 'client_credentials',
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET,
    DEPUTY_AUDIT_LOG: opts.auditLog ?? '/dev/null',
    ...BENCH_DEPUTY_ENV,
    ...opts.env,
  };
}

export function deputyNodeArgs(opts: Pick<DeputyOptions, 'runtime' | 'cpuProfDir'>): string[] {
  const prof = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const runtime = opts.runtime ?? 'tsx';
  if (runtime === 'tsx') return [...prof, '--import', 'tsx', 'src/main.ts', 'serve'];
  return [...prof, ...productionStart(runtime.compiledDir, 'serve')];
}

/**
 * The node arguments that start a production build's `serve` or `stdio` as `npm run serve` and the
 * container do (scripts/start.sh): from its startup snapshot when this Node built it
 * (src/README.md D47), else `DIR/src/main.js`.
 */
export function productionStart(compiledDir: string, command: 'serve' | 'stdio'): string[] {
  const blob = join(compiledDir, 'snapshot/deputy.blob');
  let builtBy = '';
  try {
    builtBy = readFileSync(`${blob}.node`, 'utf8').trim();
  } catch {
    // no snapshot in this build
  }
  return builtBy === `${process.version} ${machine()}` ? ['--snapshot-blob', blob, command] : [join(compiledDir, 'src/main.js'), command];
}

/**
 * The endpoint the benches call (getCustomerSummary): the shipped manifest's `support` surface
 * (openapi/README.md, "Surfaces"), or the one endpoint of a manifest without surfaces.
 */
export const BENCH_SURFACE_PATH = '/mcp/support';

export async function startDeputy(opts: DeputyOptions): Promise<DeputyChild> {
  const { child, match } = await launch(deputyNodeArgs(opts), deputyEnv(opts), /deputy listening on ([^\n]+)\n/, opts.cores);
  const urls = match[1]!.split(', ').map((endpoint) => endpoint.split(' ')[0]!);
  return { ...child, url: urls.find((url) => url.endsWith(BENCH_SURFACE_PATH)) ?? urls[0]! };
}

/** Deputy's OAuth client at the dev authorization server (mock-backend/fixtures/clients.yaml). */
export const DEPUTY_CLIENT_SECRET = 'dev-secret-deputy';

/**
 * Spawns Deputy the way startDeputy does, for timing: returns at once; `listeningAt` is set
 * (performance.now()) when it prints its listening line.
 */
export function spawnDeputyRaw(opts: DeputyOptions): Child & { listeningAt: number | null } {
  const { command, args } = serverCommand(deputyNodeArgs(opts));
  const proc = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...deputyEnv(opts) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(...chunk.split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child = {
    listeningAt: null as number | null,
    pid: proc.pid!,
    process: proc,
    stderr,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (child.listeningAt === null && chunk.includes('deputy listening')) child.listeningAt = performance.now();
  });
  return child;
}

/** A free loopback port (listen on 0, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time (user + system) a process has used so far, in milliseconds (/proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clkTck();
}

/** CPU time of the bench process itself (the load generator), in milliseconds. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export const MIB = 2 ** 20;

export function compiledMainExists(dir: string): boolean {
  return existsSync(`${dir}/src/main.js`);
}
