/**
 * Deputy over stdio (local use), as a child process: a 2025-era client (v1 SDK) and a client
 * pinned to 2026-07-28 (v2 SDK) each list the tools and call one.
 */
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdio } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { DEPUTY_CLIENT_SECRET, MODERN_REVISION } from '../helpers/deputy.ts';

let backend: MockBackend;
let env: Record<string, string>;
const root = new URL('../..', import.meta.url).pathname;

beforeAll(async () => {
  backend = await startMockBackend();
  env = {
    PATH: process.env.PATH ?? '',
    DEPUTY_BACKEND_URL: backend.url,
    DEPUTY_OAUTH_CLIENT_ID: 'deputy',
    DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET,
    DEPUTY_OAUTH_TOKEN_URL: `${backend.auth.issuer}/oauth/token`,
    DEPUTY_LOG_LEVEL: 'silent',
    DEPUTY_AUDIT_LOG: 'stderr',
  };
});
afterAll(async () => {
  await backend?.close();
});

const command = { command: process.execPath, args: ['--import', 'tsx', 'src/main.ts', 'stdio'], cwd: root };

describe('stdio', () => {
  it('a 2025-era client lists and calls', async () => {
    const client = new LegacyClient({ name: 'stdio-legacy', version: '1.0.0' });
    await client.connect(new LegacyStdio({ ...command, env, stderr: 'ignore' }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('getDraft');
      const result = await client.callTool({ name: 'getDraft', arguments: { filename: 'q3-pricing-update.md' } });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('a client pinned to 2026-07-28 lists and calls', async () => {
    const client = new ModernClient({ name: 'stdio-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN_REVISION } } });
    await client.connect(new ModernStdio({ ...command, env, stderr: 'ignore' }));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe(MODERN_REVISION);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('getDraft');
      const result = await client.callTool({ name: 'getDraft', arguments: { filename: 'q3-pricing-update.md' } });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });
});
