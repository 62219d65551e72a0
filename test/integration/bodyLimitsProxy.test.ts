/**
 * A body over Deputy's cap through the repository's nginx configuration (.deploy/nginx/), which
 * buffers a body up to its own 1 MiB cap and then forwards it: Deputy answers 413 before it has
 * read the body, and nginx must still pass that answer on rather than an upstream error
 * (src/README.md D48, "Closing").
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../helpers/debianPackages.ts';
import { ALL_TOOL_SCOPES, setup, type Harness } from '../helpers/deputy.ts';
import { ensureNginx, startNginx, type Nginx } from '../helpers/nginx.ts';

const CAP = 16_384;
let h: Harness;
let nginx: Nginx;
let token: string;

beforeAll(async () => {
  const binary = await ensureNginx();
  const [deputyPort, nginxPort] = [await freePort(), await freePort()];
  nginx = await startNginx({ binary, port: nginxPort, replicas: { r1: `127.0.0.1:${deputyPort}`, r2: `127.0.0.1:${deputyPort}` } });
  h = await setup({ env: { PORT: String(deputyPort), DEPUTY_PUBLIC_URL: nginx.url, DEPUTY_MAX_BODY_BYTES: String(CAP) } });
  token = await h.agentToken(ALL_TOOL_SCOPES, 'body-limits-proxy');
}, 120_000);
afterAll(async () => {
  await h?.teardown();
  await nginx?.stop();
});

it('a body over the cap, under nginx’s: the client gets Deputy’s 413, not a 502', async () => {
  for (const size of [2 * CAP, 900 * 1024]) {
    const res = await fetch(`${nginx.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'searchCustomers', arguments: { q: 'x'.repeat(size) } } }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', error: { code: -32600, message: 'Request body too large' }, id: null });
  }
  expect((await nginx.accessLog()).map((entry) => entry.status)).toEqual([413, 413]);
});
