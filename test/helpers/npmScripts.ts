/**
 * Runs an npm script as a real process tree in its own process group, for the tests that signal
 * the npm process itself (`test/integration/signals.test.ts`, `test/e2e/build.test.ts`).
 * "Nothing left" is checked as "the group is empty"; `killLeftovers()` (in `afterEach`) stops
 * whatever a failing test left behind, and only that.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a signalled script may take to release its ports and exit. */
export const STOP_WITHIN_MS = 10_000;

const started: ChildProcess[] = [];

export function killLeftovers(): void {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is already gone: the test passed or the process never started.
    }
  }
}

export interface NpmRun {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the first capture group of the first stdout line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export function npmRun(script: string, env: Record<string, string>): NpmRun {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (value: string) => void }> = [];
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(line);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match[1] ?? line);
      }
    }
  });
  return {
    child,
    lines,
    waitFor(pattern, timeoutMs = 25_000) {
      const seen = lines.map((line) => pattern.exec(line)).find(Boolean);
      if (seen) return Promise.resolve(seen[1] ?? seen[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`npm run ${script}: no line matching ${pattern} in ${timeoutMs} ms; stderr:\n${stderr.join('')}`)), timeoutMs);
        waiters.push({ pattern, resolve: (value) => (clearTimeout(timer), resolve(value)) });
      });
    },
  };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

/** Signals the npm process only, then checks that everything it started is gone in time. */
export async function stopAndCheck(run: NpmRun, signal: NodeJS.Signals, urls: string[]): Promise<void> {
  const pid = run.child.pid!;
  const stoppedAt = Date.now();
  process.kill(pid, signal);
  await Promise.race([exited(run.child), new Promise((resolve) => setTimeout(resolve, STOP_WITHIN_MS))]);
  while (groupAlive(pid) && Date.now() - stoppedAt < STOP_WITHIN_MS) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(groupAlive(pid), `a process of the npm script outlived ${signal}`).toBe(false);
  for (const url of urls) expect(await refusesConnections(url), `${url} still accepts connections`).toBe(true);
}

/** The audit lines of `tool` in an audit file, as { outcome }. */
export function auditedOutcomes(auditFile: string, tool: string): string[] {
  return readFileSync(auditFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { tool?: string; outcome?: string })
    .filter((line) => line.tool === tool)
    .map((line) => line.outcome ?? '');
}

/** An agent token for Deputy at `mcpUrl`, minted by the token CLI from the mock at `mockUrl`. */
export function mintAgentToken(mockUrl: string, mcpUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'mock-backend/token.ts', '--for', 'mcp', '--resource', mcpUrl],
      { cwd: ROOT, env: { ...process.env, MOCK_BACKEND_URL: mockUrl }, timeout: 20_000 },
      (error, stdout) => (error ? reject(new Error(`the token command failed: ${error.message}`)) : resolve(stdout.trim())),
    );
  });
}
