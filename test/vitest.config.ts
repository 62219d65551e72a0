import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers on loopback; give them room on shared 2-core machines.
    testTimeout: 30_000,
    // Vitest's default is one worker per core less one: a single worker on these 2-core machines.
    // Most test time is spent waiting on sockets and child processes, so two workers halve the
    // suite's wall time (434 s → 254 s measured) and keep CI under its 10 minutes.
    maxWorkers: 2,
    hookTimeout: 30_000,
  },
});
