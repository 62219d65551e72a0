import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers on loopback; give them room on shared 2-core machines.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
