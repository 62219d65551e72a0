// `generate` and `lint` commands (dispatched by src/main.ts): the only part of codegen that
// touches files and the terminal. Errors are printed one per line in the documented format.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { blastRadiusReport } from './blastRadius.ts';
import { TOOLS_START, TOOLS_END, withToolsSection } from './readmeTools.ts';
import { compileTools, type CompileResult } from './compile.ts';
import { emitAll, type SourceLabels } from './emit.ts';
import { formatError, formatWarning, type GenerationError } from './errors.ts';
import { loadSpec } from './loadSpec.ts';
import { isObject, type JsonObject } from './schemaView.ts';
import { startTypesWorker } from './typesWorker.ts';

export const DEFAULTS = { spec: 'openapi/admin-api.yaml', tools: 'openapi/tools.yaml', out: 'src/generated', readme: 'README.md' } as const;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** A path as shown to people and written into headers: relative to cwd, forward slashes. */
function label(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return (rel === '' ? '.' : rel).split(sep).join('/');
}

export interface Loaded {
  spec: JsonObject;
  /** Every file the spec was read from (the spec itself first). */
  specFiles: string[];
  result: CompileResult;
  labels: SourceLabels;
}

/**
 * Loads the spec and the manifest and compiles the tools. `onLoaded` runs after both are read and
 * before compiling (generate uses it to start emitting whole-spec types in parallel).
 */
export async function loadAndCompile(
  specPath: string,
  toolsPath: string,
  io: Io,
  onLoaded?: (spec: JsonObject, manifest: unknown) => void,
): Promise<Loaded | null> {
  const labels = { spec: label(specPath), manifest: label(toolsPath) };
  const print = (errors: GenerationError[]) => {
    for (const e of errors) io.err(formatError(e, labels.manifest));
  };
  const loaded = await loadSpec(specPath);
  if (!loaded.ok) {
    // A spec that cannot be loaded is the spec's fault: name it, not the manifest.
    for (const e of loaded.errors) io.err(formatError(e, labels.spec));
    return null;
  }
  let manifest: unknown;
  try {
    manifest = parseYaml(await readFile(toolsPath, 'utf8'));
  } catch (err) {
    const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `the manifest ${labels.manifest} does not exist` : `the manifest is not valid YAML: ${(err as Error).message.split('\n')[0]}`;
    print([{ code: 'MANIFEST_INVALID', tool: null, manifestPath: null, specPath: null, message, fix: 'pass an existing tools.yaml with --tools' }]);
    return null;
  }
  onLoaded?.(loaded.document, manifest);
  const result = compileTools({ spec: loaded.document, manifest });
  for (const w of result.warnings) io.err(formatWarning(w, labels.manifest));
  print(result.errors);
  return { spec: loaded.document, specFiles: loaded.files, result, labels };
}

function summarizeErrors(result: CompileResult, io: Io): void {
  const n = result.errors.length;
  io.err(`${n} error${n === 1 ? '' : 's'}: nothing generated`);
}

