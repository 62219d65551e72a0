/**
 * DNS-rebinding defence (MCP transport spec, 2025-11-25, "Security Warning"): a browser page
 * on another origin must not be able to reach the server. The SDK checks `Host`; this also
 * checks `Origin`, which browsers always send on cross-origin requests.
 */
import type { IncomingMessage } from 'node:http';
import type { Refusal } from './respond.ts';

export interface OriginPolicy {
  /** Exact origins allowed, e.g. `http://127.0.0.1:3000`. Requests without `Origin` (non-browser clients) pass. */
  allowedOrigins: readonly string[];
  /** Exact `Host` header values allowed (host[:port]); empty = any. */
  allowedHosts: readonly string[];
}

/** The check, as the MCP endpoints (app.ts) and the Express routes (expressApp.ts) both run it: a refusal, or null to go on. */
export function originGuard(policy: OriginPolicy): (req: IncomingMessage) => Refusal | null {
  const origins = new Set(policy.allowedOrigins.map((origin) => origin.toLowerCase()));
  const hosts = new Set(policy.allowedHosts.map((host) => host.toLowerCase()));
  return (req) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin.toLowerCase())) {
      return { status: 403, body: { error: 'forbidden_origin', error_description: 'This Origin is not allowed to use this server' } };
    }
    const host = req.headers.host;
    if (hosts.size > 0 && (host === undefined || !hosts.has(host.toLowerCase()))) {
      return { status: 403, body: { error: 'forbidden_host', error_description: 'This Host is not served here' } };
    }
    return null;
  };
}
