/**
 * `npm start`: the embedded default (src/README.md D12). Starts the mock backend and Deputy
 * wired together on loopback, mints a dev agent token per endpoint (each surface of the manifest,
 * or the single /mcp), and prints each URL, its token and ready-to-paste client configurations.
 * Ctrl-C stops both.
 *
 * It lives here, outside src/, and runs both as child processes rather than importing them:
 * src/ never imports mock-backend/, mock-backend/ runs no code of src/ (it imports only the
 * generated API types), and the two talk over HTTP exactly as Deputy and a real backend do.
 *
 *   PORT               Deputy's port (default 3000)
 *   MOCK_BACKEND_PORT  the mock backend's port (default 4010)
 *   any DEPUTY_* variable is passed through to Deputy (src/README.md, "Configuration")
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const port = process.env.PORT ?? '3000';
const mockPort = process.env.MOCK_BACKEND_PORT ?? '4010';
const tsx = (script: string, args: string[] = []) => [process.execPath, ['--import', 'tsx', script, ...args]] as const;
const children: ChildProcess[] = [];

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  for (const child of children) child.kill('SIGTERM');
  process.exit(1);
}

/** Starts a child and resolves with the first stdout line matching `ready` (its URL). */
function start(name: string, script: string, scriptArgs: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<string> {
  const [command, args] = tsx(script, scriptArgs);
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = ready.exec(line);
      if (match) resolve(match[1]!);
      else process.stdout.write(`${line}\n`);
    });
    child.once('exit', (code, signal) => {
      if (!stopping) fail(`${name} exited (${signal ?? `code ${code}`}); see its messages above`);
    });
  });
}

/** An agent token for one endpoint: a surface's own scopes (`--surface`), or every tool's for /mcp. */
function mintAgentToken(mockUrl: string, endpoint: Endpoint): Promise<string> {
  // With Deputy's tenants on (the dev server's `tenant` claim), the printed token is of tenant north,
  // the first of mock-backend/fixtures/deputy-tenant-tokens.yaml (src/README.md, "Tenants").
  const tenant = process.env.DEPUTY_TENANT_CLAIM === 'tenant' ? ['--tenant', 'north'] : [];
  const [command, args] = tsx('mock-backend/token.ts', ['--for', 'mcp', '--resource', endpoint.url, ...(endpoint.surface ? ['--surface', endpoint.surface] : []), ...tenant]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, MOCK_BACKEND_URL: mockUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`the token command failed (exit ${code})`))));
  });
}

/** One endpoint Deputy serves, as its listening line names it: `URL`, or `URL (surface NAME[, read-only])`. */
interface Endpoint {
  url: string;
  surface: string | null;
  readOnly: boolean;
}

function endpointsOf(listening: string): Endpoint[] {
  return listening.split(', http').map((part, i) => {
    const match = /^(\S+)(?: \(surface ([a-z0-9-]+)(, read-only)?\))?$/.exec(i === 0 ? part : `http${part}`);
    if (!match) fail(`cannot read Deputy's listening line: ${listening}`);
    return { url: match[1]!, surface: match[2] ?? null, readOnly: match[3] !== undefined };
  });
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping Deputy and the mock backend…\n');
    const exits = children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve))));
    for (const child of children) child.kill('SIGTERM');
    void Promise.all(exits).then(() => process.exit(0));
  });
}

const mockUrl = await start('the mock backend', 'mock-backend/main.ts', [], { ...process.env, MOCK_BACKEND_PORT: mockPort }, /listening on (\S+)/);
const mcpUrl = await start(
  'Deputy',
  'src/main.ts',
  ['serve'],
  {
    DEPUTY_AUTH_ISSUER: mockUrl,
    DEPUTY_BACKEND_URL: mockUrl,
    DEPUTY_TOKEN_PROVIDER: 'client_credentials',
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
    ...process.env,
    PORT: port,
  },
  /deputy listening on (.+)$/,
).catch(() => fail('Deputy did not start'));
const endpoints = endpointsOf(mcpUrl);
const tokens = await Promise.all(endpoints.map((endpoint) => mintAgentToken(mockUrl, endpoint))).catch((error: Error) => fail(error.message));

/** What to paste for one endpoint: its token and the client configurations that use it. */
function endpointBlock(endpoint: Endpoint, token: string): string {
  const name = endpoint.surface ? `deputy-${endpoint.surface}` : 'deputy';
  const heading = endpoint.surface ? `Surface ${endpoint.surface}${endpoint.readOnly ? ' (read-only)' : ''}` : 'MCP endpoint';
  const mint = `npm run -s token -- --for mcp${endpoint.surface ? ` --surface ${endpoint.surface}` : ''}`;
  const jsonConfig = JSON.stringify({ mcpServers: { [name]: { type: 'http', url: endpoint.url, headers: { Authorization: `Bearer ${token}` } } } }, null, 2);
  return `
== ${heading}   ${endpoint.url}
  Agent token    (user "dev", valid 15 min; mint another with: ${mint})

${token}

Claude Code:
  claude mcp add --transport http ${name} ${endpoint.url} --header "Authorization: Bearer ${token}"

MCP Inspector 2.x (CLI mode; it needs Node 22, which npx fetches):
  npx -y -p node@22 -p @modelcontextprotocol/inspector@2.12.0 -- mcp-inspector --cli ${endpoint.url} --transport http --method tools/list --header "Authorization: Bearer ${token}"
  npx -y -p node@22 -p @modelcontextprotocol/inspector@2.12.0 -- mcp-inspector --cli ${endpoint.url} --transport http --method tools/call --tool-name listDrafts --tool-arg limit=5 --header "Authorization: Bearer ${token}"

Generic client (mcp.json):
${jsonConfig}
`;
}

const list = endpoints.map((e) => `  ${e.surface ? `Surface ${e.surface.padEnd(9)}` : 'MCP endpoint     '}${e.url}${e.readOnly ? '   (read-only: read tools and read-only credentials)' : ''}`).join('\n');
process.stdout.write(`
Deputy is running (dev mode: mock backend + dev authorization server on loopback).

${list}
  Mock backend     ${mockUrl}   (dev clients and users: mock-backend/README.md, "The development authorization server")

Every endpoint speaks MCP 2026-07-28 (stateless) and the 2025 revisions (sessions); the client
chooses. Each surface has its own token audience: a token for one is refused on the other
(openapi/README.md, "Surfaces").
${endpoints.map((endpoint, i) => endpointBlock(endpoint, tokens[i]!)).join('')}
Clients that do OAuth themselves (MCP Inspector UI, Claude Code without --header) can log in
through the dev login page: user "dev", password in mock-backend/fixtures/users.yaml.

Press Ctrl-C to stop.
`);
