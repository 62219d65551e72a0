/**
 * The MCP body reader (src/http/jsonBody.ts, src/README.md D44) against a client that goes away
 * while the request waits: it answers "gone" (status null) rather than waiting forever. Real
 * sockets on loopback; the decoder that fails after its client left is in test/e2e/http.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJsonBody, type JsonBody } from '../../src/http/jsonBody.ts';

let server: Server;
let port: number;
/** How long the handler waits before it reads the body, as authentication makes it wait. */
let delayMs = 0;
const read: Promise<JsonBody>[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const body = new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => readJsonBody(req, { maxBytes: 1000, deadline: performance.now() + 10_000 }));
    read.push(body);
    void body.then(() => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** Sends the head, then (after `gapMs`) part of a 100-byte body, then leaves. */
function cutOff(encoding: string, part: string, gapMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Encoding: ${encoding}\r\nContent-Length: 100\r\n\r\n`);
      setTimeout(() => socket.write(part, () => setTimeout(() => socket.destroy(), 1)), gapMs);
    });
    socket.on('error', () => {}).on('close', () => resolve());
  });
}

const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms))]);

it('a client that leaves before its body is read is "gone", not waited for', async () => {
  delayMs = 50;
  read.length = 0;
  for (const encoding of ['identity', 'gzip']) await cutOff(encoding, '{"a":', 0);
  const results = await within(Promise.all(read), 2_000);
  expect(results).toEqual([expect.objectContaining({ ok: false, status: null }), expect.objectContaining({ ok: false, status: null })]);
});
