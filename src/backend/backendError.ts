/**
 * The one error type at the backend boundary. Every failure of a backend call (the token, the
 * request, the network, the response) becomes a BackendError with a stable `code`; the tools
 * layer maps codes to model-facing text in exactly one place.
 *
 * Nothing here ever holds a token, a request URL with its query, or the backend's raw body:
 * `message` is built from the operationId, the status and our own words only.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseRateLimit, retryAfterSeconds, type RateLimitInfo } from './responseHeaders.ts';

export const BACKEND_ERROR_CODES = [
  /** A tool argument cannot be put into a request safely (traversal, control characters, wrong shape). No request was made. */
  'INVALID_ARGUMENT',
  'BACKEND_BAD_REQUEST',
  'BACKEND_UNAUTHORIZED',
  'BACKEND_FORBIDDEN',
  'BACKEND_NOT_FOUND',
  'BACKEND_CONFLICT',
  'BACKEND_UNPROCESSABLE',
  'BACKEND_RATE_LIMITED',
  'BACKEND_UNAVAILABLE',
  /** A status the operation does not declare and no rule above covers (3xx, 405, 415, an undeclared 2xx…). */
  'BACKEND_UNEXPECTED_STATUS',
  'BACKEND_TIMEOUT',
  'BACKEND_CONNECTION',
  'BACKEND_ABORTED',
  'BACKEND_MALFORMED_RESPONSE',
  'BACKEND_RESPONSE_TOO_LARGE',
  'BACKEND_EGRESS_DENIED',
  'BACKEND_TOKEN_UNAVAILABLE',
] as const;

export type BackendErrorCode = (typeof BACKEND_ERROR_CODES)[number];

/** Problem details kept for operators. LOG ONLY, never to the client: backend text is untrusted. */
export interface ProblemSummary {
  type?: string;
  title?: string;
  detail?: string;
}

export interface BackendErrorInit {
  code: BackendErrorCode;
  operationId: string;
  message: string;
  status?: number;
  retryAfterSeconds?: number;
  fields?: readonly string[];
  missingScopes?: readonly string[];
  argument?: string;
  rateLimit?: RateLimitInfo;
  causeCode?: string;
  attempts?: number;
  problem?: ProblemSummary;
}

/** Codes that mean Deputy's own setup is wrong, not the model's request: the model gets a generic message. */
const OPERATOR_CODES: ReadonlySet<BackendErrorCode> = new Set([
  'BACKEND_TOKEN_UNAVAILABLE',
  'BACKEND_UNAUTHORIZED',
  'BACKEND_FORBIDDEN',
  'BACKEND_EGRESS_DENIED',
  'BACKEND_UNEXPECTED_STATUS',
]);

export class BackendError extends Error {
  override readonly name = 'BackendError';
  readonly code: BackendErrorCode;
  readonly operationId: string;
  /** The backend's HTTP status, when it answered. */
  readonly status?: number;
  /** 429 (and 503 with `Retry-After`): how long the backend asks callers to wait. */
  readonly retryAfterSeconds?: number;
  /** 400/422: the invalid fields the backend named (problem+json `errors[].field`), names only. */
  readonly fields?: readonly string[];
  /** 403: the scopes the backend said the token lacks (problem+json `missingScopes`). */
  readonly missingScopes?: readonly string[];
  /** INVALID_ARGUMENT: the tool argument (its name, never its value) that was refused. */
  readonly argument?: string;
  readonly rateLimit?: RateLimitInfo;
  /** The low-level error code behind a network failure (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`…). */
  readonly causeCode?: string;
  /** How many HTTP attempts were made, retries included. */
  readonly attempts?: number;
  /**
   * The backend's problem+json `type`/`title`/`detail`, each cut to 200 characters.
   * LOG ONLY, NEVER TO THE CLIENT: it is backend text and may echo input or internals.
   */
  readonly problem?: ProblemSummary;

