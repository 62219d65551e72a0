/**
 * Static token file provider: fine-grained credentials the backend team issued by hand, one per
 * scope set, per operation or per security scheme. Format (YAML, documented in src/README.md,
 * "Token providers"):
 *
 *   tokens:
 *     - id: drafts-read            # non-secret name for logs
 *       scopes: [drafts:read]      # serves every operation needing exactly these scopes
 *       token: <the key>           # or tokenEnv: NAME_OF_ENV_VAR
 *     - id: publish-key
 *       operations: [publishDraft] # serves these operations, whatever their scopes
 *       tokenEnv: BACKEND_PUBLISH_KEY
 *     - id: api-key
 *       scheme: apiKeyAuth         # serves this security scheme (or manifest credential)
 *       tokenEnv: BACKEND_API_KEY  # an API key is a token too
 *     - id: support-drafts-read
 *       scopes: [drafts:read]
 *       surfaces: [support]        # only these manifest surfaces use it (absent: every surface)
 *       tokenEnv: BACKEND_SUPPORT_DRAFTS_READ
 *     - id: basic
 *       scheme: basicAuth
 *       username: deputy           # or usernameEnv
 *       passwordEnv: BACKEND_PASSWORD # or password
 *
 * With tenants on (DEPUTY_TENANT_CLAIM, src/README.md D41) every entry names its `tenant:`, and a
 * call is served only by entries of its caller's tenant, by the same rules as below.
 *
 * An entry without `scheme:` serves bearer-kind schemes only (http bearer, oauth2,
 * openIdConnect): that is what every entry served before schemes were read, and it keeps a
 * token from being sent as an API key or basic pair by accident.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { backendError } from './backendError.ts';
import type { CredentialKind } from './operation.ts';
import {
  RedactedSecretHolder,
  describeKind,
  kindOf,
  scopeKey,
  type CredentialNeed,
  type TokenProvider,
  type TokenRequest,
  TENANT_NAME,
} from './tokenProvider.ts';

// js-yaml, not the `yaml` package the code generator uses: a token file needs a plain parse, no
// comments or source positions, and `yaml` costs a start ~85 ms of CPU and ~8 MiB to load, js-yaml
// ~23 ms and ~2 MiB (src/README.md D50). Its core schema reads values as `yaml` did (no
// timestamps, `yes` stays a string). Required on first use: only a static token file needs it.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml')).load(text);

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
/** operationIds are free text in OpenAPI (`repos/delete-deploy-key`, `get /things#v2`): anything printable. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const OPERATION_ID = /^[^\u0000-\u001f\u007f]{1,200}$/;
/** components.securitySchemes keys (OpenAPI 3.1 §4.8.7.1), also used for manifest credential names. */
const SCHEME = /^[A-Za-z0-9._-]{1,100}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/; // RFC 6749 §3.3 scope-token
const TOKEN = /^[\x21-\x7e]{8,4096}$/; // visible ASCII, no spaces: what fits a Bearer header (RFC 6750 §2.1)
/** RFC 7617 §2: the user-id cannot contain a colon; neither part may hold control characters. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const USERNAME = /^[^:\u0000-\u001f\u007f]{1,256}$/;
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const PASSWORD = /^[^\u0000-\u001f\u007f]{1,1024}$/;
const ENV = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const Entry = z
  .strictObject({
    id: z.string().regex(NAME, 'must be a short name of letters, digits and _.:-'),
    tenant: z.string().regex(TENANT_NAME, 'must be a tenant name: letters, digits and _.- (first a letter or digit), at most 64').optional(),
    scheme: z.string().regex(SCHEME, 'must be a security scheme name (letters, digits and ._-)').optional(),
    scopes: z.array(z.string().regex(SCOPE, 'must be an OAuth scope token')).min(1).optional(),
    operations: z.array(z.string().regex(OPERATION_ID, 'must be an operationId (printable, at most 200 characters)')).min(1).optional(),
    token: z.string().regex(TOKEN, 'must be 8+ visible ASCII characters without spaces').optional(),
    tokenEnv: ENV.optional(),
    username: z.string().regex(USERNAME, 'must be 1-256 characters without a colon or control characters').optional(),
    usernameEnv: ENV.optional(),
    password: z.string().regex(PASSWORD, 'must be 1-1024 characters without control characters').optional(),
    passwordEnv: ENV.optional(),
    /** The manifest surfaces that use this entry (src/README.md D42); absent: every surface. */
    surfaces: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a surface name from the manifest')).min(1).optional(),
  })
  .refine((e) => e.scopes !== undefined || e.operations !== undefined || e.scheme !== undefined, { message: 'needs `scopes`, `operations`, `scheme` or a combination' })
  .refine(
    (e) => {
      const token = [e.token, e.tokenEnv].filter((v) => v !== undefined).length;
      const user = [e.username, e.usernameEnv].filter((v) => v !== undefined).length;
      const pass = [e.password, e.passwordEnv].filter((v) => v !== undefined).length;
      return (token === 1 && user === 0 && pass === 0) || (token === 0 && user === 1 && pass === 1);
    },
    { message: 'needs exactly one of `token`/`tokenEnv` (a bearer token or API key), or a basic pair: one of `username`/`usernameEnv` and one of `password`/`passwordEnv`' },
  );

