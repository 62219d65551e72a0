/**
 * A recording fake backend for any OpenAPI document: a real HTTP server on 127.0.0.1 port 0
 * that answers every operation of the spec with a body built from the spec itself, and records
 * every request it receives, so an end-to-end test can check what Deputy put on the wire.
 *
 * Answers are deterministic: the response's own `example`/`examples` if it has one, otherwise a
 * sample of its schema from `openapi-sampler` (Redocly's sampler, the one behind Redoc's sample
 * payloads; it follows local `$ref`s, `allOf` and 3.1 type lists). Each operation can be switched
 * to answer differently, to see what Deputy makes of a backend that does not keep its spec:
 *
 * - `offSpec`: the spec's sample with every `format: date` string made a date-time, every
 *   `format: date-time` string made a plain date and every `enum` value replaced by one outside
 *   the enum — values a strict client would reject, in the shape the spec declares;
 * - `wrongShape`: an array where the spec declares an object (an object where it declares an
 *   array);
 * - `unpicked`: the declared container, holding none of the declared properties;
 * - `empty`: 200 with no body at all;
 * - `{ status, body }`: exactly this (for specs that declare no response body).
 *
 * A request that matches no operation gets 501 "unmocked route" and is recorded with
 * `operationId: null`, so a path Deputy got wrong fails loudly.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sample } from 'openapi-sampler';

type JsonObject = Record<string, unknown>;

export type AnswerMode = 'spec' | 'offSpec' | 'wrongShape' | 'unpicked' | 'empty' | { status: number; body: unknown };

export interface RecordedRequest {
  /** The operation the request matched (of paths that differ only by `#fragment`, the one whose required query parameters it has). */
  operationId: string | null;
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  /** Query parameters; a repeated name becomes an array. */
  query: Record<string, string | string[]>;
  /** Lower-cased names, as Node parses them. */
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed by its content type (JSON or form); `undefined` when there was none. */
  body: unknown;
}

export interface SpecBackend {
  url: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** How the operation answers from now on ('spec' restores the default). */
  answer(operationId: string, mode: AnswerMode): void;
  /** What the operation answers in its default mode (the spec's example or sample). */
  specAnswer(operationId: string): unknown;
  /** Forgets the recorded requests and every answer switch. */
  reset(): void;
  close(): Promise<void>;
}

interface Route {
  operationId: string;
  method: string;
  pattern: RegExp;
  /** Literal characters in the template: more specific paths are tried first. */
  literal: number;
  /** Required query parameters: what tells apart operations whose paths differ only by `#fragment`. */
  requiredQuery: string[];
  response: { status: number; media: JsonObject | null };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolve(spec: JsonObject, node: unknown): unknown {
  let current = node;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string' && hops < 32; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith('#/')) throw new Error(`specBackend reads local $refs only, not ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), spec);
  }
  return current;
}

function routesOf(spec: JsonObject): Route[] {
  const routes: Route[] = [];
  for (const [template, rawItem] of Object.entries((spec.paths ?? {}) as JsonObject)) {
    const item = resolve(spec, rawItem);
    if (!isObject(item)) continue;
    // Some specs give one path several operations with a `#fragment`; the wire path has none.
    const path = template.replace(/#.*$/, '');
    const source = path
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op) || typeof op.operationId !== 'string') continue;
      routes.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        pattern: new RegExp(`^${source}$`),
        literal: path.replace(/\{[^}]+\}/g, '').length,
        requiredQuery: [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(op.parameters) ? op.parameters : [])]
          .map((p) => resolve(spec, p))
          .filter((p): p is JsonObject => isObject(p) && p.in === 'query' && p.required === true && typeof p.name === 'string')
          .map((p) => p.name as string),
        response: successResponse(spec, op),
      });
    }
  }
  return routes.sort((a, b) => b.literal - a.literal);
}

/** The first 2xx response and its JSON media type (null when it declares no JSON body). */
function successResponse(spec: JsonObject, op: JsonObject): Route['response'] {
  const responses = (op.responses ?? {}) as JsonObject;
  const code = Object.keys(responses).find((c) => /^2\d\d$/.test(c)) ?? (responses['2XX'] ? '2XX' : undefined);
  if (!code) return { status: 200, media: null };
  const response = resolve(spec, responses[code]);
  const content = isObject(response) && isObject(response.content) ? response.content : {};
  const type = Object.keys(content).find((t) => /json/i.test(t)) ?? Object.keys(content).find((t) => t === '*/*');
  const media = type ? resolve(spec, content[type]) : null;
  return { status: code === '2XX' ? 200 : Number(code), media: isObject(media) ? media : null };
}

function specBody(spec: JsonObject, media: JsonObject | null): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return exampleValue(spec, media, media.example);
  if (isObject(media.examples)) {
    const first = resolve(spec, Object.values(media.examples)[0]);
    if (isObject(first) && first.value !== undefined) return exampleValue(spec, media, first.value);
  }
  if (!isObject(media.schema)) return undefined;
  return sample(media.schema, { skipWriteOnly: true, quiet: true, maxSampleDepth: 6 }, spec);
}

/**
 * Some specs (Jira's, as published) give a JSON example as its serialized text: a string where
 * the schema declares an object or array. The backend would send the JSON itself.
 */
