/**
 * What serving over HTTP (src/serve.ts) and over stdio (src/serveStdio.ts) share: the
 * dependencies a start needs, the token provider, the start-up credential check that refuses to
 * start without every credential (src/README.md D3), the logger and the audit trail. It imports
 * nothing of the HTTP side, so `stdio` loads no Express, sessions or approval page (D45).
 */
import pino, { type Logger } from 'pino';
import {
  ClientCredentialsProvider,
  CredentialRouter,
  StaticTokenProvider,
  TokenExchangeProvider,
  createBackendClient,
  describeKind,
  findOverPrivilegedTokens,
  isBackendError,
  probe,
  type BackendClient,
  type BackendLimits,
  type CredentialNeed,
  type OperationBinding,
  type TokenProvider,
} from './backend/index.ts';
import type { Config } from './config.ts';
import { profile as generatedProfile, type ServerProfile, type SurfaceDefinition, type ToolDefinition } from './generated/tools.ts';
import { createMcpServer, type ApprovalRoundsConfig, type CallerSource, type ProtocolEra } from './server/mcpServerFactory.ts';
import type { SharedState } from './state/sharedState.ts';
import type { OutOfBandApprovals } from './tools/outOfBand.ts';
import { createAuditLog, type AuditLog } from './tools/audit.ts';
import type { Caller } from './tools/caller.ts';
import type { FairShareGate } from './tools/fairShare.ts';
import { buildCatalog } from './tools/toolCatalog.ts';
import { createToolService, type DeputyToolService } from './tools/toolService.ts';
import type { UserQuotas } from './tools/userQuotas.ts';

export const SERVER_IDENTITY = { name: 'deputy', version: '0.1.0' };

/** The identity a server announces: its instructions come from the manifest's server profile. */
export const identityFor = (deps: ServeDependencies) => ({ ...SERVER_IDENTITY, instructions: (deps.profile ?? generatedProfile).instructions });

/** How long a 2026-07-28 client may reuse a `tools/list` answer: the list changes only with a new build or token. */
const TOOLS_LIST_TTL_MS = 60_000;

export function mcpServerFor(identity: ReturnType<typeof identityFor>, tools: DeputyToolService, callerOf: CallerSource, approvals: ApprovalRoundsConfig, outOfBand: OutOfBandApprovals | null, log: Logger, legacyElicitation: boolean) {
  return (era: ProtocolEra) =>
    createMcpServer(identity, tools, callerOf, {
      era,
      elicitation: legacyElicitation,
      approvals,
      outOfBand,
      toolsListTtlMs: TOOLS_LIST_TTL_MS,
      onElicitationFailure: (tool, error) => log.warn({ tool, err: error instanceof Error ? error.message : String(error) }, 'elicitation failed'),
    });
}

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface ServeDependencies {
  tools: readonly ToolDefinition[];
  /** The server profile compiled with `tools` (default: the committed src/generated/ one). */
  profile?: ServerProfile;
  /**
   * The manifest's surfaces (src/README.md D42), each served at its own path with its own
   * audience, tools, sessions and credentials; absent or empty: every tool at the single `/mcp`.
   */
  surfaces?: readonly SurfaceDefinition[];
  log?: Logger;
  /** Override the audit destination (tests capture it). */
  audit?: AuditLog;
  /** The clock pending approvals expire by (tests move it forward); default Date.now. */
  now?: () => number;
  /**
   * TEST ONLY — turns caller authentication off. Every request to /mcp, with or without a
   * bearer token, acts as this caller. Used by the MCP conformance profile
   * (test/conformance/profile.ts), whose suite cannot obtain a token. No configuration or
   * environment variable sets it; only code that calls serveHttp can, and only on a loopback bind.
   */
  testOnlyUnauthenticatedCaller?: Caller;
}

/**
 * Every credential the tools' backend calls need: one per operation (the tool's own unless it is
 * a dry run, approval lookups, dry-run previews) and scheme of its chosen security requirement.
 */
export function credentialNeeds(tools: readonly ToolDefinition[]): CredentialNeed[] {
  const seen = new Map<string, CredentialNeed>();
  const add = (binding: OperationBinding) => {
    for (const c of binding.credentials) {
      seen.set(`${binding.operationId}\u0000${c.scheme}`, { operationId: binding.operationId, scheme: c.scheme, kind: c.kind, scopes: c.scopes });
    }
  };
  for (const tool of tools) {
    // A dry run never calls its write, so Deputy need not hold the write's credential; a preview
    // header is sent on the write itself, a validate operation needs its own.
    const preview = tool.dryRun?.preview ?? null;
    if (!tool.dryRun || preview?.kind === 'header') add(tool.operation);
    if (preview?.kind === 'operation') add(preview.operation);
    if (tool.approval?.lookup) add(tool.approval.lookup.operation);
  }
  return [...seen.values()];
}

