/**
 * Failures below HTTP (connect, socket, timeouts, a malformed response) → one BackendError with
 * a stable code; a failure that carries a status is read as that response.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { backendError, BackendError, errorFromResponse, type BackendErrorCode } from './backendError.ts';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const MALFORMED_CODES = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'HPE_INVALID_CONSTANT', 'HPE_INVALID_HEADER_TOKEN']);

/** The `code` of a node or undici error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function codeForNetworkError(code: string | undefined): BackendErrorCode {
  if (code && TIMEOUT_CODES.has(code)) return 'BACKEND_TIMEOUT';
  if (code && MALFORMED_CODES.has(code)) return 'BACKEND_MALFORMED_RESPONSE';
  return 'BACKEND_CONNECTION';
}

export function networkError(operationId: string, err: unknown, attempts: number): BackendError {
  if (err instanceof BackendError) return err;
  const causeCode = errorCode(err);
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') {
    const headers = ((err as { headers?: IncomingHttpHeaders }).headers ?? {});
    return errorFromResponse(operationId, status, headers, undefined, attempts);
  }
  const code = codeForNetworkError(causeCode);
  return backendError(code, operationId, causeCode ? { causeCode, attempts, reason: causeCode } : { attempts });
}
