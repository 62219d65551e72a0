import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/** Timed under load: 1,000 calls whose deadlines are checked, so it runs alone, after the rest. */
const LOAD_TEST = 'test/e2e/load.test.ts';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    // Integration tests start real servers on loopback; give them room on shared 2-core machines.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Vitest's default is one worker per core less one: a single worker on these 2-core machines.
    // Most test time is spent waiting on sockets and child processes, so two workers halve the
    // suite's wall time (434 s → 254 s measured) and keep CI under its 10 minutes.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, LOAD_TEST] } },
      // A later group order runs once every file of the earlier group is done.
      { extends: true, test: { name: 'load', include: [LOAD_TEST], sequence: { groupOrder: 1 } } },
    ],
  },
});
