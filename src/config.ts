/**
 * Configuration, read once at the edge (main.ts) from the environment and parsed with zod into
 * a typed, frozen `Config`. Nothing below main.ts reads `process.env`.
 * Every variable, its default and its meaning is listed in src/README.md, "Configuration".
 */
import { z } from 'zod';
import { TENANT_NAME } from './tools/caller.ts';

const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  PORT: port.default(3000),
  DEPUTY_HOST: z.string().default('127.0.0.1'),
  /** Public base URL (scheme://host[:port]) clients use; the resource is `${publicUrl}/mcp`. */
  DEPUTY_PUBLIC_URL: z.url().optional(),
  DEPUTY_ALLOWED_ORIGINS: list.optional(),
  DEPUTY_ALLOWED_HOSTS: list.optional(),
  DEPUTY_MODE: z.enum(['stateful', 'stateless']).default('stateful'),
  DEPUTY_MAX_SESSIONS: positiveInt.default(1000),
  DEPUTY_SESSION_IDLE_SECONDS: positiveInt.default(900),
  DEPUTY_MAX_BODY_BYTES: positiveInt.default(262_144),
  /** How long a request's body may take to arrive after its head (src/README.md D48). */
  DEPUTY_BODY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  /** Keys sealing 2026-07-28 approval state; the first seals, all verify (rotation). Unset: a random per-process key. */
  DEPUTY_STATE_KEYS: list
    .pipe(z.array(z.string().min(32, 'each key needs at least 32 characters (256 bits)')).min(1))
    .optional(),
  DEPUTY_APPROVAL_TTL_SECONDS: z.coerce.number().int().min(30).max(3_600).default(600),
  /** The approval page's OAuth client id at the authorization server; unset: its Client ID Metadata Document URL. */
  DEPUTY_APPROVAL_CLIENT_ID: z.string().min(1).optional(),
  /** That client's secret, for an authorization server that requires one (client_secret_basic). */
  DEPUTY_APPROVAL_CLIENT_SECRET: z.string().min(1).optional(),
  /** Per-user quotas (src/README.md, "Quotas"). */
  DEPUTY_QUOTA_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  DEPUTY_QUOTA_CALLS: positiveInt.default(30),
  DEPUTY_QUOTA_READ_TOOL_CALLS: positiveInt.default(20),
  DEPUTY_QUOTA_WRITE_TOOL_CALLS: positiveInt.default(5),
  DEPUTY_QUOTA_IN_FLIGHT: positiveInt.default(4),
  /** Default: a tenth of DEPUTY_MAX_SESSIONS, at most 10 (see build()). */
  DEPUTY_QUOTA_SESSIONS: positiveInt.optional(),
  DEPUTY_QUOTA_KEY: z.enum(['subject', 'subject,client']).default('subject'),
  /** Shared state of all replicas (quotas, consumed approvals); unset: this process's memory. */
  DEPUTY_REDIS_URL: z.string().regex(/^rediss?:\/\/./, 'must start with redis:// or rediss://').optional(),
  /** Behind a load balancer: this replica's name, the prefix of its session ids (routing key). */
  DEPUTY_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, - and _ only, at most 32')
    .optional(),

  DEPUTY_AUTH_ISSUER: z.url().optional(),
  DEPUTY_AUTH_JWKS_URL: z.url().optional(),
  DEPUTY_AUTH_ALGORITHMS: list.default(['ES256', 'RS256']),
  /** The caller-token claim naming the tenant (src/README.md D41); unset: no tenants. */
  DEPUTY_TENANT_CLAIM: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$/, 'must be a claim name').optional(),
  DEPUTY_STDIO_TENANT: z.string().regex(TENANT_NAME, 'must be a tenant name: letters, digits and _.- (first a letter or digit), at most 64').optional(),
  DEPUTY_STDIO_SUBJECT: z.string().min(1).default('local-operator'),
  DEPUTY_STDIO_SCOPES: list.optional(),
  DEPUTY_STDIO_SURFACE: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a surface name from the manifest').optional(),

  DEPUTY_BACKEND_URL: z.url().optional(),
  DEPUTY_TOKEN_PROVIDER: z.enum(['static', 'client_credentials', 'token_exchange']).default('client_credentials'),
  /** The static token file; with an OAuth provider it serves API keys, basic pairs and the schemes it names. */
  DEPUTY_TOKEN_FILE: z.string().optional(),
  DEPUTY_OAUTH_TOKEN_URL: z.url().optional(),
  DEPUTY_OAUTH_CLIENT_ID: z.string().optional(),
  DEPUTY_OAUTH_CLIENT_SECRET: z.string().optional(),
  /** RFC 7662 endpoint: at start, opaque backend tokens are introspected for extra scopes. */
  DEPUTY_OAUTH_INTROSPECTION_URL: z.url().optional(),
  DEPUTY_BACKEND_TIMEOUT_MS: positiveInt.default(10_000),
  DEPUTY_BACKEND_MAX_RESPONSE_BYTES: positiveInt.default(1_048_576),
  DEPUTY_BACKEND_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  DEPUTY_BACKEND_MAX_RETRY_AFTER_SECONDS: z.coerce.number().int().min(0).default(2),
  /** The share of what the backend has left on a credential one caller may take; 1 = no fair-share gate. */
  DEPUTY_BACKEND_FAIR_SHARE: z.coerce.number().gt(0).max(1).default(0.5),

  /** `stderr`, `stdout`, or a file path (appended). */
  DEPUTY_AUDIT_LOG: z.string().default('stderr'),
  DEPUTY_AUDIT_REDACT_ARGS: list.default(['body']),
  /** `off` disables /metrics; otherwise it is open on a loopback bind and needs DEPUTY_METRICS_TOKEN elsewhere. */
  DEPUTY_METRICS: z.enum(['on', 'off']).default('on'),
  DEPUTY_METRICS_TOKEN: z.string().min(16).optional(),
  DEPUTY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  resource: string;
  allowedOrigins: string[];
  allowedHosts: string[];
  mode: 'stateful' | 'stateless';
  sessions: { max: number; idleTimeoutMs: number; replicaId: string | null };
  /** Per-user quotas; `sessions` is the open sessions one user may hold on one replica. */
  quotas: {
    windowSeconds: number;
    calls: number;
    readToolCalls: number;
    writeToolCalls: number;
    inFlight: number;
    sessions: number;
    key: 'subject' | 'subject,client';
  };
  /** Redis/Valkey URL of the state all replicas share; null = this process's memory. Holds a password: never logged. */
  redisUrl: string | null;
  maxBodyBytes: number;
  /** How long a request's body may take to arrive after its head: 408 beyond (src/README.md D48). */
  bodyTimeoutMs: number;
  /**
   * Approvals: sealing keys (null = a random per-process key), how long an approval stays valid,
   * and the approval page's OAuth client (null id = its Client ID Metadata Document URL).
   */
  approvals: { stateKeys: string[] | null; ttlMs: number; clientId: string | null; clientSecret: string | null };
  /** Caller authentication; null over stdio, where there is no bearer token. */
  auth: { issuer: string; jwksUrl: string; algorithms: string[] } | null;
  /**
   * Tenants (src/README.md D41): the caller-token claim naming the tenant; null = tenants off
   * (every caller's tenant is null).
   */
  tenants: { claim: string } | null;
  /**
   * Over stdio: who the local caller is, which scopes it has (default: every tool's), its tenant
   * (null = tenants off) and the surface it is served (null = the whole manifest).
   */
  stdio: { subject: string; scopes: string[] | null; tenant: string | null; surface: string | null };
  backend: {
    url: string;
    timeoutMs: number;
    maxResponseBytes: number;
    maxRetries: number;
    maxRetryAfterSeconds: number;
    /** The fair share of what is left on a credential, in (0, 1]; 1 = the gate is off. */
    fairShare: number;
  };
  tokens:
    | { provider: 'static'; file: string }
    | {
        provider: 'client_credentials' | 'token_exchange';
        tokenUrl: string;
        clientId: string;
        clientSecret: string;
        /** Static token file read alongside for what OAuth cannot mint (API keys, basic pairs); null = none. */
        file: string | null;
      };
  /** Where start-up checks backend tokens for over-privilege (RFC 7662), with Deputy's OAuth client. */
  introspection: { url: string; clientId: string; clientSecret: string } | null;
  audit: { destination: string; redactArguments: string[] };
  logLevel: string;
  /** `/metrics`: null when not served; `token` null = no scrape token (loopback only). */
  metrics: { token: string | null } | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The names of this machine's loopback interface: a bind to one of them is local-only. */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '::1'];
