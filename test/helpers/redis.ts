/**
 * redis-server from Debian's packages for tests (test/README.md): installed if missing, run as
 * a foreground child on 127.0.0.1 with persistence off (`--save '' --appendonly no`) in a
 * private temp directory. `stop()` ends the process it started, by its PID; starting again on
 * the same port is how a test brings Redis back after an outage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianBinary, startServerProcess } from './debianPackages.ts';

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
  const server = await startServerProcess({ name: 'redis-server', binary: options.binary, args, port: options.port, cleanup: () => rm(dir, { recursive: true, force: true }) });
  return { url: `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${options.port}`, port: options.port, pid: server.pid, stop: server.stop };
}
