/**
 * `serve` and `stdio`: the composition root of a running Deputy. Reads nothing from the
 * environment itself (main.ts passes a Config), builds every part once, checks credentials
 * before listening, and returns a handle that stops everything cleanly.
 */
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { serveStdio as serveMcpStdio } from '@modelcontextprotocol/server/stdio';
import {
  BackendLimits,
  ClientCredentialsProvider,
  CredentialRouter,
  StaticTokenProvider,
  TokenExchangeProvider,
  createBackendClient,
  describeKind,
  findOverPrivilegedTokens,
  isBackendError,
  type BackendClient,
  type CredentialNeed,
  type OperationBinding,
  type TokenProvider,
} from './backend/index.ts';
import { LOOPBACK_HOSTS, type Config } from './config.ts';
import { profile as generatedProfile, type ServerProfile, type SurfaceDefinition, type ToolDefinition } from './generated/tools.ts';
import { createApp, type McpSurfaceOptions } from './http/app.ts';
import { cachedReadiness } from './http/readiness.ts';
import { createMetrics, type DeputyMetrics } from './http/metrics.ts';
import { createCallerVerifier } from './http/callerAuth.ts';
import { callerFromAuthInfo } from './http/bearerAuth.ts';
import { SessionRegistry } from './http/sessions.ts';
import { createMcpServer, type ApprovalRoundsConfig, type CallerSource, type ProtocolEra } from './server/mcpServerFactory.ts';
import { createRequestStateSeal, createSealer, randomStateKey } from './server/requestState.ts';
import type { ApprovalPageOptions, PageSession } from './http/approvalPage.ts';
import { createSignIn, type LoginTransaction } from './http/approvalSignIn.ts';
import { memoryState, type SharedState } from './state/sharedState.ts';
import { createOutOfBandApprovals, type OutOfBandApprovals } from './tools/outOfBand.ts';
import { createAuditLog, type AuditLog } from './tools/audit.ts';
import type { Caller } from './tools/caller.ts';
import { FairShareGate } from './tools/fairShare.ts';
import { buildCatalog } from './tools/toolCatalog.ts';
import { createToolService, type DeputyToolService } from './tools/toolService.ts';
import { quotaKeyOf, UserQuotas } from './tools/userQuotas.ts';

export const SERVER_IDENTITY = { name: 'deputy', version: '0.1.0' };

/** The identity a server announces: its instructions come from the manifest's server profile. */
const identityFor = (deps: ServeDependencies) => ({ ...SERVER_IDENTITY, instructions: (deps.profile ?? generatedProfile).instructions });

/** How long a 2026-07-28 client may reuse a `tools/list` answer: the list changes only with a new build or token. */
const TOOLS_LIST_TTL_MS = 60_000;

/** The keys that seal approval state and the approval page's cookies. */
function stateKeysFor(config: Config, log: Logger): string[] {
  const keys = config.approvals.stateKeys;
  if (!keys) log.warn('DEPUTY_STATE_KEYS is not set: approvals and approval-page sign-ins use a random per-process key, so replicas cannot resume each other\'s approvals');
  return keys ?? [randomStateKey()];
}

function approvalRoundsFor(config: Config, keys: readonly string[], state: SharedState, metrics: DeputyMetrics): ApprovalRoundsConfig {
  return {
    seal: createRequestStateSeal(keys, config.approvals.ttlMs, (reason) => metrics.rejectedApprovalState(reason)),
    consumed: state.approvals,
  };
}

/** How long a sign-in on the approval page lasts, and how long its round trip to the authorization server may take. */
const PAGE_SESSION_MS = 30 * 60_000;
const PAGE_LOGIN_MS = 10 * 60_000;

