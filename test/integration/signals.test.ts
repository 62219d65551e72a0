/**
 * `npm start` and `npm run mock-backend` stop fully when SIGTERM or SIGINT reaches the npm
 * process itself (a process manager or `kill <pid>`, not Ctrl-C, which signals the whole
 * terminal group): no process of the script is left, its ports refuse connections, and the
 * audit line of the last tool call is on disk. `npm run serve` runs the production build and is
 * checked the same way in `test/e2e/build.test.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { auditedOutcomes, killLeftovers, npmRun, refusesConnections, stopAndCheck } from '../helpers/npmScripts.ts';

const tempDirs: string[] = [];

afterEach(() => {
  killLeftovers();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm scripts stop fully when the npm process is signalled', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`npm run mock-backend, ${signal}`, async () => {
      const run = npmRun('mock-backend', { MOCK_BACKEND_PORT: '0' });
      const url = await run.waitFor(/mock-backend listening on (\S+)/);
      expect(await refusesConnections(url)).toBe(false);
      await stopAndCheck(run, signal, [url]);
    });
  }

  it('npm start, SIGTERM: Deputy and the mock backend stop, the last call is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deputy-signals-'));
    tempDirs.push(dir);
    const auditFile = join(dir, 'audit.log');
    const run = npmRun('start', { PORT: '0', MOCK_BACKEND_PORT: '0', DEPUTY_AUDIT_LOG: auditFile });
    // The shipped manifest's surfaces (openapi/README.md, "Surfaces"): content's URL and token come first.
    const mcpUrl = await run.waitFor(/Surface content\s+(\S+)/, 60_000);
    const mockUrl = await run.waitFor(/Mock backend\s+(\S+)/);
    // The token is printed alone on the line after the "Agent token" heading and a blank line.
    await run.waitFor(/^(Claude Code:)$/);
    const token = run.lines[run.lines.findIndex((line) => line.includes('Agent token')) + 2]!.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const client = new Client({ name: 'signals-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    const result = await client.callTool({ name: 'listDrafts', arguments: { limit: 1 } });
    expect(result.isError).toBeFalsy();
    await client.close();

    await stopAndCheck(run, 'SIGTERM', [mcpUrl, mockUrl]);
    expect(auditedOutcomes(auditFile, 'listDrafts')).toEqual(['ok']);
  }, 90_000);
});