  constructor(init: BackendErrorInit) {
    super(init.message);
    this.code = init.code;
    this.operationId = init.operationId;
    if (init.status !== undefined) this.status = init.status;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
    if (init.fields !== undefined) this.fields = init.fields;
    if (init.missingScopes !== undefined) this.missingScopes = init.missingScopes;
    if (init.argument !== undefined) this.argument = init.argument;
    if (init.rateLimit !== undefined) this.rateLimit = init.rateLimit;
    if (init.causeCode !== undefined) this.causeCode = init.causeCode;
    if (init.attempts !== undefined) this.attempts = init.attempts;
    if (init.problem !== undefined) this.problem = init.problem;
  }

  /** True when the fix is the operator's (credentials, configuration), not the model's. */
  get operatorProblem(): boolean {
    return OPERATOR_CODES.has(this.code);
  }

  /** For structured logs. Holds no secret by construction; the stack is left out on purpose. */
  toJSON(): Record<string, unknown> {
    const { name, code, operationId, message, status, retryAfterSeconds, fields, missingScopes, argument, rateLimit, causeCode, attempts, problem } = this;
    return { name, code, operationId, message, status, retryAfterSeconds, fields, missingScopes, argument, rateLimit, causeCode, attempts, problem };
  }
}

export function isBackendError(err: unknown): err is BackendError {
  return err instanceof BackendError;
}

// ---------------------------------------------------------------------------------------------
// Status → code

/** The one status → code table (RFC 9110 §15). */
export function codeForStatus(status: number): BackendErrorCode {
  switch (status) {
    case 400:
    case 413:
    case 414:
    case 431:
      return 'BACKEND_BAD_REQUEST';
    case 401:
      return 'BACKEND_UNAUTHORIZED';
    case 403:
      return 'BACKEND_FORBIDDEN';
    case 404:
    case 410:
      return 'BACKEND_NOT_FOUND';
    case 409:
    case 412:
      return 'BACKEND_CONFLICT';
    case 422:
      return 'BACKEND_UNPROCESSABLE';
    case 429:
      return 'BACKEND_RATE_LIMITED';
    case 408:
    case 504:
      return 'BACKEND_TIMEOUT';
    default:
      return status >= 500 && status <= 599 ? 'BACKEND_UNAVAILABLE' : 'BACKEND_UNEXPECTED_STATUS';
  }
}

const WHAT: Record<BackendErrorCode, string> = {
  INVALID_ARGUMENT: 'an argument cannot be sent safely',
  BACKEND_BAD_REQUEST: 'the backend rejected the request as invalid',
  BACKEND_UNAUTHORIZED: "the backend refused Deputy's credential",
  BACKEND_FORBIDDEN: "the backend says Deputy's credential lacks permission",
  BACKEND_NOT_FOUND: 'the backend found no such resource',
  BACKEND_CONFLICT: 'the resource is not in a state that allows this operation',
  BACKEND_UNPROCESSABLE: 'the backend could not process the request',
  BACKEND_RATE_LIMITED: 'the backend is rate limiting this operation',
  BACKEND_UNAVAILABLE: 'the backend is unavailable',
  BACKEND_UNEXPECTED_STATUS: 'the backend answered with a status this operation does not declare',
  BACKEND_TIMEOUT: 'the backend did not answer in time',
  BACKEND_CONNECTION: 'the backend could not be reached',
  BACKEND_ABORTED: 'the call was cancelled',
  BACKEND_MALFORMED_RESPONSE: 'the backend sent a response that is not valid JSON',
  BACKEND_RESPONSE_TOO_LARGE: 'the backend response exceeds the size limit',
  BACKEND_EGRESS_DENIED: 'the request would leave the configured backend origin',
  BACKEND_TOKEN_UNAVAILABLE: 'no backend token could be obtained',
};

/** `${operationId}: ${what happened}` — the shape of every message. */
export function describeCode(code: BackendErrorCode): string {
  return WHAT[code];
}