const LOOPBACK = new Set(LOOPBACK_HOSTS);
/** `host:port` / URL form of a loopback host (IPv6 in brackets). */
const hostPort = (host: string, port: number | string) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** What to do about a variable zod refused: the variable's own fix where there is one. */
const FIXES: Record<string, string> = {
  PORT: 'a port number 0-65535',
  DEPUTY_MODE: 'stateful or stateless',
  DEPUTY_TOKEN_PROVIDER: 'static, client_credentials or token_exchange',
  DEPUTY_METRICS: 'on or off',
  DEPUTY_STATE_KEYS: 'comma-separated random keys of 32+ characters, e.g. `openssl rand -hex 32`',
  DEPUTY_METRICS_TOKEN: 'a random token of 16+ characters',
  DEPUTY_BACKEND_FAIR_SHARE: 'a number above 0 and at most 1, e.g. 0.5 (1 turns the fair-share gate off)',
  DEPUTY_QUOTA_KEY: 'subject or subject,client',
  DEPUTY_TENANT_CLAIM: 'the claim of callers\' tokens that names their tenant, e.g. tenant or org_id',
  DEPUTY_STDIO_TENANT: 'the local operator\'s tenant, a name from the token file\'s `tenant:` entries',
  DEPUTY_QUOTA_SESSIONS: 'a number below DEPUTY_MAX_SESSIONS (default: a tenth of it, at most 10)',
  DEPUTY_REDIS_URL: 'redis://[user:password@]host:6379[/db], or rediss:// for TLS',
  DEPUTY_BODY_TIMEOUT_SECONDS: 'whole seconds from 1 to 3600, e.g. 30',
};

