/**
 * The production build (`npm run build`, tsconfig.build.json) and `npm run serve`, which runs it
 * with plain `node`: the build is made from the current sources, holds no import of a `.ts`
 * file and no TypeScript tooling, serves `tools/list` and a call against the mock backend, maps
 * its stack traces back to the sources, stops fully — with the last call audited — when
 * SIGTERM or SIGINT reaches the npm process, and loads nothing of the code generator to serve.
 * `npm run serve` starts it from the build's V8 startup snapshot (src/README.md D47), or from
 * dist/src/main.js when Node would refuse the snapshot.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { DEPUTY_CLIENT_SECRET } from '../helpers/deputy.ts';
import { auditedOutcomes, killLeftovers, mintAgentToken, npmRun, ROOT, stopAndCheck } from '../helpers/npmScripts.ts';

const run = promisify(execFile);
const DIST = join(ROOT, 'dist');

let backend: MockBackend;
let dir: string;

/**
 * Whether dist/ was built from the sources as they are, by this Node (the startup snapshot is
 * tied to it): newer than every file it is made from. `npm run serve` builds only when dist/ is
 * missing, so a stale build would test yesterday's sources; .ci/run has just built it on Node 20.
 */
function buildIsCurrent(): boolean {
  const newest = (path: string): number => (statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : statSync(path).mtimeMs);
  try {
    if (readFileSync(join(DIST, 'snapshot/deputy.blob.node'), 'utf8').trim() !== `${process.version} ${machine()}`) return false;
    const built = statSync(join(DIST, 'snapshot/deputy.blob')).mtimeMs;
    return ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].every((source) => newest(join(ROOT, source)) < built);
  } catch {
    return false;
  }
}

beforeAll(async () => {
  if (!buildIsCurrent()) await run('npm', ['run', '--silent', 'build'], { cwd: ROOT, timeout: 120_000 });
  backend = await startMockBackend();
  dir = mkdtempSync(join(tmpdir(), 'deputy-build-'));
}, 150_000);

afterEach(() => killLeftovers());

afterAll(async () => {
  await backend?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const files = (path: string): string[] =>
  readdirSync(path, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(path, entry.name)) : [join(path, entry.name)]));

function serveEnv(auditFile: string): Record<string, string> {
  return {
    PORT: '0',
    DEPUTY_AUTH_ISSUER: backend.url,
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_TOKEN_PROVIDER: 'client_credentials',
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET,
    DEPUTY_AUDIT_LOG: auditFile,
  };
}

