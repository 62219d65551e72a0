/**
 * Control endpoints under `/__mock/`, so curl and out-of-process tests can drive the mock.
 * DEV ONLY: unauthenticated, answered only to loopback clients (app.ts), never logged.
 *
 *   GET    /__mock/health                  {"ok":true}
 *   GET    /__mock/faults                  armed faults by operationId
 *   PUT    /__mock/faults/{operationId}    arm one (body: a fault, see faults.ts)
 *   DELETE /__mock/faults/{operationId}    clear one
 *   DELETE /__mock/faults                  clear all
 *   GET    /__mock/requests[?operationId=] the request log
 *   DELETE /__mock/requests                clear the request log
 *   POST   /__mock/reset                   seed data, log, faults, rate limits, idempotency keys
 */
import { http, HttpResponse, type RequestHandler } from 'msw';
import { faultSchema, type FaultInjector } from '../faults.ts';
import { problem, toResponse } from '../reply.ts';
import type { RequestLog } from '../requestLog.ts';
import type { ApiSpec } from '../spec.ts';

export interface ControlDeps {
  spec: ApiSpec;
  faults: FaultInjector;
  requestLog: RequestLog;
  reset(): void;
}

export const CONTROL_PREFIX = '/__mock';

export function controlHandlers(deps: ControlDeps): RequestHandler[] {
  const unknownOperation = (operationId: string) =>
    toResponse(problem(404, 'unknown-operation', `no operation '${operationId}' in openapi/admin-api.yaml; known: ${deps.spec.operations.map((o) => o.operationId).join(', ')}`));
  const known = (operationId: string) => deps.spec.operations.some((o) => o.operationId === operationId);

  return [
    http.get(`${CONTROL_PREFIX}/health`, () => HttpResponse.json({ ok: true })),
    http.get(`${CONTROL_PREFIX}/faults`, () => HttpResponse.json({ faults: deps.faults.list() })),
    http.put(`${CONTROL_PREFIX}/faults/:operationId`, async ({ request, params }) => {
      const operationId = String(params['operationId']);
      if (!known(operationId)) return unknownOperation(operationId);
      let raw: unknown;
      try {
        raw = await request.json();
      } catch {
        return toResponse(problem(400, 'validation', 'the body must be a JSON fault', { errors: [{ field: 'body', message: 'is not valid JSON' }] }));
      }
      const parsed = faultSchema.safeParse(raw);
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => ({ field: ['body', ...i.path.map(String)].join('.'), message: i.message }));
        return toResponse(problem(400, 'validation', 'the body is not a valid fault', { errors }));
      }
      deps.faults.set(operationId, parsed.data);
      return HttpResponse.json({ operationId, fault: parsed.data });
    }),
    http.delete(`${CONTROL_PREFIX}/faults/:operationId`, ({ params }) => {
      const operationId = String(params['operationId']);
      if (!known(operationId)) return unknownOperation(operationId);
      deps.faults.clear(operationId);
      return new HttpResponse(null, { status: 204 });
    }),
    http.delete(`${CONTROL_PREFIX}/faults`, () => {
      deps.faults.clear();
      return new HttpResponse(null, { status: 204 });
    }),
    http.get(`${CONTROL_PREFIX}/requests`, ({ request }) => {
      const operationId = new URL(request.url).searchParams.get('operationId');
      const entries = operationId === null ? deps.requestLog.entries() : deps.requestLog.forOperation(operationId);
      return HttpResponse.json({ entries });
    }),
    http.delete(`${CONTROL_PREFIX}/requests`, () => {
      deps.requestLog.clear();
      return new HttpResponse(null, { status: 204 });
    }),
    http.post(`${CONTROL_PREFIX}/reset`, () => {
      deps.reset();
      return new HttpResponse(null, { status: 204 });
    }),
  ];
}