/** What one endpoint serves, before it is running. */
export interface SurfacePlan {
  name: string | null;
  title: string | null;
  path: string;
  readOnly: boolean;
  tools: ToolDefinition[];
}

/**
 * The endpoints to serve: the manifest's surfaces, or the single `/mcp` with every tool. Codegen
 * already refused a read-only surface with a write tool; refused again here, where a hand-made
 * compiled file or a test could bring one (enforced twice, src/README.md D42).
 */
export function surfacePlans(deps: Pick<ServeDependencies, 'tools' | 'surfaces'>): SurfacePlan[] {
  const declared = deps.surfaces ?? [];
  if (declared.length === 0) return [{ name: null, title: null, path: '/mcp', readOnly: false, tools: [...deps.tools] }];
  const byName = new Map(deps.tools.map((tool) => [tool.name, tool]));
  return [...declared]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((surface) => {
      const missing = surface.tools.filter((name) => !byName.has(name));
      if (missing.length > 0) throw new StartupError(`surface '${surface.name}' serves ${missing.join(', ')}, which the tool surface does not have; compile the manifest again`);
      const tools = surface.tools.map((name) => byName.get(name)!);
      const writer = tools.find((tool) => tool.risk !== 'read');
      if (surface.readOnly && writer) throw new StartupError(`surface '${surface.name}' is read-only but serves ${writer.risk} tool ${writer.name}; compile the manifest again`);
      return { name: surface.name, title: surface.title, path: surface.path, readOnly: surface.readOnly, tools };
    });
}

/**
 * The credentials one surface uses: with a token file, its own entries and those naming no
 * surface (src/README.md D42); an OAuth client is shared, since it mints each token with exactly
 * its operation's scopes whoever asks.
 */
function providerForSurface(provider: TokenProvider, surface: string | null): TokenProvider {
  if (surface === null) return provider;
  if (provider instanceof StaticTokenProvider || provider instanceof CredentialRouter) return provider.forSurface(surface);
  return provider;
}

/** The static token file behind a provider: itself, or the one beside an OAuth client; null without one. */
function tokenFileOf(provider: TokenProvider): StaticTokenProvider | null {
  return provider instanceof StaticTokenProvider ? provider : provider instanceof CredentialRouter ? provider.file : null;
}

/** How messages name the token file: its path, or the variable that would set it. */
function tokenFileName(config: Config): string {
  return config.tokens.provider === 'static' ? config.tokens.file : (config.tokens.file ?? 'DEPUTY_TOKEN_FILE');
}

/** A token file entry naming a surface the manifest does not declare is a typo that would leave a surface without it. */
function checkTokenFileSurfaces(provider: TokenProvider, plans: readonly SurfacePlan[], config: Config): void {
  const file = tokenFileOf(provider);
  if (!file) return;
  const known = new Set(plans.map((p) => p.name).filter((name) => name !== null));
  const strays = file.surfaceNames().filter(({ surface }) => !known.has(surface));
  if (strays.length === 0) return;
  const where = tokenFileName(config);
  const declared = known.size > 0 ? `the manifest declares ${[...known].join(', ')}` : 'the manifest declares no surfaces';
  throw new StartupError(`${where}: ${strays.map((s) => `entry '${s.tokenId}' names surface '${s.surface}'`).join('; ')}, but ${declared}; correct its \`surfaces:\``);
}

export function createTokenProvider(config: Config): TokenProvider {
  const tokens = config.tokens;
  // With tenants on, every token file entry must name its tenant (src/README.md D41).
  const fileOptions = { tenants: config.tenants !== null };
  if (tokens.provider === 'static') return StaticTokenProvider.fromFile(tokens.file, fileOptions);
  const common = { tokenUrl: tokens.tokenUrl, clientId: tokens.clientId, clientSecret: tokens.clientSecret, resource: config.backend.url };
  const oauth = tokens.provider === 'client_credentials' ? new ClientCredentialsProvider(common) : new TokenExchangeProvider(common);
  return tokens.file === null ? oauth : new CredentialRouter(oauth, StaticTokenProvider.fromFile(tokens.file, fileOptions));
}