describe('the production build', () => {
  it('is plain JavaScript with source maps: no .ts import, no TypeScript tooling', () => {
    const emitted = files(join(DIST, 'src'));
    const scripts = emitted.filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(20);
    for (const script of scripts) {
      const text = readFileSync(script, 'utf8');
      expect(text, script).not.toMatch(/\bfrom\s+['"][^'"]+\.ts['"]|\bimport\(\s*['"][^'"]+\.ts['"]/);
      expect(text, script).not.toMatch(/from\s+['"]tsx/);
      expect(text, script).toMatch(/\/\/# sourceMappingURL=\S+\.js\.map\s*$/);
      expect(existsSync(`${script}.map`), `${script}.map`).toBe(true);
    }
  });

  it('npm run serve: tools/list and 25 calls, then SIGTERM to npm stops it with every call audited', async () => {
    const auditFile = join(dir, 'sigterm.log');
    // The burst stays under the per-user quotas (src/README.md, "Quotas"): the test is about the audit trail.
    const serve = npmRun('serve', { ...serveEnv(auditFile), DEPUTY_QUOTA_CALLS: '100', DEPUTY_QUOTA_READ_TOOL_CALLS: '100' });
    const mcpUrl = await serve.waitFor(/deputy listening on (\S+)/);
    // What runs is node on the build's startup snapshot (src/README.md D47), not tsx on the sources.
    const { stdout: command } = await run('ps', ['-o', 'args=', '--ppid', String(serve.child.pid)]);
    expect(command.trim()).toMatch(/^node --snapshot-blob \S+\/dist\/snapshot\/deputy\.blob serve$/);

    const client = new Client({ name: 'build-test', version: '1.0.0' });
    const token = await mintAgentToken(backend.url, mcpUrl);
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('listDrafts');
    // Audit lines are buffered (src/serveCommon.ts, AUDIT_BUFFER): stopped right after a burst of calls,
    // well inside one flush period, the trail must still hold every one of them.
    for (let i = 0; i < 25; i++) {
      const result = await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    }
    await client.close();

    await stopAndCheck(serve, 'SIGTERM', [mcpUrl]);
    expect(auditedOutcomes(auditFile, 'listDrafts')).toEqual(Array(25).fill('ok'));
  }, 60_000);

  it('npm run serve: SIGINT to npm stops it too', async () => {
    const serve = npmRun('serve', serveEnv(join(dir, 'sigint.log')));
    const mcpUrl = await serve.waitFor(/deputy listening on (\S+)/);
    await stopAndCheck(serve, 'SIGINT', [mcpUrl]);
  }, 60_000);

  /**
   * Every module `node dist/src/main.js serve ARGS` loads up to its listening line, and through
   * `use` of its MCP URL if given (test/helpers/moduleTrace.mjs).
   */
  async function modulesLoadedServing(args: string[], name: string, use?: (mcpUrl: string) => Promise<void>): Promise<string[]> {
    const trace = join(dir, `${name}.modules`);
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test/helpers/moduleTrace.mjs'), 'dist/src/main.js', 'serve', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...serveEnv(join(dir, `${name}.log`)), MODULE_TRACE_FILE: trace },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      for await (const line of createInterface({ input: child.stdout })) {
        const listening = /^deputy listening on (\S+)/.exec(line);
        if (!listening) continue;
        await use?.(listening[1]!);
        break;
      }
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    return readFileSync(trace, 'utf8').split('\n').filter(Boolean);
  }

  it('serves without loading the code generator, Redocly, openapi-typescript or TypeScript', async () => {
    const compiled = join(dir, 'surface.json');
    await run(process.execPath, ['dist/src/main.js', 'compile', '--out', compiled], { cwd: ROOT });
    for (const [name, args] of [['committed', []], ['compiled', ['--compiled', compiled]]] as const) {
      const loaded = await modulesLoadedServing([...args], name);
      // The trace works: it saw the server's own modules and the CommonJS ones (pino).
      expect(loaded.some((m) => m.endsWith('dist/src/serve.js')), name).toBe(true);
      expect(loaded.some((m) => /node_modules\/pino\//.test(m)), name).toBe(true);
      const generator = loaded.filter((m) => /dist\/src\/codegen\/|node_modules\/(@redocly|openapi-typescript|typescript|yaml)\//.test(m));
      expect(generator, name).toEqual([]);
      // Loaded only when needed (bench/README.md, "Cold start"): prom-client on the first event
      // or scrape, secretlint on the first text with an anchor, ioredis and the Redis limiters
      // with DEPUTY_REDIS_URL; of rate-limiter-flexible only its in-memory limiter's files; Express
      // on the first request for the approval page (src/README.md D44); undici on the first backend
      // call, jose's index with the first caller token to verify (D45).
      const lazy = loaded.filter((m) => /node_modules\/(prom-client|@opentelemetry|@secretlint|ioredis|express|undici)\/|rate-limiter-flexible\/lib\/(index|RateLimiterRedis)\.js|jose\/dist\/webapi\/index\.js/.test(m));
      expect(lazy, name).toEqual([]);
      expect(loaded.some((m) => m.endsWith('rate-limiter-flexible/lib/RateLimiterMemory.js')), name).toBe(true);
    }
  }, 60_000);

  it('answers MCP, health, metadata and metrics without Express, and loads it for the approval page (src/README.md D44)', async () => {
    const express = (loaded: string[]) => loaded.filter((m) => /node_modules\/(express|body-parser|router)\//.test(m));
    const withoutPage = await modulesLoadedServing([], 'mcp-only', async (mcpUrl) => {
      const client = new Client({ name: 'build-test', version: '1.0.0' });
      const token = await mintAgentToken(backend.url, mcpUrl);
      await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('listDrafts');
      expect((await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } })).isError).toBeFalsy();
      await client.close();
      for (const path of ['/healthz', '/readyz', `/.well-known/oauth-protected-resource${new URL(mcpUrl).pathname}`, '/metrics']) {
        expect((await fetch(new URL(path, mcpUrl))).status, path).toBe(200);
      }
      expect((await fetch(new URL('/no-such-path', mcpUrl))).status).toBe(404);
    });
    expect(withoutPage.some((m) => m.endsWith('dist/src/http/mcpEndpoint.js'))).toBe(true);
    expect(express(withoutPage)).toEqual([]);
    // The trace sees Node's bundled dependencies: the SDK's web-standard transport loaded its undici.
    expect(withoutPage).toContain('node:internal/deps/undici/undici');
    // Verifying the agent's token loaded jose's verification modules, never its index (all of JWE, JWK, JWS).
    expect(withoutPage.some((m) => m.endsWith('jose/dist/webapi/jwt/verify.js'))).toBe(true);
    expect(withoutPage.filter((m) => m.endsWith('jose/dist/webapi/index.js'))).toEqual([]);
    const withPage = await modulesLoadedServing([], 'page', async (mcpUrl) => {
      expect((await fetch(new URL('/approvals/style.css', mcpUrl))).status).toBe(200);
    });
    expect(express(withPage)).not.toEqual([]);
  }, 60_000);

  it('stdio loads nothing of the HTTP side: no Express, no src/http/, no serveHttp (src/README.md D45)', async () => {
    const trace = join(dir, 'stdio.modules');
    const env = serveEnv(join(dir, 'stdio.log'));
    delete env.DEPUTY_AUTH_ISSUER;
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test/helpers/moduleTrace.mjs'), 'dist/src/main.js', 'stdio'], {
      cwd: ROOT,
      env: { ...process.env, ...env, DEPUTY_OAUTH_TOKEN_URL: `${backend.url}/oauth/token`, MODULE_TRACE_FILE: trace },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      // Served once it answers: every module serving needs is loaded by then.
      const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
      send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'build-test', version: '1' } } });
      for await (const line of createInterface({ input: child.stdout })) {
        const message = JSON.parse(line) as { id?: number; result?: { tools?: { name: string }[] } };
        if (message.id === 1) {
          send({ jsonrpc: '2.0', method: 'notifications/initialized' });
          send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        } else if (message.id === 2) {
          expect(message.result?.tools?.map((tool) => tool.name)).toContain('listDrafts');
          break;
        }
      }
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    const loaded = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
    // The trace works: it saw stdio's own module and a CommonJS dependency (pino).
    expect(loaded.some((m) => m.endsWith('dist/src/serveStdio.js'))).toBe(true);
    expect(loaded.some((m) => /node_modules\/pino\//.test(m))).toBe(true);
    const http = loaded.filter((m) => /dist\/src\/(http\/|serve\.js)|node_modules\/(express|body-parser|router|prom-client)\//.test(m));
    expect(http).toEqual([]);
    // Nor Node's own bundled undici (global `fetch`, `Headers`: ~9 MiB, ~110 ms), which only the
    // SDK's web-standard HTTP transport needs. On Node 24 an ES import of node:http alone would
    // load it (src/backend/nodeHttp.ts); this test runs there too in CI.
    expect(loaded.filter((m) => m.startsWith('node:internal/deps/undici/'))).toEqual([]);
  }, 60_000);

  it('maps a stack trace back to the TypeScript source, without --enable-source-maps (src/README.md D45)', async () => {
    // What main.js does first, then an error thrown deep in the build; without the mapping the
    // same trace names dist/src/config.js, so the check below can fail.
    const probe = (map: boolean) =>
      `${map ? `await (await import(${JSON.stringify(join(DIST, 'src/stackTraces.js'))})).mapStackTracesOnDemand();` : ''}
       const m = await import(${JSON.stringify(join(DIST, 'src/config.js'))});
       try { m.loadConfig({ PORT: 'not a port' }, 'http'); } catch (e) { console.log(e.stack); }`;
    const trace = async (map: boolean) => (await run(process.execPath, ['--input-type=module', '-e', probe(map)], { cwd: ROOT })).stdout;
    const mapped = await trace(true);
    expect(mapped).toMatch(/at Module\.loadConfig \(\/\S+\/src\/config\.ts:\d+:\d+\)/);
    expect(mapped).not.toMatch(/dist\/src\/config\.js/);
    expect(await trace(false)).toMatch(/dist\/src\/config\.js:\d+/);
  });
});

describe('the startup snapshot (src/README.md D47)', () => {
  const SNAPSHOT = join(DIST, 'snapshot');
  const START = join(ROOT, 'scripts/start.sh');

  it('holds what a start evaluates, and nothing of the code generator or of what loads on first use', () => {
    const { sources } = JSON.parse(readFileSync(join(SNAPSHOT, 'deputy.js.map'), 'utf8')) as { sources: string[] };
    for (const needed of [/src\/serve\.ts$/, /src\/serveStdio\.ts$/, /src\/generated\/tools\.ts$/, /node_modules\/@modelcontextprotocol\/server\//, /node_modules\/zod\//, /node_modules\/pino\//]) {
      expect(sources.some((source) => needed.test(source)), String(needed)).toBe(true);
    }
    const generator = sources.filter((source) => /src\/codegen\/|node_modules\/(@redocly|openapi-typescript|typescript|yaml)\//.test(source));
    expect(generator).toEqual([]);
    // The packages the plain build loads on first use (above) load from node_modules then. Deputy's
    // own modules stay in the bundle, evaluated only when first imported: with DEPUTY_REDIS_URL,
    // src/state/redisState.ts and rate-limiter-flexible's Redis limiter, so limiter errors are of
    // the one class the bundled src/state/limiters.ts checks them against.
    const lazy = sources.filter((source) => /node_modules\/(prom-client|@opentelemetry|@secretlint|ioredis|express|undici)\/|rate-limiter-flexible\/lib\/index\.js|jose\/dist\/webapi\/index\.js/.test(source));
    expect(lazy).toEqual([]);
    expect(existsSync(join(SNAPSHOT, 'deputy.blob'))).toBe(true);
    expect(readFileSync(join(SNAPSHOT, 'deputy.blob.node'), 'utf8').trim()).toMatch(new RegExp(`^${process.version.replace(/\./g, '\\.')} \\S+$`));
  });

  it('stdio from the snapshot: tools/list and a call through the SDK client', async () => {
    const env = serveEnv(join(dir, 'snapshot-stdio.log'));
    delete env.DEPUTY_AUTH_ISSUER;
    const transport = new StdioClientTransport({
      command: START,
      args: ['stdio'],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), ...env, DEPUTY_OAUTH_TOKEN_URL: `${backend.url}/oauth/token` },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'build-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { stdout: command } = await run('ps', ['-o', 'args=', '-p', String(transport.pid)]);
      expect(command.trim()).toMatch(/^node --snapshot-blob \S+\/dist\/snapshot\/deputy\.blob stdio$/);
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('listDrafts');
      const result = await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    } finally {
      await client.close();
    }
  }, 60_000);

  it('loads what the blob leaves out when first used: a call (undici), /metrics (prom-client), the approval page (Express)', async () => {
    const child = spawn(START, ['serve'], { cwd: ROOT, env: { ...process.env, ...serveEnv(join(dir, 'snapshot-http.log')) }, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let mcpUrl = '';
      for await (const line of createInterface({ input: child.stdout })) {
        const listening = /^deputy listening on (\S+)/.exec(line);
        if (listening) {
          mcpUrl = listening[1]!;
          break;
        }
      }
      const { stdout: command } = await run('ps', ['-o', 'args=', '-p', String(child.pid)]);
      expect(command.trim()).toMatch(/--snapshot-blob/);
      const client = new Client({ name: 'build-test', version: '1.0.0' });
      const token = await mintAgentToken(backend.url, mcpUrl);
      await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
      const result = await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      await client.close();
      const metrics = await fetch(new URL('/metrics', mcpUrl));
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/deputy_/);
      expect((await fetch(new URL('/approvals/style.css', mcpUrl))).status).toBe(200);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  /** scripts/start.sh serve with `env` added: what it ran once listening, and what it wrote to stderr. */
  async function startServing(env: Record<string, string>): Promise<{ command: string; stderr: string }> {
    const child = spawn(START, ['serve'], { cwd: ROOT, env: { ...process.env, ...serveEnv(join(dir, 'fallback.log')), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      for await (const line of createInterface({ input: child.stdout })) if (/^deputy listening on /.test(line)) break;
      const { stdout } = await run('ps', ['-o', 'args=', '-p', String(child.pid)]);
      return { command: stdout.trim(), stderr };
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('starts the plain build, saying why, where Node would refuse the snapshot or a flag needs modules loaded', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 24) {
      // Node 20 refuses a blob started with any V8 flag it was not built with, before running anything (exit 14).
      const refused = await run(process.execPath, ['--snapshot-blob', join(SNAPSHOT, 'deputy.blob'), '--max-semi-space-size=4', 'serve'], { cwd: ROOT }).catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 14, stderr: expect.stringMatching(/Failed to load the startup snapshot/) });
      const withFlags = await startServing({ NODE_OPTIONS: '--max-semi-space-size=4' });
      expect(withFlags.command).toMatch(/^node \S+\/dist\/src\/main\.js serve$/);
      expect(withFlags.stderr).toMatch(/starting without the startup snapshot: NODE_OPTIONS is set/);
    } else {
      // Node 24 takes heap sizes; a preload or Node's own source maps expect modules loaded.
      const withHeap = await startServing({ NODE_OPTIONS: '--max-semi-space-size=4' });
      expect(withHeap.command).toMatch(/^node --snapshot-blob \S+\/dist\/snapshot\/deputy\.blob serve$/);
      expect(withHeap.stderr).not.toMatch(/without the startup snapshot/);
      const withMaps = await startServing({ NODE_OPTIONS: '--enable-source-maps' });
      expect(withMaps.command).toMatch(/^node \S+\/dist\/src\/main\.js serve$/);
      expect(withMaps.stderr).toMatch(/starting without the startup snapshot: NODE_OPTIONS holds --enable-source-maps/);
    }

    const stamp = join(SNAPSHOT, 'deputy.blob.node');
    const built = readFileSync(stamp, 'utf8');
    writeFileSync(stamp, 'v0.0.0 x86_64\n');
    try {
      const otherNode = await startServing({});
      expect(otherNode.command).toMatch(/^node \S+\/dist\/src\/main\.js serve$/);
      expect(otherNode.stderr).toMatch(/the startup snapshot was built by Node v0\.0\.0 x86_64, this is v\d+/);
    } finally {
      writeFileSync(stamp, built);
    }
  }, 60_000);

  it('maps a stack trace from the bundle back to the TypeScript source', async () => {
    // The bundle's code outside the snapshot, run as the snapshot runs it; evaluating it ends in
    // the entry's setDeserializeMainFunction, which throws outside `--build-snapshot`. Inside
    // the snapshot, frames name the same file (dist/snapshot/deputy.js) and map the same way.
    const bundle = join(SNAPSHOT, 'deputy.js');
    const probe = (map: boolean) =>
      `${map ? `(await import(${JSON.stringify(join(DIST, 'src/stackTraces.js'))})).mapStackTracesOnDemand();` : ''}
       const { runInThisContext } = await import('node:vm');
       const { createRequire } = await import('node:module');
       const { readFileSync } = await import('node:fs');
       const file = ${JSON.stringify(bundle)};
       try { runInThisContext('(function (require) {' + readFileSync(file, 'utf8') + '\\n})', { filename: file })(createRequire(file)); } catch (e) { console.log(e.stack); }`;
    const trace = async (map: boolean) => (await run(process.execPath, ['--input-type=module', '-e', probe(map)], { cwd: ROOT })).stdout;
    const mapped = await trace(true);
    expect(mapped).toMatch(/ERR_NOT_BUILDING_SNAPSHOT/);
    expect(mapped).toMatch(/at \/\S+\/src\/snapshot\.ts:\d+:\d+/);
    expect(mapped).not.toMatch(/dist\/snapshot\/deputy\.js/);
    expect(await trace(false)).toMatch(/dist\/snapshot\/deputy\.js:\d+/);
  });
});
