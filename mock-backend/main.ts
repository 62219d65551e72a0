/**
 * `npm run mock-backend`: the mock admin backend alone, for curl and manual testing.
 *
 *   MOCK_BACKEND_PORT                 default 4010
 *   MOCK_BACKEND_HOST                 default 127.0.0.1
 *   MOCK_BACKEND_RATE_LIMIT           requests per window per token, default 60
 *   MOCK_BACKEND_RATE_WINDOW_SECONDS  default 10
 *
 * Prints one line with the URL when ready; stops cleanly on SIGINT/SIGTERM.
 */
import { DEFAULT_RATE_LIMIT } from './rateLimit.ts';
import { startMockBackend } from './server.ts';

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`mock-backend: ${name} must be an integer >= ${min}, got '${raw}'\n`);
    process.exit(2);
  }
  return value;
}

const backend = await startMockBackend({
  port: intFromEnv('MOCK_BACKEND_PORT', 4010, 0),
  host: process.env['MOCK_BACKEND_HOST'] || '127.0.0.1',
  rateLimit: {
    limit: intFromEnv('MOCK_BACKEND_RATE_LIMIT', DEFAULT_RATE_LIMIT.limit, 1),
    windowSeconds: intFromEnv('MOCK_BACKEND_RATE_WINDOW_SECONDS', DEFAULT_RATE_LIMIT.windowSeconds, 1),
  },
}).catch((err: unknown) => {
  const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
  const reason = inUse ? `port ${(err as { port?: number }).port ?? '?'} is already in use — set MOCK_BACKEND_PORT to a free port` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`mock-backend: could not start: ${reason}\n`);
  process.exit(1);
});

process.stdout.write(`mock-backend listening on ${backend.url}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    backend.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
