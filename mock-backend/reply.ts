/**
 * What a handler answers, before it becomes an HTTP response: a status, an optional JSON body and
 * its media type. Errors are RFC 9457 problem details with a stable `type` URI per kind of problem.
 */
export interface Reply {
  status: number;
  body?: unknown;
  /** `application/json` unless the body is a problem (`application/problem+json`). */
  contentType?: string;
  headers?: Record<string, string>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem+json reply: what a handler answers for any failure. */
export interface ProblemReply extends Reply {
  body: ProblemBody;
  contentType: typeof PROBLEM_CONTENT_TYPE;
}

/** A JSON reply whose status and body type are known where it is made (checked against the spec by pipeline.ts's types). */
export interface JsonReply<S extends number, B> extends Reply {
  status: S;
  body: B;
  contentType: 'application/json';
}
export const PROBLEM_TYPE_BASE = 'https://acme-press.example/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A problem+json reply. `slug` names the problem type (`not-found`, `conflict`, ...). */
export function problem(status: number, slug: string, detail: string, extensions: Record<string, unknown> = {}, headers?: Record<string, string>): ProblemReply {
  const body: ProblemBody = { type: `${PROBLEM_TYPE_BASE}${slug}`, title: TITLES[status] ?? 'Error', status, detail, ...extensions };
  return { status, body, contentType: PROBLEM_CONTENT_TYPE, ...(headers ? { headers } : {}) };
}

export const json = <S extends number, B>(status: S, body: B): JsonReply<S, B> => ({ status, body, contentType: 'application/json' });
export const noContent = (): Reply & { status: 204; body?: undefined } => ({ status: 204 });
export const notFound = (detail: string): ProblemReply => problem(404, 'not-found', detail);
export const conflict = (detail: string): ProblemReply => problem(409, 'conflict', detail);
export const unprocessable = (detail: string): ProblemReply => problem(422, 'unprocessable', detail);

/** Serialises a reply as a Fetch `Response` (what msw handlers return). */
export function toResponse(reply: Reply, extraHeaders: Record<string, string> = {}): Response {
  const headers = new Headers({ ...extraHeaders, ...reply.headers });
  if (reply.body === undefined) return new Response(null, { status: reply.status, headers });
  headers.set('Content-Type', reply.contentType ?? 'application/json');
  return new Response(JSON.stringify(reply.body), { status: reply.status, headers });
}
