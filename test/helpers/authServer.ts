/** The dev authorization server alone on a loopback port, with a clock tests can move. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from '@mswjs/http-middleware';
import { createAuthServer, type AuthServer, type AuthServerOptions } from '../../mock-backend/auth/authServer.ts';

export interface RunningAuthServer {
  base: string;
  auth: AuthServer;
  clock: { ms: number };
  close(): Promise<void>;
}

/** Listens first so the issuer can name the real port, then attaches the msw handlers. */
export async function startAuthServer(overrides: Partial<AuthServerOptions> = {}): Promise<RunningAuthServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clock = { ms: Date.now() };
  const auth = await createAuthServer({ issuer: base, backendAudience: base, now: () => clock.ms, ...overrides });
  // http-middleware's typings resolve msw's CommonJS build; the handlers are the same at run time.
  server.on('request', createServer(...(auth.handlers as unknown as Parameters<typeof createServer>)));
  return { base, auth, clock, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
