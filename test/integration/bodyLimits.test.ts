/**
 * Oversize and slow request bodies against Deputy's real listener (src/README.md D48): raw sockets
 * on loopback, so the test sees what a client sees — when the answer comes, its headers, and when
 * the connection closes — while it is still sending. A short DEPUTY_BODY_TIMEOUT_SECONDS (1 s) and
 * a small cap keep it quick; every bound asserted is generous, the outcome is what is checked.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOL_SCOPES, setup, type Harness } from '../helpers/deputy.ts';
import { LINGER_MS } from '../../src/http/respond.ts';

const CAP = 16_384;
let h: Harness;
let token: string;
let host: string;

beforeAll(async () => {
  // A backend attempt may take up to the tool's 10 s, for the long call below.
  h = await setup({ env: { DEPUTY_MAX_BODY_BYTES: String(CAP), DEPUTY_BODY_TIMEOUT_SECONDS: '1', DEPUTY_BACKEND_TIMEOUT_MS: '10000' } });
  token = await h.agentToken(ALL_TOOL_SCOPES, 'body-limits');
  host = new URL(h.deputy.url).host;
});
afterAll(async () => {
  await h?.teardown();
});

const callTool = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'listDrafts', arguments: {} } });

interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Body bytes the client had written when the first byte of the answer arrived. */
  sentBeforeAnswer: number;
  /** Body bytes the client wrote in all. */
  sent: number;
  /** From the head's write to the connection's close. */
  closedAfterMs: number;
}

/**
 * Writes `head` (the blank line included) on a fresh connection, then hands the socket to `send`,
 * which writes the body its own way and stops when the connection goes; resolves once the
 * connection has closed, or rejects after `withinMs` if it has not.
 */
function exchange(head: string, send: (socket: Socket, count: (bytes: number) => void) => void = () => {}, withinMs = 20_000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(host.split(':')[1]), '127.0.0.1');
    const received: Buffer[] = [];
    let sent = 0;
    let sentBeforeAnswer = -1;
    const started = performance.now();
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection was still open after ${withinMs} ms`));
    }, withinMs);
    socket.on('data', (chunk: Buffer) => {
      if (sentBeforeAnswer === -1) sentBeforeAnswer = sent;
      received.push(chunk);
    });
    // A reset or a broken pipe while the client still writes is how a close can look from here.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(giveUp);
      const text = Buffer.concat(received).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: text.slice(end + 4), sentBeforeAnswer, sent, closedAfterMs: performance.now() - started });
    });
    socket.write(head, () => send(socket, (bytes) => (sent += bytes)));
  });
}

const head = (headers: Record<string, string | number>, path = '/mcp') =>
  `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n` + Object.entries({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('') + '\r\n';
const withToken = (headers: Record<string, string | number>) => head({ authorization: `Bearer ${token}`, ...headers });

/** Writes `chunk` again and again, as fast as the connection takes it, until it closes or `total` is written. */
function flood(chunk: Buffer, total = Infinity) {
  return (socket: Socket, count: (bytes: number) => void) => {
    let written = 0;
    const pump = () => {
      while (!socket.destroyed && written < total) {
        written += chunk.length;
        count(chunk.length);
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
  };
}

/** Writes `chunk` every `everyMs` until the connection closes. */
function trickle(chunk: Buffer | string, everyMs: number) {
  return (socket: Socket, count: (bytes: number) => void) => {
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      count(Buffer.byteLength(chunk));
      socket.write(chunk);
    }, everyMs);
    socket.once('close', () => clearInterval(timer));
  };
}

/** One chunk of a chunked body. */
const chunked = (data: Buffer) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
/** A zlib stream's header, then empty stored blocks (5 bytes each) that inflate to nothing, forever. */
const DEFLATE_HEADER = Buffer.from([0x78, 0x9c]);
const emptyBlocks = (n: number) => Buffer.concat(Array.from({ length: n }, () => Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])));

function expectRefusal(answer: Exchange, status: number, message: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers.connection).toBe('close');
  expect(JSON.parse(answer.body)).toEqual({ jsonrpc: '2.0', error: { code: -32600, message }, id: null });
}

describe.concurrent('a body over the cap is answered 413 at once, and the connection closed', () => {
  it('a declared Content-Length over the cap: 413 before any byte of the body is sent', async () => {
    const answer = await exchange(withToken({ 'content-length': 10 * CAP }));
    expectRefusal(answer, 413, 'Request body too large');
    expect(answer.sent).toBe(0);
    // Nothing more came: the connection was closed once the linger was over.
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(LINGER_MS - 100);
  });

  it('a chunked body that goes over the cap while the client keeps writing: 413 while it writes, then closed', async () => {
    const answer = await exchange(withToken({ 'transfer-encoding': 'chunked' }), flood(chunked(Buffer.alloc(4096, 'x'))));
    expectRefusal(answer, 413, 'Request body too large');
    expect(answer.sentBeforeAnswer).toBeGreaterThan(CAP);
    expect(answer.sent).toBeGreaterThan(answer.sentBeforeAnswer); // the client was still writing when it got the answer
  });

  it('a finite body far over the cap: the answer comes before the client has sent it all, and it still gets it', async () => {
    const total = 64 * 1024 * 1024;
    const answer = await exchange(withToken({ 'transfer-encoding': 'chunked' }), flood(chunked(Buffer.alloc(65_536, 'x')), total));
    expectRefusal(answer, 413, 'Request body too large');
    expect(answer.sentBeforeAnswer).toBeLessThan(total);
  });

  it('a compressed stream that inflates to nothing is refused once its compressed bytes pass the cap', async () => {
    const answer = await exchange(
      withToken({ 'transfer-encoding': 'chunked', 'content-encoding': 'deflate' }),
      (socket, count) => {
        socket.write(chunked(DEFLATE_HEADER));
        flood(chunked(emptyBlocks(200)))(socket, count);
      },
    );
    expectRefusal(answer, 413, 'Request body too large');
  });

  it('the checks before the body keep their order: the Host guard, then the token, then the cap', async () => {
    const wrongHost = await exchange(head({ 'content-length': 10 * CAP }).replace(`Host: ${host}`, 'Host: evil.example'));
    expect(wrongHost.status).toBe(403);
    expect(wrongHost.headers.connection).toBe('close');
    const noToken = await exchange(head({ 'content-length': 10 * CAP }));
    expect(noToken.status).toBe(401);
    expect(noToken.headers['www-authenticate']).toContain('resource_metadata=');
    expect(noToken.headers.connection).toBe('close');
  });
});

describe.concurrent('Expect: 100-continue', () => {
  it('a head refused on its own is answered without 100 Continue: the body is never asked for', async () => {
    const overCap = await exchange(withToken({ 'content-length': 10 * CAP, expect: '100-continue' }));
    expectRefusal(overCap, 413, 'Request body too large'); // the first answer, with no 100 before it
    const noToken = await exchange(head({ 'content-length': callTool.length, expect: '100-continue' }));
    expect(noToken.status).toBe(401);
  });

  it('a head that passes gets 100 Continue, then its body is read and served', async () => {
    const sessionId = await h.openSession(token);
    const answer = await exchange(withToken({ 'mcp-session-id': sessionId, 'content-length': callTool.length, expect: '100-continue', connection: 'close' }), (socket) => {
      socket.once('data', () => socket.write(callTool));
    });
    expect(answer.status).toBe(100);
    expect(answer.sentBeforeAnswer).toBe(0);
    expect(answer.body).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.body).toContain('"result"');
  });

  it('any other path is told to go on at once, as Node does by itself', async () => {
    const answer = await exchange(head({ 'content-length': 2, expect: '100-continue', connection: 'close' }, '/nowhere'), (socket) => {
      socket.once('data', () => socket.write('{}'));
    });
    expect(answer.status).toBe(100);
    expect(answer.body).toMatch(/^HTTP\/1\.1 404 /);
  });
});

describe.concurrent('a body that trickles is answered 408 at its deadline, and the connection closed', () => {
  it('an identity body, a byte every 100 ms', async () => {
    const answer = await exchange(withToken({ 'content-length': callTool.length }), trickle('{', 100));
    expectRefusal(answer, 408, 'Request body not received in time; send the whole request at once');
    expect(answer.sent).toBeLessThan(callTool.length);
    expect(answer.closedAfterMs).toBeLessThan(15_000);
  });

  it('a compressed stream of empty blocks under the cap, slowly', async () => {
    const answer = await exchange(withToken({ 'transfer-encoding': 'chunked', 'content-encoding': 'deflate' }), (socket, count) => {
      socket.write(chunked(DEFLATE_HEADER));
      trickle(chunked(emptyBlocks(1)), 50)(socket, count);
    });
    expectRefusal(answer, 408, 'Request body not received in time; send the whole request at once');
  });

  it('a head that trickles is closed by the listener (Node’s 408)', async () => {
    const answer = await exchange(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\n`, trickle('x-slow: y\r\n', 100));
    expect(answer.status).toBe(408);
    expect(answer.headers.connection).toBe('close');
    expect(answer.closedAfterMs).toBeLessThan(15_000);
  });
});