/**
 * The token provider, and each served surface's view of it with every credential checked
 * (src/README.md D3, D42): what `serve` and `stdio` both do before anything else. The token
 * file is checked against every surface the manifest declares, served here or not.
 */
export async function checkedTokenProviders(config: Config, deps: ServeDependencies, served: readonly SurfacePlan[], log: Logger): Promise<{ root: TokenProvider; providers: TokenProvider[] }> {
  const root = createTokenProvider(config);
  checkTokenFileSurfaces(root, surfacePlans(deps), config);
  const writeScopes = writeScopesOf(deps.tools);
  const providers: TokenProvider[] = [];
  for (const plan of served) {
    const provider = providerForSurface(root, plan.name);
    await checkCredentials(config, provider, plan.tools, log, plan.name === null ? undefined : { name: plan.name, readOnly: plan.readOnly, writeScopes });
    providers.push(provider);
  }
  return { root, providers };
}

const needName = (n: CredentialNeed) => `${n.operationId} (scheme ${n.scheme}: ${describeKind(n.kind)}${n.scopes.length > 0 ? ` with ${n.scopes.join(' ')}` : ''})`;

/** The surface a credential check is for (src/README.md D42). */
export interface CredentialCheckSurface {
  name: string;
  readOnly: boolean;
  /** Every scope a write or destructive tool's operation of the manifest needs: named as such in a refusal. */
  writeScopes: ReadonlySet<string>;
}

/** Every scope the manifest's write and destructive tools' own operations need. */
function writeScopesOf(tools: readonly ToolDefinition[]): Set<string> {
  return new Set(tools.filter((tool) => tool.risk !== 'read').flatMap((tool) => tool.operation.credentials.flatMap((c) => c.scopes)));
}

/**
 * Refuse to start without a credential for every scheme of every exposed operation, naming
 * operation and scheme (src/README.md D3), and warn loudly about credentials that hold more than their operation
 * needs. For a read-only surface such a credential is refused instead (D42): it could write.
 */
export async function checkCredentials(config: Config, provider: TokenProvider, tools: readonly ToolDefinition[], log: Logger, surface?: CredentialCheckSurface): Promise<void> {
  const on = surface ? `surface '${surface.name}': ` : '';
  const needs = credentialNeeds(tools);
  const file = tokenFileOf(provider);
  const fromFile = provider instanceof CredentialRouter ? needs.filter((n) => provider.servedByFile(n)) : file ? needs : [];
  const fromOAuth = needs.filter((n) => !fromFile.includes(n));
  const tokenFile = tokenFileName(config);
  // With tenants on, each tenant the file names must cover every exposed operation on its own (D41).
  const tenants = file?.tenants() ?? null;
  const perTenant = <T extends object>(list: readonly T[]): (T & { tenant?: string })[] =>
    tenants === null ? [...list] : tenants.flatMap((tenant) => list.map((n) => ({ ...n, tenant })));
  /** (tenant, operationId) → the token file entry serving it, so a refusal names the credential (never its value). */
  const entryOf = new Map<string, string>();
  const entryKey = (tenant: string | undefined, operationId: string) => `${tenant ?? ''}\u0000${operationId}`;
  const readOnlyRefusals: string[] = [];
  if (file) {
    const coverage = file.coverage(perTenant(fromFile));
    if (coverage.missing.length > 0) {
      const named = (m: (typeof coverage.missing)[number]) => `${m.tenant !== undefined ? `tenant '${m.tenant}': ` : ''}${needName(m)} — ${m.reason}`;
      throw new StartupError(`${on}no backend credential for: ${coverage.missing.map(named).join('; ')}. Add entries to ${tokenFile}.`);
    }
    for (const c of coverage.covered) entryOf.set(entryKey(c.tenant, c.operationId), c.tokenId);
    for (const m of coverage.scopeMismatch) {
      log.warn({ ...(surface ? { surface: surface.name } : {}), operationId: m.operationId, tokenId: m.tokenId, declared: m.declared, needed: m.needed }, 'static token scopes differ from what its operation needs');
      const extra = m.declared.filter((scope) => !m.needed.includes(scope));
      if (surface?.readOnly && extra.length > 0) readOnlyRefusals.push(privilegeRefusal(surface, `token file entry '${m.tokenId}'`, m.operationId, extra, `${tokenFile} declares`));
    }
  }
  const notMintable = fromOAuth.filter((n) => n.kind !== 'bearer');
  if (notMintable.length > 0) {
    throw new StartupError(`OAuth mints bearer tokens only; no credential for: ${notMintable.map(needName).join(', ')}. Set DEPUTY_TOKEN_FILE to a token file with a \`scheme:\` entry for each.`);
  }
  if (config.tokens.provider === 'client_credentials') {
    // One token request per scope set, all at once: start-up takes one round trip, not one per operation.
    const failures: { need: CredentialNeed; error: unknown }[] = [];
    await Promise.all(fromOAuth.map((need) => provider.getToken(need).catch((error: unknown) => failures.push({ need, error }))));
    if (failures.length > 0) throw new StartupError(`${on}${describeTokenFailures(failures, config)}`);
  }
  // Token exchange needs a caller's token, so its tokens cannot be checked before a call.
  const checkable = config.tokens.provider === 'token_exchange' ? fromFile : needs;
  const findings = await findOverPrivilegedTokens(provider, perTenant(checkable), config.introspection ? { introspection: config.introspection } : {});
  for (const finding of findings) {
    log.warn(
      { ...(surface ? { surface: surface.name } : {}), operationId: finding.operationId, ...(finding.tenant !== undefined ? { tenant: finding.tenant } : {}), needed: finding.scopes, extra: finding.extraScopes, missing: finding.missingScopes },
      'OVER-PRIVILEGED BACKEND TOKEN: it holds scopes its operation does not need; issue a narrower one',
    );
    if (surface?.readOnly && finding.extraScopes.length > 0) {
      const tokenId = entryOf.get(entryKey(finding.tenant, finding.operationId));
      const credential = tokenId !== undefined ? `token file entry '${tokenId}'` : `the OAuth token obtained for ${finding.operationId}`;
      const shows = finding.method === 'jwt' ? "its JWT's scope claim shows" : 'introspection shows';
      readOnlyRefusals.push(privilegeRefusal(surface, credential, finding.operationId, finding.extraScopes, shows));
    }
  }
  if (readOnlyRefusals.length > 0) throw new StartupError([...new Set(readOnlyRefusals)].join('\n'));
}

