// The root README's examples, run as written: the commands and code in "Quickstart" and
// "Connecting agents" are extracted from README.md and run against the mock backend and Deputy
// that `npm start` would start — here the test harness's (test/helpers/deputy.ts), on free ports,
// with the README's default URLs (127.0.0.1:3000, 127.0.0.1:4010) rewritten to them. A broken
// example fails this test; an example it does not know how to run fails it too, so a new one
// gets a runner here.
//
// Not run: `npm ci` / `npm start` / `npm test` (CI itself), Claude Code (not installed in CI) and
// MCP Inspector (test/e2e/inspector.test.ts drives the same commands).

import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../src/generated/tools.ts';
import { setup, type Harness } from '../helpers/deputy.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
// Under the repository (git-ignored) so the snippet resolves the project's node_modules.
const scratch = join(root, '.cache/readme-examples');
const tsx = join(root, 'node_modules/.bin/tsx');

const DEPUTY_DEFAULT = 'http://127.0.0.1:3000';
const BACKEND_DEFAULT = 'http://127.0.0.1:4010';

interface Block {
  lang: string;
  text: string;
}

/** The text of a `## ` section, up to the next one. */
function section(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

function fencedBlocks(text: string): Block[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', text: m[2] ?? '' }));
}

/** Shell commands of a block: comments dropped, `\` continuations joined, trailing comments cut. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

let readme: string;
let h: Harness;
let deputyOrigin: string;
let env: Record<string, string>;
const examples: { quickstart: Block[]; agents: Block[]; inline: string[] } = { quickstart: [], agents: [], inline: [] };
/** The agent token the README's own token command mints (once; every example uses it). */
let minted: Promise<string> | null = null;
function readmeToken(): Promise<string> {
  minted ??= (async () => {
    expect(examples.inline.length).toBeGreaterThan(0);
    let token = '';
    for (const command of examples.inline) {
      const { stdout } = await sh(command);
      expect(stdout.trim().split('\n')).toHaveLength(1);
      token = stdout.trim();
    }
    return token;
  })();
  return minted;
}

const rewrite = (text: string) => text.replaceAll(DEPUTY_DEFAULT, deputyOrigin).replaceAll(BACKEND_DEFAULT, h.backend.url);

beforeAll(async () => {
  readme = await readFile(join(root, 'README.md'), 'utf8');
  const quickstart = section(readme, 'Quickstart');
  const agents = section(readme, 'Connecting agents');
  examples.quickstart = fencedBlocks(quickstart);
  examples.agents = fencedBlocks(agents);
  // Commands named inline in the prose (`npm run -s token -- --for mcp --surface content`).
  examples.inline = [...`${quickstart}${agents}`.matchAll(/`(npm run -s token[^`]*)`/g)].map((m) => m[1] as string);
  // The shipped manifest's surfaces, as `npm start` serves them: the examples use /mcp/content.
  h = await setup({ surfaces: profile.surfaces! });
  deputyOrigin = new URL(h.deputy.url).origin;
  env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    MOCK_BACKEND_URL: h.backend.url,
    PORT: new URL(h.deputy.url).port,
  };
  await mkdir(scratch, { recursive: true });
}, 60_000);

afterAll(async () => {
  await h?.teardown();
  await rm(scratch, { recursive: true, force: true });
});

describe('README examples run as written', { timeout: 60_000 }, () => {
  it('the examples use the default ports the rewriting assumes', () => {
    const text = [...examples.quickstart, ...examples.agents].map((b) => b.text).join('\n');
    expect(text).toContain(`${DEPUTY_DEFAULT}/mcp/content`);
    expect(h.deputy.url).toBe(`${deputyOrigin}/mcp/content`);
  });

  it('every shell command is one this test knows how to run', () => {
    const shell = [...examples.quickstart, ...examples.agents].filter((b) => b.lang === 'sh').flatMap((b) => commands(b.text));
    const unknown = shell.filter((c) => runnerFor(c) === null);
    expect(unknown).toEqual([]);
    expect(shell.some((c) => runnerFor(c) === 'stdio')).toBe(true);
  });

  it('the token command mints an agent token Deputy accepts', async () => {
    const token = await readmeToken();
    const res = await fetch(h.deputy.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'readme', version: '1' } } }),
    });
    expect(res.status).toBe(200);
  });

  it('the JSON client configuration connects and lists the tools', async () => {
    const json = examples.agents.filter((b) => b.lang === 'json');
    expect(json).toHaveLength(1);
    const config = JSON.parse(rewrite((json[0] as Block).text).replaceAll('$TOKEN', await readmeToken())) as {
      mcpServers: Record<string, { type: string; url: string; headers: Record<string, string> }>;
    };
    const server = Object.values(config.mcpServers)[0];
    expect(server?.type).toBe('http');
    const client = new Client({ name: 'readme-json', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server?.url ?? ''), { requestInit: { headers: server?.headers ?? {} } }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('listDrafts');
    } finally {
      await client.close();
    }
  });

  it('the TypeScript SDK snippet runs, prints the tools and a result, and exits', async () => {
    const ts = examples.agents.filter((b) => b.lang === 'ts');
    expect(ts).toHaveLength(1);
    const file = join(scratch, 'sdk-snippet.ts');
    await writeFile(file, rewrite((ts[0] as Block).text));
    // No kill by the harness: a snippet that never exits (an open stream) fails on the timeout.
    const { stdout } = await run(tsx, [file], { cwd: root, env: { ...env, TOKEN: await readmeToken() }, timeout: 30_000 });
    expect(stdout).toContain("'listDrafts'");
    expect(stdout).toMatch(/structuredContent/);
    expect(stdout).not.toMatch(/isError: true/);
  });

  it('the stdio command starts Deputy, which answers initialize and tools/list', async () => {
    const [command] = examples.agents.filter((b) => b.lang === 'sh').flatMap((b) => commands(b.text)).filter((c) => runnerFor(c) === 'stdio');
    const answers = await stdio(rewrite(command as string), [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'readme', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
    ]);
    const list = answers.find((a) => a.id === 2) as { result?: { tools: { name: string }[] } } | undefined;
    expect(list?.result?.tools.map((t) => t.name)).toContain('listDrafts');
  });
});

/** What runs a README shell command: 'skip' for the ones the header names, null for unknown ones. */
function runnerFor(command: string): 'skip' | 'stdio' | null {
  if (/^npm (ci|test|start)\b/.test(command) || command.startsWith('npm ci &&')) return 'skip';
  if (command.startsWith('claude mcp add ')) return 'skip';
  if (command.includes('@modelcontextprotocol/inspector')) return 'skip';
  if (/\bsrc\/main\.ts stdio$/.test(command)) return 'stdio';
  return null;
}

/** Runs a command line through the shell, with only this test's environment. */
function sh(command: string): Promise<{ stdout: string; stderr: string }> {
  return run('sh', ['-c', command], { cwd: root, env, timeout: 30_000 });
}

/** Starts a stdio server command, writes JSON-RPC messages, collects answers until every request has one. */
async function stdio(command: string, messages: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  // Its own process group, so stopping it stops npx and the server under it.
  const child = spawn('sh', ['-c', command], { cwd: root, env: { ...env, DEPUTY_LOG_LEVEL: 'silent' }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const wanted = messages.filter((m) => 'id' in m).length;
  const answers: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from '${command}' in 30 s; stderr: ${stderr.slice(-500)}`)), 30_000);
      let buffer = '';
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== '') answers.push(JSON.parse(line) as Record<string, unknown>);
        }
        if (answers.length >= wanted) {
          clearTimeout(timer);
          resolve(answers);
        }
      });
      child.on('exit', (code) => {
        if (answers.length >= wanted) return;
        clearTimeout(timer);
        reject(new Error(`'${command}' exited with ${code}; stderr: ${stderr.slice(-500)}`));
      });
      for (const m of messages) child.stdin.write(`${JSON.stringify(m)}\n`);
    });
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  }
}
