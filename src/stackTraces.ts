/**
 * Stack traces that name the TypeScript file and line, paid for only when a trace is formatted
 * (src/README.md D45). `node --enable-source-maps` reads and keeps the map of every module as it
 * loads (10–18 MiB idle, bench/README.md "Cold start"), and Node cannot enable maps later for
 * modules already loaded; this reads a module's `.js.map` the first time one of its frames is
 * printed, through Node's own source map parser. Off when Node maps traces itself.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each generated file's map, or null when it has none (a dependency, a map that does not parse). */
const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  return map;
}

/** One frame as V8 prints it, its generated position replaced by the original one where a map has it. */
function frame(site: NodeJS.CallSite): string {
  const text = (site as { toString(): string }).toString(); // V8's own rendering of the frame
  const name = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  // Only Deputy's own build ships maps; dependencies (node_modules) are printed as they are.
  if (!name || line === null || column === null || name.includes('/node_modules/') || !name.endsWith('.js')) return text;
  const file = name.startsWith('file:') ? fileURLToPath(name) : name;
  const entry = mapOf(file)?.findEntry(line - 1, column - 1);
  if (!entry || !('originalSource' in entry) || !entry.originalSource) return text;
  const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
  // A function, so a `$` in the path is not read as a replacement pattern.
  return text.replace(`${name}:${line}:${column}`, () => `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
}

/**
 * The first line, as Node writes it: Node's own errors as their `toString` gives them
 * (`TypeError [ERR_…]: …`), anything else through `Error.prototype.toString`, which also names
 * a plain object given to `Error.captureStackTrace` "Error" rather than "[object Object]".
 */
function headerOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && code.startsWith('ERR_')) return String(error);
  return Error.prototype.toString.call(error);
}

/** Installs the mapping for every stack trace formatted from now on; nothing when Node already maps them. */
export function mapStackTracesOnDemand(): void {
  // With --enable-source-maps (NODE_OPTIONS), Node's own mapping stays in charge.
  if (process.sourceMapsEnabled) return;
  Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]) => {
    let header: string;
    try {
      header = headerOf(error);
    } catch {
      header = 'Error';
    }
    // A trace is printed when something already went wrong: mapping must never make it worse.
    const line = (site: NodeJS.CallSite) => {
      try {
        return frame(site);
      } catch {
        return (site as { toString(): string }).toString();
      }
    };
    return `${header}${sites.map((site) => `\n    at ${line(site)}`).join('')}`;
  };
}
