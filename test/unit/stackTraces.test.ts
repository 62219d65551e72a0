/**
 * src/stackTraces.ts (src/README.md D45): a trace's first line is the one Node itself would
 * write, whatever the stack was captured on. Installed for a test only; Vitest's own formatting
 * is put back after each.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { mapStackTracesOnDemand } from '../../src/stackTraces.ts';

let saved: unknown;
/** Node's own formatting: no override at all. */
const nodeFormatting = () => Reflect.deleteProperty(Error, 'prepareStackTrace');
beforeEach(() => {
  saved = Reflect.get(Error, 'prepareStackTrace');
  nodeFormatting();
});
afterEach(() => {
  Reflect.set(Error, 'prepareStackTrace', saved);
});

/** The first line of `make()`'s stack: with Node's own formatting, then with the mapping installed. */
function firstLines(make: () => { stack?: string }): [string | undefined, string | undefined] {
  const plain = make().stack?.split('\n')[0];
  mapStackTracesOnDemand();
  const mapped = make().stack?.split('\n')[0];
  nodeFormatting();
  return [plain, mapped];
}

const captured = (target: object) => () => {
  Error.captureStackTrace(target);
  return target as { stack?: string };
};

it.each([
  ['an Error', () => new TypeError('bad input')],
  ['one of Node\'s own errors, with its code', () => { try { Buffer.alloc(-1); } catch (error) { return error as Error; } throw new Error('unreachable'); }],
  ['a plain object given to Error.captureStackTrace', () => captured({})()],
  ['a plain object with a name and a message', () => captured({ name: 'Timeout', message: 'took too long' })()],
])('%s: the first line is the one Node writes', (_name, make) => {
  expect(process.sourceMapsEnabled).toBe(false);
  const [plain, mapped] = firstLines(make);
  expect(plain).toBeDefined();
  expect(mapped).toBe(plain);
});
