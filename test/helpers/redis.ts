/**
 * redis-server from Debian's packages for tests (test/README.md): installed if missing, run as
 * a foreground child on 127.0.0.1 with persistence off (`--save '' --appendonly no`) in a
 * private temp directory. `stop()` ends the process it started, by its PID; starting again on
 * the same port is how a test brings Redis back after an outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianBinary, portAccepts } from './debianPackages.ts';

/** The redis-server binary, installing Debian's `redis-server` when none is found. */
export function ensureRedis(): Promise<string> {
  return ensureDebianBinary(['redis-server'], ['redis-server']);
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** `password` turns on `requirepass`; the URL then carries it, as a deployment's would. */
export async function startRedis(options: { binary: string; port: number; password?: string }): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'deputy-redis-'));
  const args = ['--port', String(options.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  if (options.password) args.push('--requirepass', options.password);
  let output = '';
  const child: ChildProcess = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  while (!(await portAccepts(options.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${options.port}`, port: options.port, pid: child.pid!, stop };
}
