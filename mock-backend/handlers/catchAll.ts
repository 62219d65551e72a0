/**
 * The last handler: anything no other handler took (unknown path, or a method the path does not
 * have) is a 501 problem, so a missing mock fails loudly instead of passing through.
 */
import { http, type RequestHandler } from 'msw';
import { problem, toResponse } from '../reply.ts';

export function unmockedRoute(method: string, pathname: string): Response {
  return toResponse(
    problem(501, 'unmocked-route', `unmocked route: ${method.toUpperCase()} ${pathname}; the mock serves only the operations in openapi/admin-api.yaml (and /__mock/, /oauth/token, /.well-known/*)`),
  );
}

export const catchAllHandler: RequestHandler = http.all('*', ({ request }) => unmockedRoute(request.method, new URL(request.url).pathname));
