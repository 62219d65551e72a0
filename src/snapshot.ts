/**
 * The entry of Deputy's V8 startup snapshot (src/README.md D47). `npm run build` bundles this file
 * with everything it imports into dist/snapshot/deputy.js (scripts/build-snapshot.mjs) and runs
 * `node --build-snapshot` on it: that evaluates every module a `serve` or `stdio` start needs and
 * saves the heap, so `node --snapshot-blob dist/snapshot/deputy.blob serve` (scripts/start.sh)
 * starts with them evaluated instead of loading them. Importing a module here must not start
 * anything — no socket, timer, environment read or random byte at import — which holds for
 * Deputy's modules: each does its work when called. Never imported by the plain build.
 */
import { resolve } from 'node:path';
import v8 from 'node:v8';
import { mapStackTracesOnDemand } from './stackTraces.ts';
import { runServe, runStdio } from './serveCli.ts';
// serveCli imports these on demand; evaluated here, both are in the snapshot and that import
// finds them ready. The HTTP side costs `stdio` no idle memory measurable (bench/README.md,
// "A V8 startup snapshot, measured").
import './serveStdio.ts';
import './serve.ts';

/** Set by the bundle's prologue (scripts/build-snapshot.mjs): from now on, load from `main` as dist/src/main.js would. */
type Runtime = (main: string) => void;

/** The blob's path, from `--snapshot-blob FILE` or `--snapshot-blob=FILE` on node's command line or in NODE_OPTIONS. */
function blobPath(): string | null {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const at = args.findIndex((arg) => arg === '--snapshot-blob' || arg.startsWith('--snapshot-blob='));
  if (at < 0) return null;
  return args[at]!.includes('=') ? args[at]!.slice(args[at]!.indexOf('=') + 1) : (args[at + 1] ?? null);
}

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // The blob sits in dist/snapshot/; what the bundle leaves out is loaded from dist/src/ and
  // node_modules as the plain build loads it.
  const blob = blobPath();
  if (blob === null) {
    process.stderr.write('deputy: cannot tell where the startup snapshot is; start it as scripts/start.sh does (node --snapshot-blob dist/snapshot/deputy.blob serve)\n');
    process.exitCode = 2;
    return;
  }
  (globalThis as Record<symbol, Runtime>)[Symbol.for('deputy.snapshot.runtime')]!(resolve(blob, '../../src/main.js'));
  // As src/main.ts does first: the compile cache (Node ≥ 22.1) serves what still loads at run time.
  (process.getBuiltinModule?.('node:module') as { enableCompileCache?: () => unknown } | undefined)?.enableCompileCache?.();
  mapStackTracesOnDemand();
  const [name, ...rest] = process.argv.slice(1);
  const run = name === 'serve' ? runServe : name === 'stdio' ? runStdio : null;
  if (run === null) {
    process.stderr.write(`deputy: the startup snapshot runs serve and stdio; run other commands with node dist/src/main.js\n`);
    process.exitCode = 2;
    return;
  }
  run(rest).then(
    (code) => (process.exitCode = code),
    // As src/main.ts: bad flags and the like, one line, no stack trace.
    (error: unknown) => {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exitCode = 2;
    },
  );
});