/**
 * A read-only surface holding a credential that could do more than read. Every scope beyond the
 * operation's own counts; one a write tool needs is named as a write scope.
 */
function privilegeRefusal(surface: CredentialCheckSurface, credential: string, operationId: string, extra: readonly string[], shows: string): string {
  const named = extra.map((scope) => (surface.writeScopes.has(scope) ? `${scope} (a write scope)` : scope)).join(', ');
  return `surface '${surface.name}' is read-only, but ${credential}, used for ${operationId}, holds ${named}, as ${shows} — fix: give this surface a credential holding only what ${operationId} needs (a token file entry with \`surfaces: [${surface.name}]\`)`;
}

/**
 * One line per distinct cause, naming every operation it blocks and the setting to change. A
 * wrong secret fails every token request the same way; printing it once per operation buried
 * the fix, and requests sharing a scope set share one in-flight failure whose message names
 * whichever operation asked first, so the cause is taken without that name.
 */
function describeTokenFailures(failures: readonly { need: CredentialNeed; error: unknown }[], config: Config): string {
  const byCause = new Map<string, { fix: string; operations: string[] }>();
  for (const { need, error } of failures) {
    const cause = causeOf(error);
    const group = byCause.get(cause) ?? { fix: tokenFailureFix(error, config), operations: [] };
    group.operations.push(need.operationId);
    byCause.set(cause, group);
  }
  const lines = [...byCause].map(([cause, { fix, operations }]) => `  ${cause}, for ${[...new Set(operations)].join(', ')} — fix: ${fix}`);
  return `cannot obtain backend tokens (${byCause.size} cause${byCause.size === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

function causeOf(error: unknown): string {
  if (!isBackendError(error)) return 'the token provider failed';
  const prefix = `${error.operationId}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

function tokenFailureFix(error: unknown, config: Config): string {
  const tokenUrl = config.tokens.provider === 'static' ? '' : config.tokens.tokenUrl;
  if (!isBackendError(error)) return 'see the log above';
  if (error.status === undefined) return `check DEPUTY_OAUTH_TOKEN_URL (${tokenUrl}) and that the authorization server is up`;
  switch (error.causeCode) {
    case 'invalid_client':
    case 'unauthorized_client':
      return 'check DEPUTY_OAUTH_CLIENT_ID and DEPUTY_OAUTH_CLIENT_SECRET: the authorization server does not accept them';
    case 'invalid_scope':
      return "allow Deputy's OAuth client these operations' scopes at the authorization server";
    case 'invalid_target':
      return `check DEPUTY_BACKEND_URL (${config.backend.url}): the authorization server does not know it as a resource`;
  }
  if (error.status === 401) return 'check DEPUTY_OAUTH_CLIENT_ID and DEPUTY_OAUTH_CLIENT_SECRET: the authorization server does not accept them';
  if (error.status === 404 || error.status === 405) return `check DEPUTY_OAUTH_TOKEN_URL (${tokenUrl}): no token endpoint answers there`;
  return 'see the authorization server\'s log for why it refused';
}

/**
 * The audit trail's destination: asynchronous and batched. Lines collect in memory and go out in
 * one write once 4 KiB are waiting, at least every 250 ms, and on close; pino flushes what is left
 * synchronously when the process exits, so a stop (SIGTERM, SIGINT) loses no line. The buffer is
 * bounded (8 MiB): if the disk stalls that long, lines are dropped and each drop is logged as an
 * error rather than growing memory without end (src/README.md, "The audit trail").
 */
export const AUDIT_BUFFER = { minLength: 4096, maxLength: 8 * 2 ** 20, periodicFlush: 250 } as const;

export function auditFor(config: Config, log: Logger): AuditLog {
  const target = config.audit.destination;
  const dest = target === 'stdout' ? 1 : target === 'stderr' ? 2 : target;
  const destination = pino.destination({ dest, sync: false, append: true, mkdir: typeof dest === 'string', ...AUDIT_BUFFER });
  destination.on('drop', () => log.error({ bufferBytes: AUDIT_BUFFER.maxLength }, 'AUDIT LINE DROPPED: the audit destination does not keep up; check DEPUTY_AUDIT_LOG'));
  return createAuditLog({ destination, redactArguments: config.audit.redactArguments });
}

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'deputy' },
      // Belt and braces: no field that could hold a credential is ever printed.
      redact: {
        paths: ['token', '*.token', 'accessToken', '*.accessToken', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'clientSecret', '*.clientSecret', 'callerToken'],
        censor: '[REDACTED]',
      },
    },
    pino.destination(2),
  );
}

