/**
 * The auth-off test profile for the official MCP conformance suite: the mock backend and
 * Deputy's real HTTP app on free loopback ports, with caller authentication replaced by a fixed
 * test caller (the suite cannot obtain a bearer token). Everything else — Origin/Host guard,
 * sessions, the SDK transport, the seven tools and their pipeline — is what production runs.
 *
 * This file is the only user of `ServeDependencies.testOnlyUnauthenticatedCaller`; nothing in
 * src/ or the environment can turn authentication off.
 *
 *   npx tsx test/conformance/profile.ts    # serve until Ctrl-C (prints the MCP URL)
 */
import pino, { type DestinationStream } from 'pino';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { loadConfig } from '../../src/config.ts';
import { tools as generatedTools } from '../../src/generated/tools.ts';
import { serveHttp, type Deputy } from '../../src/serve.ts';
import { createAuditLog } from '../../src/tools/audit.ts';
import { QUOTAS_RAISED } from '../helpers/deputy.ts';

export interface Profile {
  url: string;
  backend: MockBackend;
  deputy: Deputy;
  close(): Promise<void>;
}

export const TEST_CALLER = {
  subject: 'conformance-suite',
  clientId: 'conformance',
  scopes: [...new Set(generatedTools.flatMap((tool) => tool.callerScopes))],
  tenant: null,
  expiresAt: Number.MAX_SAFE_INTEGER,
} as const;

export async function startProfile(options: { port?: number; logLevel?: string } = {}): Promise<Profile> {
  const backend = await startMockBackend({ rateLimit: { limit: 100_000, windowSeconds: 60 } });
  try {
    const config = loadConfig({
      PORT: String(options.port ?? 0),
      DEPUTY_AUTH_ISSUER: backend.auth.issuer,
      DEPUTY_BACKEND_URL: backend.url,
      DEPUTY_OAUTH_CLIENT_ID: 'deputy',
      DEPUTY_OAUTH_CLIENT_SECRET: 'dev-secret-deputy',
      DEPUTY_LOG_LEVEL: options.logLevel ?? 'warn',
      // The suite is one caller opening a session per scenario: per-user limits out of its way.
      ...QUOTAS_RAISED,
      DEPUTY_QUOTA_SESSIONS: '999',
    });
    const discard: DestinationStream = { write: () => {} };
    const deputy = await serveHttp(config, {
      tools: generatedTools,
      log: pino({ level: config.logLevel }, pino.destination(2)),
      audit: createAuditLog({ destination: discard, redactArguments: config.audit.redactArguments }),
      testOnlyUnauthenticatedCaller: { ...TEST_CALLER, scopes: [...TEST_CALLER.scopes] },
    });
    return {
      url: deputy.url,
      backend,
      deputy,
      async close() {
        await deputy.close();
        await backend.close();
      },
    };
  } catch (error) {
    await backend.close();
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const profile = await startProfile({ port: Number(process.env.PORT ?? 0), logLevel: 'info' });
  process.stdout.write(`conformance profile (AUTH OFF) listening on ${profile.url}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void profile.close().then(() => process.exit(0)));
  }
}