/** Variables that no longer exist, and what replaced them: set, they would silently do nothing. */
const REPLACED: Record<string, string> = {
  DEPUTY_SESSION_MAX_IN_FLIGHT: 'DEPUTY_QUOTA_IN_FLIGHT (per user, across sessions)',
  DEPUTY_SESSION_CALLS_PER_MINUTE: 'DEPUTY_QUOTA_CALLS per DEPUTY_QUOTA_WINDOW_SECONDS (per user, across sessions)',
};

const fixFor = (name: string) => FIXES[name] ?? (name.endsWith('_URL') || name === 'DEPUTY_AUTH_ISSUER' || name === 'DEPUTY_PUBLIC_URL' ? 'an absolute URL, e.g. https://host/path' : 'see "Configuration" in src/README.md');

/**
 * Every missing or invalid setting is reported in one error, one line each with its variable
 * and a fix, so an operator learns them all in one run.
 */
export function loadConfig(env: Record<string, string | undefined>, transport: 'http' | 'stdio' = 'http'): Config {
  const problems: string[] = [];
  const refused = new Set<string>();
  const invalid = (name: string, message: string) => {
    refused.add(name);
    problems.push(`  ${name}: ${message} — set it to ${fixFor(name)}`);
  };
  // A variable set to an invalid value (say, empty) is reported once, as invalid.
  const missing = (name: string, fix: string) => refused.has(name) || problems.push(`  ${name} is not set — ${fix}`);

  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) invalid(String(issue.path[0] ?? '(environment)'), issue.message);
  }
  // Requirements between variables are checked on the raw environment, so both kinds arrive together.
  const raw = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  for (const [name, replacement] of Object.entries(REPLACED)) if (raw(name)) problems.push(`  ${name} is no longer read — use ${replacement}`);
  if (parsed.success && parsed.data.DEPUTY_QUOTA_SESSIONS !== undefined && parsed.data.DEPUTY_QUOTA_SESSIONS >= parsed.data.DEPUTY_MAX_SESSIONS) {
    // One user could then take every session slot and lock everyone else out.
    invalid('DEPUTY_QUOTA_SESSIONS', `${parsed.data.DEPUTY_QUOTA_SESSIONS} is not below DEPUTY_MAX_SESSIONS (${parsed.data.DEPUTY_MAX_SESSIONS})`);
  }
  if (!raw('DEPUTY_AUTH_ISSUER') && transport === 'http') missing('DEPUTY_AUTH_ISSUER', 'the authorization server that issues callers\' tokens, e.g. https://auth.example.com');
  if (!raw('DEPUTY_BACKEND_URL')) missing('DEPUTY_BACKEND_URL', 'the admin backend\'s base URL, e.g. https://admin.example.com/api');
  const provider = raw('DEPUTY_TOKEN_PROVIDER') ?? 'client_credentials';
  if (provider === 'static') {
    if (!raw('DEPUTY_TOKEN_FILE')) missing('DEPUTY_TOKEN_FILE', 'the static token file (DEPUTY_TOKEN_PROVIDER=static)');
  } else if (provider === 'client_credentials' || provider === 'token_exchange') {
    if (!raw('DEPUTY_OAUTH_CLIENT_ID')) missing('DEPUTY_OAUTH_CLIENT_ID', `Deputy's OAuth client id (DEPUTY_TOKEN_PROVIDER=${provider}), or use DEPUTY_TOKEN_PROVIDER=static with DEPUTY_TOKEN_FILE`);
    if (!raw('DEPUTY_OAUTH_CLIENT_SECRET')) missing('DEPUTY_OAUTH_CLIENT_SECRET', `Deputy's OAuth client secret (DEPUTY_TOKEN_PROVIDER=${provider})`);
    // Over HTTP a missing issuer is already reported, and setting it supplies the token URL too.
    if (!raw('DEPUTY_OAUTH_TOKEN_URL') && !raw('DEPUTY_AUTH_ISSUER') && transport === 'stdio') missing('DEPUTY_OAUTH_TOKEN_URL', 'the token endpoint Deputy obtains backend tokens from (or set DEPUTY_AUTH_ISSUER to use its /oauth/token)');
  }
  if (raw('DEPUTY_TENANT_CLAIM') && provider === 'client_credentials') {
    // One service identity for every tenant: a token it mints would serve any tenant's caller (D41).
    problems.push('  DEPUTY_TENANT_CLAIM is set, but DEPUTY_TOKEN_PROVIDER=client_credentials holds one identity for every tenant — use static (a token file with `tenant:` on each entry) or token_exchange');
  }
  if (transport === 'stdio' && Boolean(raw('DEPUTY_TENANT_CLAIM')) !== Boolean(raw('DEPUTY_STDIO_TENANT'))) {
    problems.push(raw('DEPUTY_TENANT_CLAIM')
      ? '  DEPUTY_STDIO_TENANT is not set — with tenants on (DEPUTY_TENANT_CLAIM), name the local operator\'s tenant'
      : '  DEPUTY_STDIO_TENANT is set without DEPUTY_TENANT_CLAIM — set both (tenants on) or neither');
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(`${problems.length} configuration problem${problems.length === 1 ? '' : 's'} (every variable is listed under "Configuration" in src/README.md):\n${problems.join('\n')}`);
  }
  return build(parsed.data);
}