// Not concurrent: its delay fault on listDrafts would slow the other tests' calls.
describe('only receiving a request is bounded, not answering it', () => {
  it('a tool call whose answer takes longer than the listener’s request timeout is answered', async () => {
    // The listener's request timeout here: 1 s head + 1 s body + 1 s (src/http/app.ts, listenerOptions).
    h.backend.faults.set('listDrafts', { kind: 'delay', ms: 6_000, count: 1 });
    const sessionId = await h.openSession(token);
    // `Connection: close`, so the connection closes once the answer is complete.
    const answer = await exchange(withToken({ 'mcp-session-id': sessionId, 'content-length': callTool.length, connection: 'close' }), (socket) => socket.write(callTool));
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"result"');
    expect(answer.closedAfterMs).toBeGreaterThan(5_000); // well past the request timeout and Node's next check
  });

  it('requests whose bodies arrived in full, or that have none, keep the connection alive', async () => {
    const sessionId = await h.openSession(token);
    const socket = connect(Number(host.split(':')[1]), '127.0.0.1');
    const answers: string[] = [];
    socket.setEncoding('latin1').on('data', (text: string) => answers.push(text));
    const request = withToken({ 'mcp-session-id': sessionId, 'content-length': callTool.length }) + callTool;
    const answered = () => answers.join('').split('HTTP/1.1 200').length - 1;
    socket.write(request);
    await expect.poll(answered, { timeout: 10_000 }).toBe(1);
    socket.write(request);
    await expect.poll(answered, { timeout: 10_000 }).toBe(2);
    // Requests without a body, answered at once (Node hands them over before marking them complete), pipelined.
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(2));
    await expect.poll(answered, { timeout: 10_000 }).toBe(4);
    expect(answers.join('')).not.toMatch(/connection: close/i);
    socket.destroy();
  });
});
