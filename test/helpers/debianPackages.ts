/**
 * Servers from Debian's packages for tests (test/README.md): CI starts from a fresh machine, so a
 * test that needs nginx, redis-server, chromium or promtool installs it when it is missing. Root
 * runs apt-get directly, anyone else through passwordless sudo. Several test files (or people on
 * the same machine) may install at once: a busy dpkg lock is waited out, for a bounded time.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';

export function sh(command: string, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

async function findBinary(names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const found = await sh(`command -v ${name} || { test -x /usr/sbin/${name} && echo /usr/sbin/${name}; } || { test -x /usr/bin/${name} && echo /usr/bin/${name}; }`, 5_000);
    if (found.code === 0 && found.output.trim()) return found.output.trim().split('\n')[0]!;
  }
  return undefined;
}

let updated: Promise<unknown> | undefined;

/**
 * The path of the first of `binaries` found, installing the first of `packages` that apt-get
 * can install when none is. `apt-get update` runs once per test process.
 */
export async function ensureDebianBinary(binaries: readonly string[], packages: readonly string[]): Promise<string> {
  const existing = await findBinary(binaries);
  if (existing) return existing;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo -n ';
  const apt = `${sudo}env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=180`;
  updated ??= sh(`${apt} update -qq`, 240_000);
  await updated;
  let last = { code: 1, output: '' };
  for (const name of packages) {
    last = await sh(`${apt} install -y -qq --no-install-recommends ${name}`, 300_000);
    if (last.code === 0) break;
  }
  const found = await findBinary(binaries);
  if (found) return found;
  throw new Error(`${binaries[0]} is not installed and apt-get could not install ${packages.join(' or ')} (exit ${last.code}):\n${last.output.slice(-3_000)}`);
}

/** A port free right now on 127.0.0.1 (for servers whose port must be known before they start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ServerProcess {
  pid: number;
  /** Signals the process by its PID (SIGKILL after 3 s), waits for it to exit, then cleans up. */
  stop: () => Promise<void>;
}

/**
 * Runs a Debian server in the foreground as a child of the test and waits (10 s at most) until it
 * accepts connections on 127.0.0.1:`port`. Its output is kept only for the error if it does not start.
 */
export async function startServerProcess(options: {
  name: string;
  binary: string;
  args: readonly string[];
  port: number;
  /** How it is asked to stop: nginx finishes its workers on SIGQUIT. */
  stopSignal?: NodeJS.Signals;
  /** Run after it has exited (its temp directory). */
  cleanup?: () => Promise<void>;
}): Promise<ServerProcess> {
  let output = '';
  const child = spawn(options.binary, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await options.cleanup?.();
  };
  const deadline = Date.now() + 10_000;
  while (!(await portAccepts(options.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { pid: child.pid!, stop };
}