const TokenFile = z.strictObject({ tokens: z.array(Entry).min(1) });

export interface StaticTokenEntry {
  id: string;
  scheme?: string;
  scopes?: readonly string[];
  operations?: readonly string[];
  /** The tenant whose callers alone it serves (tenants on); absent with tenants off. */
  tenant?: string;
  /** The surfaces that alone use it (src/README.md D42); absent: every surface. */
  surfaces?: readonly string[];
}

/** What an entry holds: one value (bearer token or API key) or a basic pair, already encoded. */
type Secret = { type: 'token'; value: string } | { type: 'basic'; encoded: string };

interface LoadedEntry extends StaticTokenEntry {
  secret: Secret;
}

export interface StaticTokenCoverage {
  /** Each credential need with the id of the entry that serves it. */
  covered: { operationId: string; scheme?: string; tenant?: string; tokenId: string }[];
  /** Needs with no usable entry: Deputy refuses to start while any is exposed. `reason` says why. */
  missing: (CredentialNeed & { reason: string; tenant?: string })[];
  /**
   * Operations served by an `operations:` entry whose declared `scopes` differ from what the
   * operation needs (more or fewer) — worth a loud warning.
   */
  scopeMismatch: { operationId: string; tokenId: string; declared: readonly string[]; needed: readonly string[] }[];
}

export class StaticTokenFileError extends Error {
  override readonly name = 'StaticTokenFileError';
}

/**
 * The lookup keys of an entry: its tenant, scheme and what it serves; '' stands for "no tenant"
 * (tenants off) and "no scheme" (a bearer-only entry). A tenant name cannot be empty, so with
 * tenants on a request without one matches nothing.
 */
const key = (tenant: string | undefined, scheme: string | undefined, rest: string) => `${tenant ?? ''}\u0000${scheme ?? ''}\u0000${rest}`;

function fits(secret: Secret, kind: CredentialKind): boolean {
  return kind === 'basic' ? secret.type === 'basic' : secret.type === 'token';
}

/**
 * Whether two entries could serve the same surface: an entry without `surfaces:` serves every one.
 * Only then may they not claim the same operation, scope set or scheme.
 */
const overlap = (a: readonly string[] | undefined, b: readonly string[] | undefined) => !a || !b || a.some((name) => b.includes(name));

/** An entry serves a surface if it names it or names none; the single `/mcp` (null) gets only the latter. */
const servesSurface = (entry: StaticTokenEntry, surface: string | null) => !entry.surfaces || (surface !== null && entry.surfaces.includes(surface));

