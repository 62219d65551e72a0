/**
 * The dev authorization server's clients, users and static API tokens, read from
 * `mock-backend/fixtures/*.yaml` and checked once at start: a fixture naming a scope the spec
 * does not define fails loudly instead of minting tokens nobody can use.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_PASSWORD = 'password';
export const GRANT_TYPES = [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, GRANT_PASSWORD] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** `resources` entry meaning "any http(s) URL on a loopback host". */
export const LOOPBACK_RESOURCES = 'loopback';

const scopeName = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token (RFC 6749 §3.3)');

const clientSchema = z.strictObject({
  id: z.string().min(1),
  secret: z.string().min(1),
  description: z.string().optional(),
  grants: z.array(z.enum(GRANT_TYPES)).min(1),
  scopes: z.array(scopeName),
  defaultScopes: z.array(scopeName).optional(),
  resources: z.array(z.union([z.literal(LOOPBACK_RESOURCES), z.url()])).default([]),
  /** May call the introspection endpoint (RFC 7662), which reveals who holds which token. */
  introspect: z.boolean().default(false),
});

const userSchema = z.strictObject({
  username: z.string().min(1),
  password: z.string().min(1),
  description: z.string().optional(),
  scopes: z.array(scopeName),
});

const staticTokenSchema = z.strictObject({
  id: z.string().min(1),
  token: z.string().min(16),
  subject: z.string().min(1),
  scopes: z.array(scopeName).min(1),
  /** The tenant whose key this is (Deputy's tenants, src/README.md D41); shown in the request log. */
  tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  revoked: z.boolean().default(false),
});

export type ClientFixture = z.infer<typeof clientSchema>;
export type UserFixture = z.infer<typeof userSchema>;
export type StaticTokenFixture = z.infer<typeof staticTokenSchema>;

export interface AuthFixtures {
  clients: ClientFixture[];
  users: UserFixture[];
  staticTokens: StaticTokenFixture[];
}

export const DEFAULT_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

const files = {
  clients: { file: 'clients.yaml', schema: z.strictObject({ clients: z.array(clientSchema) }) },
  users: { file: 'users.yaml', schema: z.strictObject({ users: z.array(userSchema) }) },
  staticTokens: { file: 'static-tokens.yaml', schema: z.strictObject({ tokens: z.array(staticTokenSchema) }) },
};

async function readFixture<T>(dir: string, file: string, schema: z.ZodType<T>): Promise<T> {
  const path = `${dir.replace(/\/?$/, '/')}${file}`;
  const result = schema.safeParse(parse(await readFile(path, 'utf8')));
  if (!result.success) {
    throw new Error(`invalid fixture ${path}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/** Reads and validates `clients.yaml`, `users.yaml` and `static-tokens.yaml` from `dir`. */
export async function loadAuthFixtures(dir: string = DEFAULT_FIXTURES_DIR): Promise<AuthFixtures> {
  const [{ clients }, { users }, { tokens }] = await Promise.all([
    readFixture(dir, files.clients.file, files.clients.schema),
    readFixture(dir, files.users.file, files.users.schema),
    readFixture(dir, files.staticTokens.file, files.staticTokens.schema),
  ]);
  return { clients, users, staticTokens: tokens };
}

/**
 * Throws if ids repeat, a scope is not one the API defines, or a client's default scopes
 * exceed its allowed ones. Run at start so a fixture/spec drift is caught before any request.
 */
export function checkAuthFixtures(fixtures: AuthFixtures, scopesSupported: readonly string[]): void {
  const known = new Set(scopesSupported);
  const problems: string[] = [];
  const checkScopes = (where: string, scopes: readonly string[]) => {
    for (const s of scopes) if (!known.has(s)) problems.push(`${where}: unknown scope '${s}'`);
  };
  const checkUnique = (kind: string, ids: string[]) => {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) problems.push(`${kind} '${id}' is defined twice`);
      seen.add(id);
    }
  };
  checkUnique('client', fixtures.clients.map((c) => c.id));
  checkUnique('user', fixtures.users.map((u) => u.username));
  checkUnique('static token', fixtures.staticTokens.map((t) => t.id));
  if (new Set(fixtures.staticTokens.map((t) => t.token)).size !== fixtures.staticTokens.length) {
    problems.push('two static tokens share the same token value');
  }
  for (const c of fixtures.clients) {
    checkScopes(`client '${c.id}'`, c.scopes);
    for (const s of c.defaultScopes ?? []) {
      if (!c.scopes.includes(s)) problems.push(`client '${c.id}': default scope '${s}' is not in its scopes`);
    }
  }
  for (const u of fixtures.users) checkScopes(`user '${u.username}'`, u.scopes);
  for (const t of fixtures.staticTokens) checkScopes(`static token '${t.id}'`, t.scopes);
  if (problems.length > 0) throw new Error(`auth fixtures do not match the API:\n  ${problems.join('\n  ')}`);
}