const LOG_TEXT_MAX = 200;
const FIELD_NAME = /^[A-Za-z0-9_.$@[\]/-]{1,100}$/;
const SCOPE_NAME = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/; // RFC 6749 §3.3 scope-token

/** Untrusted text for logs: control characters removed, cut to 200 characters. */
export function logText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return clean.length > LOG_TEXT_MAX ? `${clean.slice(0, LOG_TEXT_MAX - 1)}…` : clean;
}

/**
 * `value` with every credential the request carried replaced, as sent and percent-encoded: a
 * backend that quotes the request in its error body must not put a key into Deputy's logs.
 */
function withoutSecrets(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value !== 'string' || secrets.length === 0) return value;
  let out = value;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])) {
      if (form !== '') out = out.split(form).join('[REDACTED]');
    }
  }
  return out;
}

function namesFrom(list: unknown, pick: (item: unknown) => unknown, valid: RegExp): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const names = new Set<string>();
  for (const item of list.slice(0, 50)) {
    const name = pick(item);
    if (typeof name === 'string' && valid.test(name)) names.add(name);
  }
  return names.size > 0 ? [...names].slice(0, 20) : undefined;
}

/**
 * The BackendError for a non-success response. `problem` is the parsed body if it was JSON
 * (problem+json, RFC 9457); only field names, scope names and truncated title/detail are kept.
 */
export function errorFromResponse(
  operationId: string,
  status: number,
  headers: IncomingHttpHeaders,
  problem: unknown,
  attempts?: number,
  now: number = Date.now(),
  /** The credential values the request carried: scrubbed from the kept problem text. */
  secrets: readonly string[] = [],
): BackendError {
  const code = codeForStatus(status);
  const init: BackendErrorInit = { code, operationId, status, message: '' };
  if (attempts !== undefined) init.attempts = attempts;
  const rateLimit = parseRateLimit(headers);
  if (rateLimit) init.rateLimit = rateLimit;
  if (status === 429 || status === 503) {
    const wait = retryAfterSeconds(headers, now);
    if (wait !== undefined) init.retryAfterSeconds = wait;
  }
  if (problem !== null && typeof problem === 'object' && !Array.isArray(problem)) {
    const p = problem as Record<string, unknown>;
    const summary: ProblemSummary = {};
    const type = logText(withoutSecrets(p.type, secrets));
    const title = logText(withoutSecrets(p.title, secrets));
    const detail = logText(withoutSecrets(p.detail, secrets));
    if (type) summary.type = type;
    if (title) summary.title = title;
    if (detail) summary.detail = detail;
    if (Object.keys(summary).length > 0) init.problem = summary;
    if (code === 'BACKEND_BAD_REQUEST' || code === 'BACKEND_UNPROCESSABLE') {
      const fields = namesFrom(p.errors, (e) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>).field : undefined), FIELD_NAME);
      if (fields) init.fields = fields.filter((f) => !secrets.includes(f));
    }
    if (code === 'BACKEND_FORBIDDEN') {
      const missing = namesFrom(p.missingScopes, (s) => s, SCOPE_NAME);
      if (missing) init.missingScopes = missing.filter((m) => !secrets.includes(m));
    }
  }
  let message = `${operationId}: ${WHAT[code]} (HTTP ${status})`;
  if (init.fields) message += `; fields: ${init.fields.join(', ')}`;
  if (init.retryAfterSeconds !== undefined) message += `; retry after ${init.retryAfterSeconds} s`;
  init.message = message;
  return new BackendError(init);
}

/** A BackendError without an HTTP status (network, timeout, local refusal). */
export function backendError(
  code: BackendErrorCode,
  operationId: string,
  extra: Omit<BackendErrorInit, 'code' | 'operationId' | 'message'> & { reason?: string } = {},
): BackendError {
  const { reason, ...rest } = extra;
  const message = `${operationId}: ${WHAT[code]}${reason ? ` (${reason})` : ''}`;
  return new BackendError({ ...rest, code, operationId, message });
}
