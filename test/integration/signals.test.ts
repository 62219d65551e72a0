/**
 * `npm start` and `npm run mock-backend` stop fully when SIGTERM or SIGINT reaches the npm
 * process itself (a process manager or `kill <pid>`, not Ctrl-C, which signals the whole
 * terminal group): no process of the script is left, its ports refuse connections, and the
 * audit line of the last tool call is on disk.
 *
 * Each npm runs in its own process group, so "nothing left" is checked as "the group is empty",
 * and `afterEach` can stop whatever a failing test left behind without touching anything else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a stopped script may take to release its ports and exit. */
const STOP_WITHIN_MS = 10_000;

const started: ChildProcess[] = [];
const tempDirs: string[] = [];

afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is already gone: the test passed or the process never started.
    }
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface NpmRun {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the first capture group of the first stdout line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function npmRun(script: string, env: Record<string, string>): NpmRun {
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

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

/** Signals the npm process only, then checks that everything it started is gone in time. */
async function stopAndCheck(run: NpmRun, signal: NodeJS.Signals, urls: string[]): Promise<void> {
  const pid = run.child.pid!;
  const stoppedAt = Date.now();
  process.kill(pid, signal);
  await Promise.race([exited(run.child), new Promise((resolve) => setTimeout(resolve, STOP_WITHIN_MS))]);
  while (groupAlive(pid) && Date.now() - stoppedAt < STOP_WITHIN_MS) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(groupAlive(pid), `a process of the npm script outlived ${signal}`).toBe(false);
  for (const url of urls) expect(await refusesConnections(url), `${url} still accepts connections`).toBe(true);
}

describe('npm scripts stop fully when the npm process is signalled', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`npm run mock-backend, ${signal}`, async () => {
      const run = npmRun('mock-backend', { MOCK_BACKEND_PORT: '0' });
      const url = await run.waitFor(/mock-backend listening on (\S+)/);
      expect(await refusesConnections(url)).toBe(false);
      await stopAndCheck(run, signal, [url]);
    });
  }

  it('npm start, SIGTERM: Deputy and the mock backend stop, the last call is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deputy-signals-'));
    tempDirs.push(dir);
    const auditFile = join(dir, 'audit.log');
    const run = npmRun('start', { PORT: '0', MOCK_BACKEND_PORT: '0', DEPUTY_AUDIT_LOG: auditFile });
    const mcpUrl = await run.waitFor(/MCP endpoint\s+(\S+)/, 60_000);
    const mockUrl = await run.waitFor(/Mock backend\s+(\S+)/);
    // The token is printed alone on the line after the "Agent token" heading and a blank line.
    await run.waitFor(/^(Claude Code:)$/);
    const token = run.lines[run.lines.findIndex((line) => line.includes('Agent token')) + 2]!.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const client = new Client({ name: 'signals-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    const result = await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } });
    expect(result.isError).toBeFalsy();
    await client.close();

    await stopAndCheck(run, 'SIGTERM', [mcpUrl, mockUrl]);
    const audited = readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { tool?: string; outcome?: string });
    expect(audited.filter((line) => line.tool === 'listDrafts').map((line) => line.outcome)).toEqual(['ok']);
  }, 90_000);
});
