/**
 * `serve`: the composition root of Deputy over Streamable HTTP. Reads nothing from the
 * environment itself (main.ts passes a Config), builds every part once, checks credentials
 * before listening, and returns a handle that stops everything cleanly. What it shares with
 * `stdio` (src/serveStdio.ts) is in src/serveCommon.ts; only this module loads the HTTP side
 * (src/README.md D45).
 */
import type { RequestListener, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { BackendLimits } from './backend/index.ts';
import { LOOPBACK_HOSTS, type Config } from './config.ts';
import { createApp, listenerOptions, type McpSurfaceOptions } from './http/app.ts';
import { cachedReadiness } from './http/readiness.ts';
import { createMetrics, type DeputyMetrics } from './http/metrics.ts';
import { createCallerVerifier, probeKeySet, type KeySetCache } from './http/callerAuth.ts';
import { callerFromAuthInfo } from './http/bearerAuth.ts';
import { SessionRegistry } from './http/sessions.ts';
import type { ApprovalRoundsConfig } from './server/mcpServerFactory.ts';
import { createRequestStateSeal, createSealer, randomStateKey } from './server/requestState.ts';
import type { ApprovalPageOptions, PageSession } from './http/approvalPage.ts';
import { createSignIn, type LoginTransaction } from './http/approvalSignIn.ts';
import {
  StartupError,
  auditFor,
  backendFor,
  checkedTokenProviders,
  createLogger,
  identityFor,
  mcpServerFor,
  reachable,
  surfacePlans,
  toolServiceFor,
  type ServeDependencies,
} from './serveCommon.ts';
import { memoryState, type SharedState } from './state/sharedState.ts';
import { createOutOfBandApprovals } from './tools/outOfBand.ts';
import type { AuditLog } from './tools/audit.ts';
import type { DeputyToolService } from './tools/toolService.ts';
import { FairShareGate } from './tools/fairShare.ts';
import { quotaKeyOf, UserQuotas } from './tools/userQuotas.ts';

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
function approvalPageFor(live: Config, auth: NonNullable<Config['auth']>, keyCache: KeySetCache, keys: readonly string[], audit: AuditLog, log: Logger, state: SharedState, now: () => number) {
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
    verify: createCallerVerifier({ issuer: auth.issuer, audience: `${live.publicUrl}/approvals`, jwksUrl: auth.jwksUrl, algorithms: auth.algorithms, tenantClaim: live.tenants?.claim ?? null, keyCache }),
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

/** How stale a `/readyz` answer may be: probes every few seconds cost one outbound check, not one each. */
const READINESS_MAX_AGE_MS = 5_000;
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
  // Each surface with its own credentials, checked apart: a read-only one refuses any that could write (D42).
  const { root: provider, providers } = await checkedTokenProviders(config, deps, plans, log);
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
  // Bounds on receiving a request, never on answering it, and keep-alive (src/README.md D48).
  // As CommonJS: an ES import of node:http loads Node's bundled undici on Node ≥ 22 (src/backend/nodeHttp.ts).
  const server: HttpServer = process.getBuiltinModule('node:http').createServer(listenerOptions(config.bodyTimeoutMs), (req, res) => handle(req, res));
  // The app answers `Expect: 100-continue` itself, once it knows it will read the body (app.ts).
  server.on('checkContinue', (req, res) => handle(req, res));
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
  // Seeded by the start-up check of the authorization server; read by every verifier below.
  const keyCache: KeySetCache = {};

  const readiness = cachedReadiness(
    [
      { name: 'backend', check: () => reachable(live.backend.url) },
      { name: 'authorizationServer', check: () => probeKeySet(auth.jwksUrl, keyCache) },
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
  const page = approvalPageFor(live, auth, keyCache, stateKeys, audit, log, state, now);
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
      : createCallerVerifier({ issuer: auth.issuer, audience: url, jwksUrl: auth.jwksUrl, algorithms: auth.algorithms, tenantClaim: live.tenants?.claim ?? null, keyCache }),
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
    bodyTimeoutMs: live.bodyTimeoutMs,
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