function build(e: z.infer<typeof EnvSchema>): Config {
  const displayHost = e.DEPUTY_HOST === '0.0.0.0' || e.DEPUTY_HOST === '::' ? '127.0.0.1' : e.DEPUTY_HOST;
  const publicUrl = (e.DEPUTY_PUBLIC_URL ?? `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${e.PORT}`).replace(/\/$/, '');
  const publicOrigin = new URL(publicUrl).origin;
  const loopbackOrigins = LOOPBACK.has(e.DEPUTY_HOST)
    ? LOOPBACK_HOSTS.map((h) => `http://${hostPort(h, e.PORT)}`)
    : [];
  const loopbackHosts = LOOPBACK.has(e.DEPUTY_HOST) ? LOOPBACK_HOSTS.map((h) => hostPort(h, e.PORT)) : [];
  const issuer = e.DEPUTY_AUTH_ISSUER?.replace(/\/$/, '');
  // loadConfig has checked every requirement below; these only narrow the types.
  const need = <T>(value: T | undefined): T => value as T;

  let tokens: Config['tokens'];
  if (e.DEPUTY_TOKEN_PROVIDER === 'static') {
    tokens = { provider: 'static', file: need(e.DEPUTY_TOKEN_FILE) };
  } else {
    tokens = {
      provider: e.DEPUTY_TOKEN_PROVIDER,
      tokenUrl: e.DEPUTY_OAUTH_TOKEN_URL ?? (issuer ? `${issuer}/oauth/token` : ''),
      clientId: need(e.DEPUTY_OAUTH_CLIENT_ID),
      clientSecret: need(e.DEPUTY_OAUTH_CLIENT_SECRET),
      file: e.DEPUTY_TOKEN_FILE ?? null,
    };
  }

  return Object.freeze({
    host: e.DEPUTY_HOST,
    port: e.PORT,
    publicUrl,
    resource: `${publicUrl}/mcp`,
    allowedOrigins: e.DEPUTY_ALLOWED_ORIGINS ?? [...new Set([publicOrigin, ...loopbackOrigins])],
    allowedHosts: e.DEPUTY_ALLOWED_HOSTS ?? (LOOPBACK.has(e.DEPUTY_HOST) ? [...new Set([new URL(publicUrl).host, ...loopbackHosts])] : []),
    mode: e.DEPUTY_MODE,
    sessions: {
      max: e.DEPUTY_MAX_SESSIONS,
      idleTimeoutMs: e.DEPUTY_SESSION_IDLE_SECONDS * 1000,
      replicaId: e.DEPUTY_REPLICA_ID ?? null,
    },
    quotas: {
      windowSeconds: e.DEPUTY_QUOTA_WINDOW_SECONDS,
      calls: e.DEPUTY_QUOTA_CALLS,
      readToolCalls: e.DEPUTY_QUOTA_READ_TOOL_CALLS,
      writeToolCalls: e.DEPUTY_QUOTA_WRITE_TOOL_CALLS,
      inFlight: e.DEPUTY_QUOTA_IN_FLIGHT,
      // Well below the global cap, so one user at their quota leaves room for everyone else.
      sessions: e.DEPUTY_QUOTA_SESSIONS ?? Math.min(10, Math.max(1, Math.floor(e.DEPUTY_MAX_SESSIONS / 10))),
      key: e.DEPUTY_QUOTA_KEY,
    },
    redisUrl: e.DEPUTY_REDIS_URL ?? null,
    maxBodyBytes: e.DEPUTY_MAX_BODY_BYTES,
    bodyTimeoutMs: e.DEPUTY_BODY_TIMEOUT_SECONDS * 1000,
    approvals: {
      stateKeys: e.DEPUTY_STATE_KEYS ?? null,
      ttlMs: e.DEPUTY_APPROVAL_TTL_SECONDS * 1000,
      clientId: e.DEPUTY_APPROVAL_CLIENT_ID ?? null,
      clientSecret: e.DEPUTY_APPROVAL_CLIENT_SECRET ?? null,
    },
    auth: issuer
      ? { issuer, jwksUrl: e.DEPUTY_AUTH_JWKS_URL ?? `${issuer}/.well-known/jwks.json`, algorithms: e.DEPUTY_AUTH_ALGORITHMS }
      : null,
    tenants: e.DEPUTY_TENANT_CLAIM ? { claim: e.DEPUTY_TENANT_CLAIM } : null,
    stdio: {
      subject: e.DEPUTY_STDIO_SUBJECT,
      scopes: e.DEPUTY_STDIO_SCOPES ?? null,
      tenant: e.DEPUTY_TENANT_CLAIM ? (e.DEPUTY_STDIO_TENANT ?? null) : null,
      surface: e.DEPUTY_STDIO_SURFACE ?? null,
    },
    backend: {
      url: need(e.DEPUTY_BACKEND_URL).replace(/\/$/, ''),
      timeoutMs: e.DEPUTY_BACKEND_TIMEOUT_MS,
      maxResponseBytes: e.DEPUTY_BACKEND_MAX_RESPONSE_BYTES,
      maxRetries: e.DEPUTY_BACKEND_MAX_RETRIES,
      maxRetryAfterSeconds: e.DEPUTY_BACKEND_MAX_RETRY_AFTER_SECONDS,
      fairShare: e.DEPUTY_BACKEND_FAIR_SHARE,
    },
    tokens,
    introspection:
      e.DEPUTY_OAUTH_INTROSPECTION_URL && e.DEPUTY_OAUTH_CLIENT_ID && e.DEPUTY_OAUTH_CLIENT_SECRET
        ? { url: e.DEPUTY_OAUTH_INTROSPECTION_URL, clientId: e.DEPUTY_OAUTH_CLIENT_ID, clientSecret: e.DEPUTY_OAUTH_CLIENT_SECRET }
        : null,
    audit: { destination: e.DEPUTY_AUDIT_LOG, redactArguments: e.DEPUTY_AUDIT_REDACT_ARGS },
    logLevel: e.DEPUTY_LOG_LEVEL,
    metrics:
      e.DEPUTY_METRICS === 'off' ? null
      : e.DEPUTY_METRICS_TOKEN ? { token: e.DEPUTY_METRICS_TOKEN }
      : LOOPBACK.has(e.DEPUTY_HOST) ? { token: null }
      : null,
  });
}