export class StaticTokenProvider extends RedactedSecretHolder implements TokenProvider {
  readonly #source: string;
  readonly #entries: readonly LoadedEntry[];
  readonly #surface: string | null;
  readonly #byOperation = new Map<string, LoadedEntry>();
  readonly #byScopes = new Map<string, LoadedEntry>();
  readonly #byScheme = new Map<string, LoadedEntry>();
  /** Every scheme an entry names. */
  readonly #schemes = new Set<string>();
  readonly #count: number;
  /** Tenants on: every entry names one and a request is served only within its own. */
  readonly #tenants: ReadonlySet<string> | null;

  private constructor(source: string, all: readonly LoadedEntry[], tenants: boolean, surface: string | null = null) {
    super();
    this.#source = source;
    this.#entries = all;
    this.#surface = surface;
    const entries = all.filter((entry) => servesSurface(entry, surface));
    this.#count = entries.length;
    // Every tenant of the file, whichever surface this view serves: start-up then checks that each
    // one can call every operation of every surface (D41).
    this.#tenants = tenants ? new Set(all.map((e) => e.tenant!)) : null;
    for (const entry of entries) {
      for (const op of entry.operations ?? []) this.#byOperation.set(key(entry.tenant, entry.scheme, op), entry);
      if (entry.scopes && !entry.operations) this.#byScopes.set(key(entry.tenant, entry.scheme, scopeKey(entry.scopes)), entry);
      if (entry.scheme !== undefined && !entry.scopes && !entry.operations) this.#byScheme.set(key(entry.tenant, entry.scheme, ''), entry);
      if (entry.scheme !== undefined) this.#schemes.add(entry.scheme);
    }
  }

  /** The tenants the file holds credentials for, sorted; null with tenants off. */
  tenants(): string[] | null {
    return this.#tenants ? [...this.#tenants].sort() : null;
  }

  /** Parse a token file's YAML text. `source` names it in errors and `describe()`. */
  static fromYaml(text: string, opts: { source?: string; env?: NodeJS.ProcessEnv; tenants?: boolean } = {}): StaticTokenProvider {
    const tenants = opts.tenants ?? false;
    const source = opts.source ?? 'static token file';
    const env = opts.env ?? process.env;
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (err) {
      // The parser's messages quote the offending lines, which may hold a token: keep position only.
      const mark = (err as { mark?: { line: number; column: number } }).mark;
      throw new StaticTokenFileError(`${source}: not valid YAML${mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : ''}`);
    }
    const parsed = TokenFile.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new StaticTokenFileError(`${source}: ${issues.join('; ')}`);
    }

