// Builds Deputy's V8 startup snapshot (src/README.md D47), run by `npm run build` after tsc:
//   dist/snapshot/deputy.js (+ .map)  src/snapshot.ts and what it imports, one CommonJS script
//   dist/snapshot/deputy.blob         the heap after evaluating it, for `node --snapshot-blob`
//   dist/snapshot/deputy.blob.node    the Node version and machine that built it (scripts/start.sh)
// A blob starts only on the Node binary that built it (on Node 20, also only with the same V8
// flags): the build clears NODE_OPTIONS, and scripts/start.sh falls back to dist/src/main.js.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { machine } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/snapshot');

// Loaded on first use, not at start (src/README.md D40, D44, D45): left out of the bundle, so
// they stay out of the blob and of an idle process's memory, and load from node_modules as the
// plain build loads them. The code generator is loaded from dist/src/ for `serve --spec`. Of jose,
// only `jose/jwt/decode` is in the bundle: the over-privilege check imports it at start (D45).
const onFirstUse = /^(undici|jose|jose\/(jwt\/verify|jwks\/remote|errors)|prom-client|express|ioredis|yaml|@secretlint\/.+)$/;

// Built-ins Node 20 cannot evaluate while building a snapshot (node:http throws there) or warns
// about: the bundle gets a stand-in whose functions load the real module when first called.
const atRunTime = ['http', 'https', 'module'];

const deputyModules = {
  name: 'deputy-snapshot',
  setup(b) {
    b.onResolve({ filter: onFirstUse }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /\/codegen\/cli\.ts$/ }, () => ({ path: './codegen/cli.js', external: true }));
    // createRequire(import.meta.url)('x') is opaque to a bundler: a plain require of the same
    // file lets esbuild include it (src/state/limiters.ts loads two files of rate-limiter-flexible).
    b.onLoad({ filter: /src[\\/]state[\\/]limiters\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const line = 'const require = createRequire(import.meta.url);';
      if (!text.includes(line)) throw new Error(`${args.path} no longer has "${line}": update scripts/build-snapshot.mjs`);
      return { contents: text.replace(line, ''), loader: 'ts' };
    });
  },
};

// The whole bundle runs inside this function (its names prefixed, not to clash with the bundle's), so its `require` is ours: while the snapshot is
// built, Node's own (built-ins only), with stand-ins for `atRunTime`; in the started process, one
// resolving from dist/src/main.js, set by src/snapshot.ts. `import.meta.url` becomes that file's URL.
const prologue = `(function (__deputyBuildRequire) {
let __deputyRuntimeRequire = null;
let __deputyImportMetaUrl;
globalThis[Symbol.for('deputy.snapshot.runtime')] = (main) => {
  __deputyRuntimeRequire = process.getBuiltinModule('node:module').createRequire(main);
  __deputyImportMetaUrl = process.getBuiltinModule('node:url').pathToFileURL(main).href;
};
const __deputyAtRunTime = new Set(${JSON.stringify(atRunTime)});
const __deputyStandIn = (id) => {
  let real;
  const load = () => (real ??= __deputyRuntimeRequire(id));
  return new Proxy({}, {
    get: (_, key) => (__deputyRuntimeRequire ? load()[key] : (...args) => load()[key](...args)),
    ownKeys: () => { throw new Error(\`\${id} is evaluated at run time only (scripts/build-snapshot.mjs)\`); },
  });
};
const require = (id) => (__deputyRuntimeRequire ? __deputyRuntimeRequire(id) : __deputyAtRunTime.has(id.replace(/^node:/, '')) ? __deputyStandIn(id) : __deputyBuildRequire(id));
`;

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src/snapshot.ts')],
  outfile: join(out, 'deputy.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Maps name the sources, read only when a trace is printed (src/stackTraces.ts); no copy of them.
  sourcemap: true,
  sourcesContent: false,
  // import() of what is left out becomes require(): a snapshot cannot import() at run time.
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__deputyImportMetaUrl' },
  banner: { js: prologue },
  footer: { js: '})(require);' },
  plugins: [deputyModules],
  logLevel: 'warning',
});

execFileSync(process.execPath, ['--snapshot-blob', join(out, 'deputy.blob'), '--build-snapshot', join(out, 'deputy.js')], {
  cwd: root,
  // No NODE_OPTIONS (its V8 flags would be the blob's) and none of the build machine's
  // environment: nothing may read it at import, and if something did, no value of it is kept.
  env: { PATH: process.env.PATH ?? '' },
  // Node warns that worker_threads is "not yet fully verified" in a snapshot: pino reads only its
  // isMainThread at import, true both here and in the started process.
  stdio: ['ignore', 'inherit', 'pipe'],
});
// What scripts/start.sh compares with `node --version` and `uname -m` before using the blob.
writeFileSync(join(out, 'deputy.blob.node'), `${process.version} ${machine()}\n`);