/** The approval page: pending approvals (in the shared state; src/README.md, "Approval out of band"), its sign-in and what its routes are built from. */
function approvalPageFor(live: Config, auth: NonNullable<Config['auth']>, keys: readonly string[], audit: AuditLog, log: Logger, state: SharedState, now: () => number) {
  const outOfBand = createOutOfBandApprovals({
    store: state.pendingApprovals,
    pageUrl: (id) => `${live.publicUrl}/approvals/${id}`,
    ttlMs: live.approvals.ttlMs,
    record: (event) => audit.approval?.(event),
    now,
  });
  const signIn = createSignIn({
    issuer: auth.issuer,
    publicUrl: live.publicUrl,
    clientId: live.approvals.clientId,
    clientSecret: live.approvals.clientSecret,
    verify: createCallerVerifier({ issuer: auth.issuer, audience: `${live.publicUrl}/approvals`, jwksUrl: auth.jwksUrl, algorithms: auth.algorithms, tenantClaim: live.tenants?.claim ?? null }),
  });
  // Its routes are built with the rest of Express, on the first request for them (src/http/app.ts).
  const options: ApprovalPageOptions = {
    outOfBand,
    signIn,
    sessions: createSealer<PageSession>(keys, PAGE_SESSION_MS),
    logins: createSealer<LoginTransaction>(keys, PAGE_LOGIN_MS),
    secure: new URL(live.publicUrl).protocol === 'https:',
    onError: (error) => log.warn({ err: error instanceof Error ? error.name : 'unknown' }, 'approval page request failed'),
    now,
  };
  return { outOfBand, options };
}