/**
 * `fairShare` absent: no gate (stdio's one caller has no one to share with; token exchange:
 * backendLimitsFor). `shared` carries what every surface's service counts together (D42).
 */
export function toolServiceFor(
  config: Config,
  deps: ServeDependencies,
  backend: BackendClient,
  log: Logger,
  audit: AuditLog,
  state: SharedState,
  shared: { fairShare?: FairShareGate | undefined; userQuotas?: UserQuotas; surface?: SurfacePlan } = {},
): DeputyToolService {
  const { fairShare, userQuotas, surface } = shared;
  return createToolService({
    ...(fairShare ? { fairShare } : {}),
    ...(userQuotas ? { userQuotas } : {}),
    ...(surface?.name ? { surface: surface.name } : {}),
    catalog: buildCatalog(surface?.tools ?? deps.tools),
    backend,
    audit,
    log,
    quotas: config.quotas,
    limiters: state.limiters,
    onBehalfOfCaller: config.tokens.provider === 'token_exchange',
    secretPatterns: (deps.profile ?? generatedProfile).secretPatterns,
  });
}

export function backendFor(config: Config, provider: TokenProvider, limits?: BackendLimits): BackendClient {
  return createBackendClient({
    ...(limits ? { limits } : {}),
    baseUrl: config.backend.url,
    tokens: provider,
    connectTimeoutMs: Math.min(5_000, config.backend.timeoutMs),
    headersTimeoutMs: config.backend.timeoutMs,
    bodyTimeoutMs: config.backend.timeoutMs,
    timeoutMs: config.backend.timeoutMs,
    maxResponseBytes: config.backend.maxResponseBytes,
    retry: { maxRetries: config.backend.maxRetries, maxRetryAfterSeconds: config.backend.maxRetryAfterSeconds },
    userAgent: `deputy/${SERVER_IDENTITY.version}`,
  });
}

/**
 * Whether `url` answers as up (`probe`). Through node:http(s), not global fetch: Node's bundled
 * fetch would be a second HTTP stack loaded at start for this alone (~30 ms, ~5 MiB more;
 * src/README.md D45).
 */
export async function reachable(url: string): Promise<boolean> {
  const { up, response } = await probe(url);
  response.resume();
  return up;
}