    const ids = new Set<string>();
    const claimed = new Map<string, { id: string; surfaces: readonly string[] | undefined }[]>();
    const claim = (k: string, e: { id: string; surfaces?: readonly string[] | undefined }, clash: (other: string) => string) => {
      const others = claimed.get(k) ?? [];
      const other = others.find((o) => overlap(o.surfaces, e.surfaces));
      if (other) throw new StaticTokenFileError(`${source}: ${clash(other.id)}`);
      claimed.set(k, [...others, { id: e.id, surfaces: e.surfaces }]);
    };
    const entries: LoadedEntry[] = [];
    for (const e of parsed.data.tokens) {
      if (ids.has(e.id)) throw new StaticTokenFileError(`${source}: token id '${e.id}' appears twice`);
      ids.add(e.id);
      // An untagged entry with tenants on would serve every tenant's callers; a tagged one with
      // tenants off would serve everyone's. Either crosses tenants, so neither loads (D41).
      if (tenants && e.tenant === undefined) {
        throw new StaticTokenFileError(`${source}: '${e.id}' names no \`tenant:\`; with DEPUTY_TENANT_CLAIM set every entry must name the tenant whose callers it serves`);
      }
      if (!tenants && e.tenant !== undefined) {
        throw new StaticTokenFileError(`${source}: '${e.id}' names tenant '${e.tenant}', but DEPUTY_TENANT_CLAIM is not set; set it so each caller gets only its tenant's credentials, or remove \`tenant:\``);
      }
      const forScheme = `${e.scheme !== undefined ? ` for scheme '${e.scheme}'` : ''}${e.tenant !== undefined ? ` of tenant '${e.tenant}'` : ''}`;
      for (const op of e.operations ?? []) claim(`op ${key(e.tenant, e.scheme, op)}`, e, (other) => `operation '${op}'${forScheme} is claimed by both '${other}' and '${e.id}'`);
      if (e.scopes && !e.operations) claim(`scopes ${key(e.tenant, e.scheme, scopeKey(e.scopes))}`, e, (other) => `'${other}' and '${e.id}' both serve scopes [${scopeKey(e.scopes!)}]${forScheme}`);
      if (e.scheme !== undefined && !e.scopes && !e.operations) claim(`scheme ${key(e.tenant, e.scheme, '')}`, e, (other) => `'${other}' and '${e.id}' both serve scheme '${e.scheme}'${e.tenant !== undefined ? ` of tenant '${e.tenant}'` : ''}`);

      const fromEnv = (name: string, what: string, rule: RegExp): string => {
        const value = env[name];
        if (value === undefined || value === '') throw new StaticTokenFileError(`${source}: '${e.id}' reads its ${what} from $${name}, which is not set`);
        if (!rule.test(value)) throw new StaticTokenFileError(`${source}: $${name} (for '${e.id}') is not a usable ${what}`);
        return value;
      };
      let secret: Secret;
      if (e.token !== undefined || e.tokenEnv !== undefined) {
        secret = { type: 'token', value: e.token ?? fromEnv(e.tokenEnv!, 'token', TOKEN) };
      } else {
        const username = e.username ?? fromEnv(e.usernameEnv!, 'username', USERNAME);
        const password = e.password ?? fromEnv(e.passwordEnv!, 'password', PASSWORD);
        secret = { type: 'basic', encoded: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
      }
      const entry: LoadedEntry = { id: e.id, secret };
      if (e.scheme !== undefined) entry.scheme = e.scheme;
      if (e.tenant !== undefined) entry.tenant = e.tenant;
      if (e.scopes) entry.scopes = e.scopes;
      if (e.operations) entry.operations = e.operations;
      if (e.surfaces) entry.surfaces = e.surfaces;
      entries.push(entry);
    }
    return new StaticTokenProvider(source, entries, tenants);
  }