export async function runGenerate(argv: string[], io: Io = consoleIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      spec: { type: 'string', default: DEFAULTS.spec },
      tools: { type: 'string', default: DEFAULTS.tools },
      out: { type: 'string', default: DEFAULTS.out },
      check: { type: 'boolean', default: false },
      readme: { type: 'string' },
    },
    strict: true,
  });
  // The tool table in the README follows the repository's own surface only: a trial run with
  // --out elsewhere leaves it alone unless --readme names a file.
  const readmePath = values.readme ?? (values.out === DEFAULTS.out ? DEFAULTS.readme : null);
  // The worker starts loading openapi-typescript now, while this thread loads and compiles. With
  // `apiTypes: all` it also starts on the whole spec's types before the tools are compiled (the
  // result is dropped if compiling fails); with `exposed` it needs the compiled tools first.
  const types = startTypesWorker();
  let early: { spec: JsonObject; text: Promise<string> } | null = null;
  const startEarly = (spec: JsonObject, manifest: unknown) => {
    if (isObject(manifest) && (manifest.apiTypes ?? 'all') === 'all') {
      early = { spec, text: types.emit(spec) };
      early.text.catch(() => {}); // awaited (and reported) below, if still wanted
    }
  };
  let files: Map<string, string>;
  let loaded: Loaded | null;
  try {
    loaded = await loadAndCompile(values.spec, values.tools, io, startEarly);
    if (loaded === null) return 1;
    if (loaded.result.errors.length > 0) {
      summarizeErrors(loaded.result, io);
      return 1;
    }
    const started = early as { spec: JsonObject; text: Promise<string> } | null;
    try {
      files = await emitAll(loaded.spec, loaded.result.tools, loaded.result.profile, loaded.labels, loaded.result.apiTypes, (spec) =>
        started !== null && started.spec === spec ? started.text : types.emit(spec),
      );
    } catch (err) {
      io.err(`error: ${(err as Error).message}`);
      io.err('nothing generated');
      return 1;
    }
  } finally {
    await types.close();
  }
  const outDir = values.out;
  let readme: { path: string; current: string; wanted: string } | null = null;
  if (readmePath !== null) {
    const current = await readFile(readmePath, 'utf8').catch(() => null);
    const wanted = current === null ? null : withToolsSection(current, loaded.result.tools);
    if (current === null || wanted === null) {
      io.err(`error: ${readmePath} ${current === null ? 'does not exist' : `has no ${TOOLS_START} … ${TOOLS_END} markers`} — fix: add them where the tool list belongs, or pass --readme`);
      return 1;
    }
    readme = { path: readmePath, current, wanted };
  }
  if (values.check) {
    const stale: string[] = [];
    if (readme && readme.current !== readme.wanted) stale.push(`stale: ${label(readme.path)} (the tool list between ${TOOLS_START} and ${TOOLS_END})`);
    for (const [name, content] of files) {
      const path = `${label(outDir)}/${name}`;
      let onDisk: string | null = null;
      try {
        onDisk = await readFile(resolve(outDir, name), 'utf8');
      } catch {
        onDisk = null;
      }
      if (onDisk === null) stale.push(`missing: ${path}`);
      else if (onDisk !== content) stale.push(`stale: ${path}`);
    }
    if (stale.length > 0) {
      for (const s of stale) io.err(s);
      io.err(`generated code is out of date with ${loaded.labels.spec} + ${loaded.labels.manifest} — fix: run \`npm run generate\` and commit the result`);
      return 1;
    }
    io.out(`generated code is current (${loaded.result.tools.length} tools)`);
    return 0;
  }
  await mkdir(outDir, { recursive: true });
  for (const [name, content] of files) await writeFile(resolve(outDir, name), content);
  if (readme && readme.current !== readme.wanted) await writeFile(readme.path, readme.wanted);
  io.out(`generated ${loaded.result.tools.length} tools → ${[...files.keys()].map((n) => `${label(outDir)}/${n}`).join(', ')}`);
  return 0;
}

export async function runLint(argv: string[], io: Io = consoleIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      spec: { type: 'string', default: DEFAULTS.spec },
      tools: { type: 'string', default: DEFAULTS.tools },
    },
    strict: true,
  });
  const loaded = await loadAndCompile(values.spec, values.tools, io);
  if (loaded === null) return 1;
  const info = isObject(loaded.spec.info) ? loaded.spec.info : {};
  const title = `Blast radius: ${loaded.result.tools.length} tools over ${typeof info.title === 'string' ? info.title : 'the API'} ${typeof info.version === 'string' || typeof info.version === 'number' ? info.version : ''} (${loaded.labels.spec} + ${loaded.labels.manifest})`;
  io.out(blastRadiusReport(loaded.result, title).trimEnd());
  if (loaded.result.errors.length > 0) {
    io.err(`${loaded.result.errors.length} error(s)`);
    return 1;
  }
  return 0;
}
