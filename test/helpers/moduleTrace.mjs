// Preload (`node --import ./test/helpers/moduleTrace.mjs …`) that records every module the
// process loads into MODULE_TRACE_FILE, one path or URL a line: ES modules through a load hook
// (it runs on the loader thread, so it appends as it goes), CommonJS modules from require's cache
// when the process exits. test/e2e/build.test.ts uses it to see what serving imports.
import { createRequire, register } from 'node:module';
import { appendFileSync } from 'node:fs';

const file = process.env.MODULE_TRACE_FILE;
if (!file) throw new Error('moduleTrace.mjs needs MODULE_TRACE_FILE');
const hook = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(file)}, url + '\\n');
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
const cache = createRequire(import.meta.url).cache;
// Node's own bundled dependencies (its undici behind global `fetch`/`Headers`, …) load through
// neither hook: `process.moduleLoadList` names them, written as `node:internal/deps/…`.
const bundled = () => process.moduleLoadList.filter((m) => m.startsWith('NativeModule internal/deps/')).map((m) => `node:${m.slice(13)}`);
process.on('exit', () => appendFileSync(file, `${[...Object.keys(cache), ...bundled()].join('\n')}\n`));