  /** This file as one surface sees it: its own entries and those naming no surface. */
  forSurface(surface: string): StaticTokenProvider {
    return new StaticTokenProvider(this.#source, this.#entries, this.#tenants !== null, surface);
  }

  /** Every surface name an entry names, so start-up can refuse one the manifest does not declare. */
  surfaceNames(): { tokenId: string; surface: string }[] {
    return this.#entries.flatMap((e) => (e.surfaces ?? []).map((surface) => ({ tokenId: e.id, surface })));
  }

  static fromFile(path: string, opts: { env?: NodeJS.ProcessEnv; tenants?: boolean } = {}): StaticTokenProvider {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new StaticTokenFileError(`static token file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return StaticTokenProvider.fromYaml(text, { source: `static token file ${path}`, env: opts.env ?? process.env, ...(opts.tenants ? { tenants: true } : {}) });
  }

  /**
   * The entry for one credential, most specific first: the scheme's entry for this operation,
   * then for these scopes, then for the whole scheme. Entries without `scheme:` serve bearer
   * kinds only, after the scheme's own entry of the same rank. With tenants on, only entries of
   * the request's tenant are looked at, and a request without one gets none (D41).
   */
  #lookup(req: { operationId: string; scopes: readonly string[]; scheme?: string; kind?: CredentialKind; tenant?: string }): LoadedEntry | undefined {
    if (this.#tenants && (req.tenant === undefined || !this.#tenants.has(req.tenant))) return undefined;
    const tenant = this.#tenants ? req.tenant : undefined;
    const schemes = kindOf(req) === 'bearer' ? [req.scheme, undefined] : [req.scheme];
    const scopes = scopeKey(req.scopes);
    const found = (): LoadedEntry | undefined => {
      for (const s of schemes) {
        const hit = this.#byOperation.get(key(tenant, s, req.operationId));
        if (hit) return hit;
      }
      for (const s of schemes) {
        const hit = this.#byScopes.get(key(tenant, s, scopes));
        if (hit) return hit;
      }
      return req.scheme !== undefined ? this.#byScheme.get(key(tenant, req.scheme, '')) : undefined;
    };
    const entry = found();
    // Belt and braces: whatever the keys say, an entry of another tenant is never handed out.
    return entry && entry.tenant === tenant ? entry : undefined;
  }

  /** Whether an entry names this scheme: such schemes are served by the file even next to an OAuth provider. */
  servesScheme(scheme: string): boolean {
    return this.#schemes.has(scheme);
  }

  /** Why a need has no credential here, or null when it has one. */
  #problem(req: TokenRequest, entry: LoadedEntry | undefined): string | null {
    const kind = kindOf(req);
    const scheme = req.scheme !== undefined ? `scheme '${req.scheme}'` : 'this operation';
    if (!entry && this.#tenants) {
      if (req.tenant === undefined) return 'this call names no tenant, and with tenants on every credential belongs to one';
      if (!this.#tenants.has(req.tenant)) return `the static token file holds no credential of tenant '${req.tenant}'`;
    }
    const ofTenant = this.#tenants && req.tenant !== undefined ? ` of tenant '${req.tenant}'` : '';
    if (!entry) {
      return kind === 'bearer'
        ? `the static token file has no entry${ofTenant} for ${scheme}, this operation or scopes [${scopeKey(req.scopes)}]`
        : `the static token file has no entry${ofTenant} with \`scheme: ${req.scheme ?? '?'}\` (a ${describeKind(kind)})`;
    }
    if (!fits(entry.secret, kind)) {
      return `entry '${entry.id}' holds a ${entry.secret.type === 'basic' ? 'basic pair' : 'token'}, but ${scheme} needs a ${describeKind(kind)}`;
    }
    return null;
  }

  async getToken(req: TokenRequest): Promise<string> {
    const entry = this.#lookup(req);
    const problem = this.#problem(req, entry);
    if (problem !== null || !entry) throw backendError('BACKEND_TOKEN_UNAVAILABLE', req.operationId, { reason: problem ?? 'no entry' });
    return entry.secret.type === 'basic' ? entry.secret.encoded : entry.secret.value;
  }

  /** Static tokens cannot be refreshed: a 401 means the operator must replace the key. */
  invalidate(): void {}

  /** Which credential needs have a usable entry, and which do not. */
  coverage(needs: readonly TokenRequest[]): StaticTokenCoverage {
    const result: StaticTokenCoverage = { covered: [], missing: [], scopeMismatch: [] };
    for (const need of needs) {
      const entry = this.#lookup(need);
      const problem = this.#problem(need, entry);
      if (problem !== null || !entry) {
        result.missing.push({
          operationId: need.operationId,
          scopes: need.scopes,
          scheme: need.scheme ?? 'bearer',
          kind: kindOf(need),
          reason: problem ?? 'no entry',
          ...(need.tenant !== undefined ? { tenant: need.tenant } : {}),
        });
        continue;
      }
      result.covered.push({ operationId: need.operationId, ...(need.scheme !== undefined ? { scheme: need.scheme } : {}), ...(need.tenant !== undefined ? { tenant: need.tenant } : {}), tokenId: entry.id });
      if (entry.operations && entry.scopes && scopeKey(entry.scopes) !== scopeKey(need.scopes)) {
        result.scopeMismatch.push({ operationId: need.operationId, tokenId: entry.id, declared: entry.scopes, needed: need.scopes });
      }
    }
    return result;
  }

  describe(): string {
    return `${this.#source} (${this.#count} ${this.#count === 1 ? 'entry' : 'entries'}${this.#surface !== null ? ` for surface ${this.#surface}` : ''})`;
  }
}
