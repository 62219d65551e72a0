/**
 * The floor: the least an MCP server on the SDK v2 can do for the peer kit's `getCustomer`, so
 * the kit's figures can be split into what its own client and the backend cost and what a server
 * adds (bench/README.md, "Side by side with the peer"). One tool, no authentication, no checks
 * beyond the SDK's own, JSON answers (no SSE), on plain node:http or stdio:
 *
 *   node --import tsx bench/floor-server.ts http [--port 3200] [--backend http://127.0.0.1:4010/v1]
 *   node --import tsx bench/floor-server.ts stdio [--backend …]
 *
 * Without `--backend` the answer is a constant customer record carrying the id asked for (the kit
 * checks that id): the MCP round trip alone. With `--backend` every call is one keep-alive
 * `GET /customers/{id}` (the kit's unthrottled `tok_bench` token) whose body is returned as is:
 * the least any server that calls the backend can add to a direct call.
 */
import { Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { port: { type: 'string', default: '0' }, backend: { type: 'string' } },
  allowPositionals: true,
});
const transportKind = positionals[0];
if (transportKind !== 'http' && transportKind !== 'stdio') throw new Error('usage: floor-server.ts http|stdio [--port N] [--backend URL]');

const TOOL = {
  name: 'getCustomer',
  description: 'Get one customer by id.',
  inputSchema: { type: 'object' as const, properties: { customerId: { type: 'string' } }, required: ['customerId'] },
};

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const backend = values.backend ? new URL(values.backend.replace(/\/?$/, '/')) : null;

/** The backend's body for one customer, as text (the kit's backend answers JSON). */
function fetchCustomer(base: URL, id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(`customers/${encodeURIComponent(id)}`, base);
    const req = http.request(url, { agent, headers: { authorization: 'Bearer tok_bench', accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function newServer(): Server {
  const server = new Server({ name: 'floor', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', () => ({ tools: [TOOL] }));
  server.setRequestHandler('tools/call', async (request) => {
    const asked = request.params.arguments?.customerId;
    const id = typeof asked === 'string' ? asked : '';
    const text = backend ? await fetchCustomer(backend, id) : JSON.stringify({ id, name: 'Constant Customer', email: 'constant@example.com', tier: 'gold' });
    return { content: [{ type: 'text', text }] };
  });
  return server;
}

if (transportKind === 'stdio') {
  await newServer().connect(new StdioServerTransport());
} else {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();

  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };

  /** Headers only: the parsed body goes to the SDK beside it, as Deputy does (src/README.md D43). */
  const webRequest = (req: IncomingMessage): Request => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method, headers });
  };

  const send = async (res: ServerResponse, response: Response): Promise<void> => {
    const body = Buffer.from(await response.arrayBuffer());
    const head: Record<string, string> = {};
    for (const [name, value] of response.headers) head[name] = value;
    res.writeHead(response.status, { ...head, 'content-length': String(body.length) }).end(body);
  };

  const listener = http.createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const sessionId = req.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      if (!transport) {
        if (typeof sessionId === 'string') return void res.writeHead(404).end();
        transport = new WebStandardStreamableHTTPServerTransport({
          enableJsonResponse: true,
          sessionIdGenerator: randomUUID,
          onsessioninitialized: (id) => void sessions.set(id, transport!),
          onsessionclosed: (id) => void sessions.delete(id),
        });
        await newServer().connect(transport);
      }
      await send(res, await transport.handleRequest(webRequest(req), body !== undefined ? { parsedBody: body } : {}));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  listener.keepAliveTimeout = 60_000;
  listener.listen(Number(values.port), '127.0.0.1', () => {
    const address = listener.address();
    process.stderr.write(`floor listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : values.port}/mcp\n`);
  });
}