function exampleValue(spec: JsonObject, media: JsonObject, example: unknown): unknown {
  const schema = resolve(spec, media.schema);
  if (typeof example !== 'string' || (isObject(schema) && schema.type === 'string')) return example;
  try {
    return JSON.parse(example) as unknown;
  } catch {
    return example;
  }
}

/** Every schema the value may be checked against at this level: the schema and its composition members. */
function members(spec: JsonObject, schema: unknown, depth = 0): JsonObject[] {
  const s = resolve(spec, schema);
  if (!isObject(s) || depth > 8) return [];
  const nested = ['allOf', 'anyOf', 'oneOf'].flatMap((k) => (Array.isArray(s[k]) ? (s[k] as unknown[]).flatMap((m) => members(spec, m, depth + 1)) : []));
  return [s, ...nested];
}

/**
 * The sample with values a strict client would reject where the spec constrains them: dates and
 * date-times swapped, enum values replaced. Counts what it changed, so a test can tell a
 * meaningful off-spec answer from one that happened to change nothing.
 */
export function offSpecValue(spec: JsonObject, schema: unknown, value: unknown, changed = { count: 0 }, depth = 0): unknown {
  if (depth > 12) return value;
  const all = members(spec, schema);
  if (Array.isArray(value)) {
    const items = all.map((m) => m.items).filter((i) => i !== undefined);
    return value.map((v) => items.reduce<unknown>((acc, item) => offSpecValue(spec, item, acc, changed, depth + 1), v));
  }
  if (isObject(value)) {
    const out: JsonObject = { ...value };
    for (const key of Object.keys(out)) {
      for (const m of all) {
        const props = isObject(m.properties) ? m.properties : {};
        const sub = props[key] ?? (isObject(m.additionalProperties) ? m.additionalProperties : undefined);
        if (sub !== undefined) out[key] = offSpecValue(spec, sub, out[key], changed, depth + 1);
      }
    }
    return out;
  }
  for (const m of all) {
    if (Array.isArray(m.enum) && m.enum.includes(value)) {
      changed.count++;
      return typeof value === 'number' ? 987_654_321 : 'value-outside-the-enum';
    }
    if (typeof value === 'string' && m.format === 'date') {
      changed.count++;
      return '2026-11-30T12:34:56Z';
    }
    if (typeof value === 'string' && m.format === 'date-time') {
      changed.count++;
      return '2026-11-30';
    }
  }
  return value;
}

/** A body of the wrong shape: a list for an object, an object for a list. */
export const wrongShape = (body: unknown): unknown => (Array.isArray(body) ? { unexpected: body } : [body ?? {}]);
/** The same container, holding nothing the spec declares. */
export const unpicked = (body: unknown): unknown => (Array.isArray(body) ? [{ notInTheSpec: 1 }] : { notInTheSpec: 1 });

function answerFor(spec: JsonObject, route: Route, mode: AnswerMode): { status: number; body: unknown } {
  if (typeof mode === 'object') return mode;
  const status = route.response.status;
  const body = specBody(spec, route.response.media);
  switch (mode) {
    case 'spec':
      return { status, body };
    case 'offSpec':
      return { status, body: offSpecValue(spec, route.response.media?.schema, body) };
    case 'wrongShape':
      return { status, body: wrongShape(body) };
    case 'unpicked':
      return { status, body: unpicked(body) };
    case 'empty':
      return { status: 200, body: undefined };
  }
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return undefined;
  if (contentType?.includes('json')) return JSON.parse(raw);
  if (contentType?.includes('application/x-www-form-urlencoded')) return queryObject(new URLSearchParams(raw));
  return raw;
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

export async function startSpecBackend(spec: JsonObject): Promise<SpecBackend> {
  const routes = routesOf(spec);
  const modes = new Map<string, AnswerMode>();
  const requests: RecordedRequest[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://backend.invalid');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      // Of operations on one path (`/files/{id}` and `/files/{id}#get_shared_link`), the one whose
      // required query parameters are all present and most numerous; then the most specific path.
      const matches = routes
        .filter((r) => r.method === req.method && r.pattern.test(url.pathname) && r.requiredQuery.every((q) => url.searchParams.has(q)))
        .sort((a, b) => b.literal - a.literal || b.requiredQuery.length - a.requiredQuery.length);
      const route = matches[0];
      let body: unknown;
      try {
        body = parseBody(rawBody, req.headers['content-type']);
      } catch {
        body = rawBody;
      }
      requests.push({ operationId: route?.operationId ?? null, method: req.method ?? '', path: url.pathname, query: queryObject(url.searchParams), headers: req.headers, rawBody, body });
      if (!route) {
        res.writeHead(501, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `unmocked route ${req.method} ${url.pathname}` }));
        return;
      }
      const reply = answerFor(spec, route, modes.get(route.operationId) ?? 'spec');
      if (reply.body === undefined) {
        res.writeHead(reply.status).end();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(operationId, mode) {
      if (!routes.some((r) => r.operationId === operationId)) throw new Error(`the spec has no operation '${operationId}'`);
      if (mode === 'spec') modes.delete(operationId);
      else modes.set(operationId, mode);
    },
    specAnswer(operationId) {
      const route = routes.find((r) => r.operationId === operationId);
      if (!route) throw new Error(`the spec has no operation '${operationId}'`);
      return specBody(spec, route.response.media);
    },
    reset() {
      requests.length = 0;
      modes.clear();
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
