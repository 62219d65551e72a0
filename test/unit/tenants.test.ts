/**
 * Tenants (src/README.md D41), unit by unit: the caller's tenant from its token's claim, the
 * configuration that turns tenants on, and the static token file's per-tenant credentials — a
 * call is served only by an entry of its caller's tenant, never by an untagged one or another
 * tenant's, and start-up coverage is checked tenant by tenant.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import pino from 'pino';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { StaticTokenFileError, StaticTokenProvider, isBackendError, type TokenRequest } from '../../src/backend/index.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tools as generatedTools } from '../../src/generated/tools.ts';
import { createCallerVerifier } from '../../src/http/callerAuth.ts';
import { checkCredentials, createTokenProvider } from '../../src/serveCommon.ts';
import { idempotencyKey } from '../../src/tools/callSteps.ts';

const TWO_TENANTS = `
tokens:
  - id: acme-read
    tenant: acme
    scopes: [drafts:read]
    token: acme_read_token_0001
  - id: acme-publish
    tenant: acme
    operations: [publishDraft]
    token: acme_publish_token_0001
  - id: acme-key
    tenant: acme
    scheme: apiKeyAuth
    token: acme_api_key_000001
  - id: globex-read
    tenant: globex
    scopes: [drafts:read]
    token: globex_read_token_0001
  - id: globex-publish
    tenant: globex
    operations: [publishDraft]
    token: globex_publish_token_01
  - id: globex-key
    tenant: globex
    scheme: apiKeyAuth
    token: globex_api_key_00001
`;

const TOKENS_OF: Record<string, string[]> = {
  acme: ['acme_read_token_0001', 'acme_publish_token_0001', 'acme_api_key_000001'],
  globex: ['globex_read_token_0001', 'globex_publish_token_01', 'globex_api_key_00001'],
};

const read = { operationId: 'listDrafts', scopes: ['drafts:read'] };
const publish = { operationId: 'publishDraft', scopes: ['drafts:publish'] };
const apiKey = { operationId: 'listWidgets', scopes: [], scheme: 'apiKeyAuth', kind: 'header' as const };

describe('static token file with tenants', () => {
  const file = StaticTokenProvider.fromYaml(TWO_TENANTS, { tenants: true });

  it('serves each tenant its own entry, by the usual matching rules', async () => {
    expect(await file.getToken({ ...read, tenant: 'acme' })).toBe('acme_read_token_0001');
    expect(await file.getToken({ ...read, tenant: 'globex' })).toBe('globex_read_token_0001');
    expect(await file.getToken({ ...publish, tenant: 'acme' })).toBe('acme_publish_token_0001');
    expect(await file.getToken({ ...apiKey, tenant: 'globex' })).toBe('globex_api_key_00001');
    expect(file.tenants()).toEqual(['acme', 'globex']);
  });

  it('serves no call without a tenant, nor of a tenant the file does not hold', async () => {
    for (const req of [read, publish, apiKey, { ...read, tenant: 'initech' }, { ...read, tenant: '' }]) {
      const failure = await file.getToken(req).catch((error: unknown) => error);
      expect(isBackendError(failure) && failure.code).toBe('BACKEND_TOKEN_UNAVAILABLE');
    }
  });

  it('never hands one tenant another tenant’s credential, whatever the request names (property)', async () => {
    const requests = fc.record({
      operationId: fc.oneof(fc.constantFrom('listDrafts', 'publishDraft', 'listWidgets', 'acme-publish', 'globex-read'), fc.string()),
      scopes: fc.array(fc.oneof(fc.constantFrom('drafts:read', 'drafts:publish'), fc.string()), { maxLength: 3 }),
      scheme: fc.option(fc.oneof(fc.constantFrom('apiKeyAuth', 'bearerAuth'), fc.string()), { nil: undefined }),
      kind: fc.option(fc.constantFrom('bearer' as const, 'header' as const, 'query' as const, 'basic' as const), { nil: undefined }),
      tenant: fc.oneof(fc.constantFrom('acme', 'globex', 'initech', 'ACME', 'acme '), fc.string()),
    });
    await fc.assert(
      fc.asyncProperty(requests, async (raw) => {
        const req: TokenRequest = { operationId: raw.operationId, scopes: raw.scopes, tenant: raw.tenant };
        if (raw.scheme !== undefined) req.scheme = raw.scheme;
        if (raw.kind !== undefined) req.kind = raw.kind;
        const value = await file.getToken(req).catch(() => null);
        if (value === null) return;
        // Whatever was served belongs to exactly the request's tenant.
        expect(TOKENS_OF[raw.tenant] ?? []).toContain(value);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps to both the tenant and the surface of an entry that names both (src/README.md D42)', async () => {
    const both = StaticTokenProvider.fromYaml(
      `
tokens:
  - id: acme-support-read
    tenant: acme
    surfaces: [support]
    scopes: [drafts:read]
    token: acme_support_read_01
  - id: acme-read
    tenant: acme
    surfaces: [content]
    scopes: [drafts:read]
    token: acme_content_read_01
  - id: globex-read
    tenant: globex
    scopes: [drafts:read]
    token: globex_read_token_0001
`,
      { tenants: true },
    );
    const support = both.forSurface('support');
    expect(await support.getToken({ ...read, tenant: 'acme' })).toBe('acme_support_read_01');
    expect(await both.forSurface('content').getToken({ ...read, tenant: 'acme' })).toBe('acme_content_read_01');
    // globex's entry names no surface: every surface, but only for globex's callers.
    expect(await support.getToken({ ...read, tenant: 'globex' })).toBe('globex_read_token_0001');
    const crossed = await support.getToken({ ...read, tenant: 'initech' }).catch((error: unknown) => error);
    expect(isBackendError(crossed) && crossed.code).toBe('BACKEND_TOKEN_UNAVAILABLE');
    // A surface view still knows every tenant of the file, so start-up checks each on every surface.
    expect(both.forSurface('billing').tenants()).toEqual(['acme', 'globex']);
    expect(both.forSurface('billing').coverage([{ ...read, tenant: 'acme' }]).missing).toEqual([expect.objectContaining({ tenant: 'acme' })]);
  });

  it('checks coverage per tenant, naming the tenant and the operation', () => {
    const lopsided = StaticTokenProvider.fromYaml(
      `tokens:
  - { id: acme-read, tenant: acme, scopes: [drafts:read], token: acme_read_token_0001 }
  - { id: acme-publish, tenant: acme, operations: [publishDraft], token: acme_publish_token_0001 }
  - { id: globex-read, tenant: globex, scopes: [drafts:read], token: globex_read_token_0001 }
`,
      { tenants: true },
    );
    expect(lopsided.coverage([read, publish].map((n) => ({ ...n, tenant: 'acme' }))).missing).toEqual([]);
    const globex = lopsided.coverage([read, publish].map((n) => ({ ...n, tenant: 'globex' })));
    expect(globex.missing).toEqual([expect.objectContaining({ operationId: 'publishDraft', tenant: 'globex', reason: expect.stringContaining("of tenant 'globex'") })]);
    expect(globex.covered).toEqual([{ operationId: 'listDrafts', tenant: 'globex', tokenId: 'globex-read' }]);
  });

  it('refuses an untagged entry with tenants on: it would serve every tenant', () => {
    const untagged = `tokens:
  - { id: acme-read, tenant: acme, scopes: [drafts:read], token: acme_read_token_0001 }
  - { id: shared, scopes: [drafts:publish], token: shared_publish_token_1 }
`;
    expect(() => StaticTokenProvider.fromYaml(untagged, { tenants: true })).toThrow(StaticTokenFileError);
    expect(() => StaticTokenProvider.fromYaml(untagged, { tenants: true })).toThrow(/'shared' names no `tenant:`/);
    expect(() => StaticTokenProvider.fromYaml(untagged, { tenants: true })).not.toThrow(/shared_publish_token_1/);
  });

  it('refuses a tagged entry with tenants off: it would serve everyone', () => {
    expect(() => StaticTokenProvider.fromYaml(TWO_TENANTS)).toThrow(/'acme-read' names tenant 'acme', but DEPUTY_TENANT_CLAIM is not set/);
  });

  it('lets two tenants hold the same scope set, but not one tenant twice', () => {
    expect(() =>
      StaticTokenProvider.fromYaml(
        `tokens:
  - { id: a1, tenant: acme, scopes: [drafts:read], token: acme_read_token_0001 }
  - { id: a2, tenant: acme, scopes: [drafts:read], token: acme_read_token_0002 }
`,
        { tenants: true },
      ),
    ).toThrow(/'a1' and 'a2' both serve scopes \[drafts:read\] of tenant 'acme'/);
  });

  it('refuses a tenant name that is not one', () => {
    expect(() => StaticTokenProvider.fromYaml(`tokens:\n  - { id: x, tenant: "a b", scopes: [s], token: some_token_0001 }\n`, { tenants: true })).toThrow(/tenant: must be a tenant name/);
  });
});

describe('the caller’s tenant claim', () => {
  const ISSUER = 'http://as.test';
  const AUDIENCE = 'http://deputy.test/mcp';
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  beforeAll(async () => {
    ({ privateKey, publicKey } = await generateKeyPair('ES256'));
  });
  const token = (claims: Record<string, unknown>) =>
    new SignJWT({ scope: 'drafts:read', client_id: 'agent', ...claims })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('dev')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(privateKey);
  const verifier = (tenantClaim: string | null) =>
    createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${ISSUER}/jwks`, algorithms: ['ES256'], tenantClaim, keySet: async () => publicKey });

  it('is the configured claim when it names a tenant', async () => {
    expect(await verifier('org_id')(await token({ org_id: 'acme' }))).toMatchObject({ ok: true, caller: { subject: 'dev', tenant: 'acme' } });
  });

  it('is null with tenants off, whatever the token says', async () => {
    expect(await verifier(null)(await token({ tenant: 'acme' }))).toMatchObject({ ok: true, caller: { tenant: null } });
  });

  it('refuses a token without it, or with anything but a tenant name, as forbidden', async () => {
    const verify = verifier('tenant');
    for (const claims of [{}, { tenant: '' }, { tenant: ['acme'] }, { tenant: 42 }, { tenant: 'a/b' }, { tenant: '../globex' }, { org_id: 'acme' }]) {
      const result = await verify(await token(claims));
      expect(result).toMatchObject({ ok: false, forbidden: true, description: expect.stringContaining('"tenant" claim') });
    }
  });
});

describe('tenant configuration', () => {
  const base = { DEPUTY_AUTH_ISSUER: 'https://auth.example.com', DEPUTY_BACKEND_URL: 'https://admin.example.com' };
  const problems = (env: Record<string, string>, transport: 'http' | 'stdio' = 'http') => {
    try {
      loadConfig(env, transport);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    return '';
  };

  it('is off by default and on with DEPUTY_TENANT_CLAIM', () => {
    expect(loadConfig({ ...base, DEPUTY_TOKEN_PROVIDER: 'static', DEPUTY_TOKEN_FILE: 't.yaml' }).tenants).toBeNull();
    expect(loadConfig({ ...base, DEPUTY_TOKEN_PROVIDER: 'static', DEPUTY_TOKEN_FILE: 't.yaml', DEPUTY_TENANT_CLAIM: 'org_id' }).tenants).toEqual({ claim: 'org_id' });
  });

  it('refuses client_credentials with tenants on: one identity would serve every tenant', () => {
    expect(problems({ ...base, DEPUTY_OAUTH_CLIENT_ID: 'd', DEPUTY_OAUTH_CLIENT_SECRET: 's', DEPUTY_TENANT_CLAIM: 'tenant' })).toMatch(/DEPUTY_TENANT_CLAIM is set, but DEPUTY_TOKEN_PROVIDER=client_credentials/);
    expect(problems({ ...base, DEPUTY_OAUTH_CLIENT_ID: 'd', DEPUTY_OAUTH_CLIENT_SECRET: 's', DEPUTY_TOKEN_PROVIDER: 'token_exchange', DEPUTY_TENANT_CLAIM: 'tenant' })).toBe('');
  });

  it('over stdio, needs the local tenant exactly when tenants are on', () => {
    const stdio = { DEPUTY_BACKEND_URL: 'https://admin.example.com', DEPUTY_TOKEN_PROVIDER: 'static', DEPUTY_TOKEN_FILE: 't.yaml' };
    expect(problems({ ...stdio, DEPUTY_TENANT_CLAIM: 'tenant' }, 'stdio')).toMatch(/DEPUTY_STDIO_TENANT is not set/);
    expect(problems({ ...stdio, DEPUTY_STDIO_TENANT: 'acme' }, 'stdio')).toMatch(/DEPUTY_STDIO_TENANT is set without DEPUTY_TENANT_CLAIM/);
    expect(problems({ ...stdio, DEPUTY_TENANT_CLAIM: 'tenant', DEPUTY_STDIO_TENANT: 'a b' }, 'stdio')).toMatch(/DEPUTY_STDIO_TENANT: must be a tenant name/);
    expect(loadConfig({ ...stdio, DEPUTY_TENANT_CLAIM: 'tenant', DEPUTY_STDIO_TENANT: 'acme' }, 'stdio').stdio.tenant).toBe('acme');
  });
});

describe('start-up with tenants', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deputy-tenants-'));
  const start = async (file: string, claim: string | null = 'tenant') => {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, file);
    const config = loadConfig({
      DEPUTY_AUTH_ISSUER: 'https://auth.example.com',
      DEPUTY_BACKEND_URL: 'https://admin.example.com',
      DEPUTY_TOKEN_PROVIDER: 'static',
      DEPUTY_TOKEN_FILE: path,
      ...(claim ? { DEPUTY_TENANT_CLAIM: claim } : {}),
    });
    const provider = createTokenProvider(config);
    await checkCredentials(config, provider, generatedTools, pino({ level: 'silent' }));
  };
  const scopeSets = ['drafts:read', 'drafts:publish', 'customers:read', 'tickets:read', 'tickets:write'];
  const entries = (tenant: string, skip: string[] = []) =>
    scopeSets
      .filter((scope) => !skip.includes(scope))
      .map((scope) => `  - { id: ${tenant}-${scope.replace(':', '-')}, tenant: ${tenant}, scopes: [${scope}], token: ${tenant}_${scope.replace(':', '_')}_token_0001 }`)
      .join('\n');

  it('starts when every tenant of the file covers every exposed operation', async () => {
    await expect(start(`tokens:\n${entries('north')}\n${entries('south')}\n`)).resolves.toBeUndefined();
  });

  it('refuses to start naming the tenant and the operation one tenant cannot serve', async () => {
    await expect(start(`tokens:\n${entries('north')}\n${entries('south', ['drafts:publish'])}\n`)).rejects.toThrow(
      /no backend credential for: tenant 'south': publishDraft \(scheme adminAuth: bearer token with drafts:publish\) — the static token file has no entry of tenant 'south'/,
    );
  });

  it('refuses an untagged entry, which would serve every tenant', async () => {
    await expect(start(`tokens:\n${entries('north')}\n  - { id: shared, scopes: [posts:read], token: shared_posts_read_0001 }\n`)).rejects.toThrow(/'shared' names no `tenant:`/);
  });
});

describe('idempotency keys with tenants', () => {
  it('give the same action of the same subject name in two tenants two keys, and keep the key without tenants', () => {
    const args = { filename: 'q3.md' };
    const north = idempotencyKey({ subject: 'dev', tenant: 'north' }, 'publishDraft', args);
    const south = idempotencyKey({ subject: 'dev', tenant: 'south' }, 'publishDraft', args);
    const none = idempotencyKey({ subject: 'dev', tenant: null }, 'publishDraft', args);
    expect(new Set([north, south, none]).size).toBe(3);
    expect(idempotencyKey({ subject: 'dev', tenant: 'north' }, 'publishDraft', { ...args })).toBe(north); // a retry keeps its key
    // Unchanged for deployments without tenants (keys already at the backend stay valid).
    expect(none).toBe(`deputy-${createHash('sha256').update(`dev\npublishDraft\n{"filename":"q3.md"}`).digest('base64url').slice(0, 43)}`);
  });
});
