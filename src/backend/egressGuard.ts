/** The egress guard: the interceptor that keeps every dispatch on the backend origin. */
import type { Dispatcher } from 'undici';
import { backendError } from './backendError.ts';

/**
 * Refuses any dispatch that is not an origin-relative path on `origin`. The Pool is bound to
 * one origin already; this makes a wrong path (`//evil.example/x`, `http://…`) fail loudly on
 * every attempt instead of reaching the backend as an odd request target.
 */
export function egressGuard(origin: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function egressGuardInterceptor(opts, handler) {
      const named = opts.origin === undefined ? origin : safeOrigin(opts.origin);
      if (named !== origin || !opts.path.startsWith('/') || opts.path.startsWith('//')) {
        throw backendError('BACKEND_EGRESS_DENIED', 'dispatch', { reason: 'the request target is not on the backend origin' });
      }
      return dispatch(opts, handler);
    };
}

function safeOrigin(value: string | URL): string | undefined {
  try {
    return new URL(String(value)).origin;
  } catch {
    return undefined;
  }
}