function mcpServerFor(identity: ReturnType<typeof identityFor>, tools: DeputyToolService, callerOf: CallerSource, approvals: ApprovalRoundsConfig, outOfBand: OutOfBandApprovals | null, log: Logger, legacyElicitation: boolean) {
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

/** One served endpoint: the single `/mcp` (name null), or a manifest surface. */
export interface ServedSurface {
  name: string | null;
  /** Its resource URL: the endpoint clients use and the audience their tokens carry. */
  url: string;
  readOnly: boolean;
  tools: DeputyToolService;
}

export interface Deputy {
  /** The MCP endpoint URL clients use: the single `/mcp`, or the first surface's (by name). */
  url: string;
  port: number;
  /** The first surface's tool service (the single `/mcp`'s without surfaces). */
  tools: DeputyToolService;
  /** Every endpoint served, sorted by name. */
  surfaces: ServedSurface[];
  sessions: SessionRegistry;
  close(): Promise<void>;
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
interface SurfacePlan {
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
export function providerForSurface(provider: TokenProvider, surface: string | null): TokenProvider {
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

const needName = (n: CredentialNeed) => `${n.operationId} (scheme ${n.scheme}: ${describeKind(n.kind)}${n.scopes.length > 0 ? ` with ${n.scopes.join(' ')}` : ''})`;

/** The surface a credential check is for (src/README.md D42). */
export interface CredentialCheckSurface {
  name: string;
  readOnly: boolean;
  /** Every scope a write or destructive tool's operation of the manifest needs: named as such in a refusal. */
  writeScopes: ReadonlySet<string>;
}

/** Every scope the manifest's write and destructive tools' own operations need. */
export function writeScopesOf(tools: readonly ToolDefinition[]): Set<string> {
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

function auditFor(config: Config, log: Logger): AuditLog {
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
function toolServiceFor(
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

function backendFor(config: Config, provider: TokenProvider, limits?: BackendLimits): BackendClient {
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

/** How stale a `/readyz` answer may be: probes every few seconds cost one outbound check, not one each. */
const READINESS_MAX_AGE_MS = 5_000;

/** Any HTTP answer means the server is up (a backend's root is often 404 or 501), except a gateway or overload status. */
async function reachable(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  return ![502, 503, 504].includes(response.status);
}

/**
 * The record of the backend's rate limit per credential, which the fair-share gate reads
 * (src/README.md, "Backend rate limits"), or undefined with token exchange: then every user calls
 * with a token of their own, so the backend already counts each user apart and there is no
 * shared limit to divide (nor one record per credential that would be true for every user).
 */
function backendLimitsFor(config: Config): BackendLimits | undefined {
  return config.tokens.provider === 'token_exchange' ? undefined : new BackendLimits();
}

export async function serveHttp(config: Config, deps: ServeDependencies): Promise<Deputy> {
  if (!config.auth) throw new StartupError('DEPUTY_AUTH_ISSUER is required to serve over HTTP');
  const testCaller = deps.testOnlyUnauthenticatedCaller;
  if (testCaller && !LOOPBACK_HOSTS.includes(config.host)) {
    throw new StartupError('the unauthenticated test profile binds to loopback only');
  }
  const log = deps.log ?? createLogger(config.logLevel);
  const plans = surfacePlans(deps);
  const provider = createTokenProvider(config);
  checkTokenFileSurfaces(provider, plans, config);
  const writeScopes = writeScopesOf(deps.tools);
  // Each surface with its own credentials, checked apart: a read-only one refuses any that could write (D42).
  const providers = plans.map((plan) => providerForSurface(provider, plan.name));
  for (const [i, plan] of plans.entries()) {
    await checkCredentials(config, providers[i]!, plan.tools, log, plan.name === null ? undefined : { name: plan.name, readOnly: plan.readOnly, writeScopes });
  }
  // One record of the backend's limits: surfaces' credentials with the same scheme and scopes are
  // counted as one, the cautious reading when they are in fact two.
  const limits = backendLimitsFor(config);
  const backends = providers.map((p) => backendFor(config, p, limits));
  // Sessions and the shared state are created below; the gauges read them only when scraped.
  const metrics = createMetrics({ openSessions: () => sessions.size, sharedStateUp: () => state.up(), ...(limits ? { backendRemaining: () => limits.lastRemaining() } : {}) });
  const now = deps.now ?? Date.now;
  // ioredis and the Redis limiters are loaded only when asked for (src/state/sharedState.ts).
  const state = config.redisUrl ? (await import('./state/redisState.ts')).redisState(config.redisUrl, { log, onError: () => metrics.sharedStateError(), now }) : memoryState(now);
  // Observed once, so the tool calls and the approval page count into the same metrics; not at
  // all when /metrics is not served (nothing would read the counts, and prom-client stays unloaded).
  const audit = config.metrics ? metrics.observe(deps.audit ?? auditFor(config, log)) : (deps.audit ?? auditFor(config, log));
  // Counted where the quotas are, so replicas sharing a store share each caller's count.
  const fairShare = limits && new FairShareGate({ limits, limiters: state.limiters, share: config.backend.fairShare });
  // One user, one budget: every surface counts into the same quotas (src/README.md D42).
  const userQuotas = new UserQuotas(config.quotas, state.limiters, deps.tools);
  const services = plans.map((plan, i) => toolServiceFor(config, deps, backends[i]!, log, audit, state, { fairShare, userQuotas, surface: plan }));
  const sessions = new SessionRegistry({
    maxSessions: config.sessions.max,
    maxPerUser: config.quotas.sessions,
    idleTimeoutMs: config.sessions.idleTimeoutMs,
    ...(config.sessions.replicaId ? { replicaId: config.sessions.replicaId } : {}),
  });

  // Listen first: with PORT=0 the resource URL (the audience callers' tokens must carry) is
  // known only once the port is.
  // A request can arrive between listen and the app being ready (a client retrying while Deputy
  // starts, a health probe): it waits for the app instead of reaching a server with no 'request'
  // listener, where it would hang until the client gives up. Once ready, requests go straight to
  // the app (`handle` is replaced), at no cost per request.
  let appIsReady!: (listener: RequestListener) => void;
  const appReady = new Promise<RequestListener>((resolve) => (appIsReady = resolve));
  let handle: RequestListener = (req, res) => void appReady.then((listener) => listener(req, res));
  const server: HttpServer = createHttpServer((req, res) => handle(req, res));
  server.keepAliveTimeout = 65_000; // longer than common load-balancer idle timeouts (60 s)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, config)));
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (error: unknown) => {
    // A Redis client left reconnecting would keep the failed process alive.
    await state.close();
    await Promise.all(backends.map((b) => b.close()));
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  const live = withActualPort(config, port);
  const auth = config.auth;

  const readiness = cachedReadiness(
    [
      { name: 'backend', check: () => reachable(live.backend.url) },
      { name: 'authorizationServer', check: () => reachable(auth.jwksUrl) },
      ...(state.kind === 'redis'
        ? [{ name: 'sharedState', check: () => state.check(), degradedReason: 'Redis does not answer: reads go on with per-replica limits; writes and approvals are refused until it is back' }]
        : []),
    ],
    READINESS_MAX_AGE_MS,
  );
  // A static token file lets Deputy start without reaching anything: say so loudly, not on the first call.
  const ready = await readiness.current();
  if (!ready.backend) log.warn({ url: live.backend.url }, 'BACKEND UNREACHABLE at start-up: tool calls will fail until it answers; check DEPUTY_BACKEND_URL (/readyz reports not_ready)');
  if (ready.sharedState === false) log.warn('SHARED STATE (Redis) UNREACHABLE at start-up: reads go on with per-replica limits, writes are refused until it answers; check DEPUTY_REDIS_URL (/readyz reports degraded)');
  if (!ready.authorizationServer) log.warn({ url: auth.jwksUrl }, 'AUTHORIZATION SERVER UNREACHABLE at start-up: no caller can be verified until it answers; check DEPUTY_AUTH_ISSUER / DEPUTY_AUTH_JWKS_URL (/readyz reports not_ready)');

  const stateKeys = stateKeysFor(config, log);
  const page = approvalPageFor(live, auth, stateKeys, audit, log, state, now);
  const approvalRounds = approvalRoundsFor(config, stateKeys, state, metrics);
  const served: ServedSurface[] = plans.map((plan, i) => ({
    name: plan.name,
    // The single /mcp keeps DEPUTY_PUBLIC_URL's resource exactly; a surface's is the public URL and its path.
    url: plan.name === null ? live.resource : `${live.publicUrl}${plan.path}`,
    readOnly: plan.readOnly,
    tools: services[i]!,
  }));
  const endpoints: McpSurfaceOptions[] = served.map(({ name, url, tools }, i) => ({
    name,
    title: plans[i]!.title,
    resource: url,
    scopes: tools.allScopes(),
    // Audience = this surface's resource URL: a token for another surface is refused here (401 invalid_token).
    verifyCaller: testCaller
      ? async () => ({ ok: true, caller: testCaller })
      : createCallerVerifier({ issuer: auth.issuer, audience: url, jwksUrl: auth.jwksUrl, algorithms: auth.algorithms, tenantClaim: live.tenants?.claim ?? null }),
    newServer: mcpServerFor(identityFor(deps), tools, callerFromAuthInfo, approvalRounds, page.outOfBand, log, live.mode === 'stateful'),
    onDenied: (tool, caller, sessionId) => tools.recordRefusal(tool, caller, sessionId, 'denied'),
    toolScopes: (name) => tools.toolScopes(name),
  }));
  const app = createApp({
    surfaces: endpoints,
    authorizationServer: auth.issuer,
    origin: { allowedOrigins: live.allowedOrigins, allowedHosts: live.allowedHosts },
    mode: live.mode,
    sessions,
    maxBodyBytes: live.maxBodyBytes,
    userOf: (caller) => quotaKeyOf(caller, config.quotas.key),
    readiness,
    approvalPage: page.options,
    metrics: live.metrics ? { registry: metrics.registry, token: live.metrics.token } : null,
  });
  if (!live.metrics) log.info('/metrics is not served (DEPUTY_METRICS=off, or a non-loopback bind without DEPUTY_METRICS_TOKEN)');
  if (testCaller) {
    // Auth off (test profile): a placeholder credential lets the bearer middleware run; the
    // verifier above accepts it as the fixed test caller.
    handle = (req, res) => {
      req.headers.authorization ??= 'Bearer unauthenticated-test-profile';
      app(req, res);
    };
    log.warn({ subject: testCaller.subject }, 'CALLER AUTHENTICATION IS OFF (test profile): every request acts as the test caller');
  } else {
    handle = app;
  }
  appIsReady(handle);
  const url = served[0]!.url;
  for (const [i, surface] of served.entries()) {
    const where = surface.name === null ? {} : { surface: surface.name, title: plans[i]!.title, readOnly: surface.readOnly };
    log.info({ url: surface.url, ...where, mode: live.mode, tools: plans[i]!.tools.length, tokens: providers[i]!.describe(), sharedState: state.kind }, 'deputy listening');
  }

  return {
    url,
    port,
    tools: served[0]!.tools,
    surfaces: served,
    sessions,
    async close() {
      await sessions.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(backends.map((b) => b.close()));
      await provider.close?.();
      await state.close();
      await audit.flush();
    },
  };
}

/** A bind failure names the variables that choose the address, so the operator knows what to change. */
function listenError(error: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.host}:${config.port}`;
  if (error.code === 'EADDRINUSE') return new StartupError(`${where} is already in use — set PORT to a free port (or stop the process holding it)`);
  if (error.code === 'EACCES') return new StartupError(`not allowed to listen on ${where} — set PORT to 1024 or above`);
  if (error.code === 'EADDRNOTAVAIL') return new StartupError(`${config.host} is not an address of this machine — set DEPUTY_HOST to one (127.0.0.1, or 0.0.0.0 for all)`);
  return error;
}

/** With PORT=0, every URL derived from the configured port gets the real one. */
function withActualPort(config: Config, port: number): Config {
  if (config.port !== 0) return config;
  const fix = (value: string) => value.replace(/:0(?=\/|$)/, `:${port}`);
  return {
    ...config,
    port,
    publicUrl: fix(config.publicUrl),
    resource: fix(config.resource),
    allowedOrigins: config.allowedOrigins.map(fix),
    allowedHosts: config.allowedHosts.map(fix),
  };
}

/**
 * The one surface stdio serves: the one DEPUTY_STDIO_SURFACE names (its tools, credentials and
 * read-only check), or, unset, the whole manifest with the token file's entries that name no surface.
 */
function stdioPlan(config: Config, deps: ServeDependencies): SurfacePlan {
  const name = config.stdio.surface;
  const all: SurfacePlan = { name: null, title: null, path: '/mcp', readOnly: false, tools: [...deps.tools] };
  if (name === null) return all;
  const plan = surfacePlans(deps).find((p) => p.name === name);
  if (!plan) {
    const declared = (deps.surfaces ?? []).map((s) => s.name);
    throw new StartupError(`DEPUTY_STDIO_SURFACE names surface '${name}', but ${declared.length > 0 ? `the manifest declares ${declared.join(', ')}` : 'the manifest declares no surfaces'}; set it to one of them or unset it`);
  }
  return plan;
}

/**
 * Local use over stdio: one client, no bearer token. The caller is the operator who started
 * the process, with the scopes given (DEPUTY_STDIO_SCOPES; default: every tool's scopes).
 * Token exchange needs a caller token and is unavailable here.
 */
export async function serveStdio(config: Config, deps: ServeDependencies): Promise<{ close(): Promise<void> }> {
  const log = deps.log ?? createLogger(config.logLevel);
  if (config.tokens.provider === 'token_exchange') throw new StartupError('token_exchange needs a caller token; use static or client_credentials over stdio');
  const plan = stdioPlan(config, deps);
  const root = createTokenProvider(config);
  checkTokenFileSurfaces(root, surfacePlans(deps), config);
  const provider = providerForSurface(root, plan.name);
  await checkCredentials(config, provider, plan.tools, log, plan.name === null ? undefined : { name: plan.name, readOnly: plan.readOnly, writeScopes: writeScopesOf(deps.tools) });
  if (!(await reachable(config.backend.url).catch(() => false))) {
    log.warn({ url: config.backend.url }, 'BACKEND UNREACHABLE at start-up: tool calls will fail until it answers; check DEPUTY_BACKEND_URL');
  }
  const backend = backendFor(config, provider);
  // One local user, one process: its quotas and approvals need no shared store.
  const state = memoryState();
  const audit = deps.audit ?? auditFor(config, log);
  const tools = toolServiceFor(config, deps, backend, log, audit, state, { surface: plan });
  const caller: Caller = {
    subject: config.stdio.subject,
    clientId: 'stdio',
    scopes: config.stdio.scopes ?? [...new Set(plan.tools.flatMap((tool) => tool.callerScopes))],
    tenant: config.stdio.tenant,
    expiresAt: Number.MAX_SAFE_INTEGER,
  };
  // One connection, so one process serves every round of an approval: a random key is enough.
  const approvals = { seal: createRequestStateSeal(config.approvals.stateKeys ?? [randomStateKey()], config.approvals.ttlMs), consumed: state.approvals };
  // No approval page over stdio: approvals are by form only.
  const newServer = mcpServerFor(identityFor(deps), tools, () => ({ caller, token: null }), approvals, null, log, true);
  const handle = serveMcpStdio((ctx) => newServer(ctx.era));
  return {
    async close() {
      await handle.close();
      await backend.close();
      await root.close?.();
      await audit.flush();
    },
  };
}
