/**
 * Mints a token from the running mock backend's dev authorization server and prints it.
 *
 *   npm run -s token -- --for backend --scope "drafts:read"
 *   npm run -s token -- --for mcp [--surface support] [--scope "..."] [--user alice] [--resource URL]
 *
 * stdout gets exactly one line (the token, or the whole response with --json); everything else
 * goes to stderr. Exit 1 when the server refuses, 2 on usage errors or no server to ask.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadAuthFixtures } from './auth/fixtures.ts';
import { DEFAULT_SPEC_PATH, DEFAULT_TOOLS_PATH, manifestSurfaces, readYaml, scopesForTools } from './auth/specScopes.ts';

const USAGE = `usage: npm run -s token -- --for backend|mcp [options]

  --for backend     a backend token (client credentials; default client: deputy)
  --for mcp         an agent token for Deputy's MCP endpoint (dev password grant;
                    default client: deputy-dev-agent, default user: dev)
  --surface NAME    mcp: a token for this surface of openapi/tools.yaml: its path is the
                    audience, its tools' scopes the default scopes
  --scope "a b"     exactly these scopes (mcp default: every scope a Deputy tool needs)
  --user NAME       mcp: the dev user the token is for (password from users.yaml)
  --tenant NAME     mcp: put NAME in the token's \`tenant\` claim (for DEPUTY_TENANT_CLAIM=tenant)
  --password PW     mcp: the user's password, if not the fixture's
  --resource URL    mcp: the MCP endpoint (default http://127.0.0.1:\${PORT:-3000}/mcp, or the
                    surface's path);
                    backend: an RFC 8707 resource the client may target
  --client ID       mint with another client from clients.yaml
  --secret SECRET   that client's secret, if not the fixture's
  --json            print the whole token response instead of the token

The mock backend must be running (npm run mock-backend); it is found at $MOCK_BACKEND_URL,
default http://127.0.0.1:\${MOCK_BACKEND_PORT:-4010}.`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

async function main(argv: string[]): Promise<string> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      strict: true,
      options: {
        for: { type: 'string' },
        scope: { type: 'string' },
        user: { type: 'string' },
        tenant: { type: 'string' },
        password: { type: 'string' },
        resource: { type: 'string' },
        surface: { type: 'string' },
        client: { type: 'string' },
        secret: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  if (args.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (args.for !== 'backend' && args.for !== 'mcp') throw new CliError(`--for must be backend or mcp\n\n${USAGE}`, 2);
  if (args.tenant !== undefined && args.for !== 'mcp') throw new CliError(`--tenant names an agent's tenant: use it with --for mcp\n\n${USAGE}`, 2);

  const fixtures = await loadAuthFixtures();
  const clientId = args.client ?? (args.for === 'backend' ? 'deputy' : 'deputy-dev-agent');
  const secret = args.secret ?? fixtures.clients.find((c) => c.id === clientId)?.secret;
  if (secret === undefined) throw new CliError(`client '${clientId}' is not in clients.yaml; pass --secret`, 2);

  const form = new URLSearchParams();
  if (args.for === 'backend') {
    form.set('grant_type', 'client_credentials');
    if (args.scope !== undefined) form.set('scope', args.scope);
    if (args.resource !== undefined) form.set('resource', args.resource);
  } else {
    const username = args.user ?? 'dev';
    const user = fixtures.users.find((u) => u.username === username);
    const password = args.password ?? user?.password;
    if (password === undefined) throw new CliError(`user '${username}' is not in users.yaml; pass --password`, 2);
    form.set('grant_type', 'password');
    form.set('username', username);
    form.set('password', password);
    const surface = await surfaceFor(args.surface, args.resource);
    form.set('resource', args.resource ?? `http://127.0.0.1:${process.env.PORT ?? 3000}${surface?.path ?? '/mcp'}`);
    form.set('scope', args.scope ?? (await deputyToolScopes(user?.scopes, surface?.tools)));
    if (args.tenant !== undefined) form.set('tenant', args.tenant);
  }

  const baseUrl = process.env.MOCK_BACKEND_URL ?? `http://127.0.0.1:${process.env.MOCK_BACKEND_PORT ?? 4010}`;
  const tokenEndpoint = await discoverTokenEndpoint(baseUrl);
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: form,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok || typeof body?.access_token !== 'string') {
    const error = typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`;
    const description = typeof body?.error_description === 'string' ? body.error_description : 'no token in the response';
    throw new CliError(`${error}: ${description}`, 1);
  }
  return args.json ? JSON.stringify(body) : body.access_token;
}

/**
 * Every scope a Deputy tool needs: the union of the `security` scopes of the operations the
 * tool manifest names. Read from the YAML directly: mock-backend runs no code of src/ (src/README.md D33).
 */
async function deputyToolScopes(userScopes: readonly string[] | undefined, only?: readonly string[]): Promise<string> {
  if (!existsSync(DEFAULT_TOOLS_PATH)) {
    if (!userScopes) throw new CliError('no openapi/tools.yaml and no known user to take scopes from; pass --scope', 2);
    process.stderr.write("note: openapi/tools.yaml does not exist yet; requesting all of the user's allowed scopes\n");
    return userScopes.join(' ');
  }
  const scopes = scopesForTools(await readYaml(DEFAULT_SPEC_PATH), await readYaml(DEFAULT_TOOLS_PATH), only);
  if (scopes.length === 0) throw new CliError('the tools in openapi/tools.yaml need no scopes; pass --scope', 2);
  return scopes.join(' ');
}

/**
 * The surface a token is for: the one `--surface` names, or none. With surfaces declared and
 * neither `--surface` nor `--resource`, /mcp is not served, so the choice is asked for.
 */
async function surfaceFor(name: string | undefined, resource: string | undefined): Promise<{ path: string; tools: string[] } | undefined> {
  const surfaces = existsSync(DEFAULT_TOOLS_PATH) ? manifestSurfaces(await readYaml(DEFAULT_TOOLS_PATH)) : new Map<string, { path: string; tools: string[] }>();
  const names = [...surfaces.keys()].sort().join(', ');
  if (name === undefined) {
    if (surfaces.size > 0 && resource === undefined) throw new CliError(`openapi/tools.yaml declares surfaces (${names}); pass --surface NAME (or --resource URL)`, 2);
    return undefined;
  }
  const surface = surfaces.get(name);
  if (!surface) throw new CliError(`openapi/tools.yaml has no surface '${name}'${names ? ` (it has ${names})` : ''}`, 2);
  return surface;
}

async function discoverTokenEndpoint(baseUrl: string): Promise<string> {
  const metadataUrl = new URL('/.well-known/oauth-authorization-server', baseUrl);
  let response: Response;
  try {
    response = await fetch(metadataUrl, { signal: AbortSignal.timeout(5_000) });
  } catch {
    throw new CliError(`no mock backend at ${baseUrl}; start it with \`npm run mock-backend\` (or set MOCK_BACKEND_URL)`, 2);
  }
  const metadata = (await response.json().catch(() => undefined)) as { token_endpoint?: unknown } | undefined;
  if (!response.ok || typeof metadata?.token_endpoint !== 'string') {
    throw new CliError(`${baseUrl} answered but is not the mock backend's authorization server (no RFC 8414 metadata)`, 2);
  }
  return metadata.token_endpoint;
}

main(process.argv.slice(2)).then(
  (out) => process.stdout.write(`${out}\n`),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
