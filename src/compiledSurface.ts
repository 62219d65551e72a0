/**
 * A compiled tool surface on disk: what `compile` writes and `serve --compiled` reads, so a
 * server over another backend starts without running the code generator (src/README.md,
 * "Serving a compiled surface").
 *
 * The file is JSON: the tools and the server profile exactly as `serve --spec --tools` would
 * compile them, the Deputy version and format that wrote it, and the sha256 of every source file
 * it was compiled from (the spec, each file the spec's `$ref`s pulled in, the manifest). Reading it
 * refuses a file from another Deputy version or format, and a file whose sources have changed.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerProfile, ToolDefinition } from './generated/tools.ts';

/**
 * Bumped whenever the shape of a ToolDefinition or ServerProfile changes;
 * test/unit/compiledSurface.test.ts fails until it is.
 */
export const COMPILED_FORMAT = 4;

export interface CompiledSource {
  /** As given on the command line, relative to the working directory `compile` ran in. */
  path: string;
  sha256: string;
}

export interface CompiledSurface {
  deputy: { version: string; format: number };
  sources: { spec: CompiledSource; manifest: CompiledSource; specParts: CompiledSource[] };
  tools: ToolDefinition[];
  profile: ServerProfile;
}

/** A compiled surface that cannot be used, with the one sentence that says why and what to run. */
export class CompiledSurfaceError extends Error {}

/** Deputy's own version, from the package.json above this file (in `src/` or `dist/src/`). */
export function deputyVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'deputy' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one level up
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A path as written into the file: relative to the working directory, forward slashes. */
const label = (path: string): string => relative(process.cwd(), resolve(path)).split(sep).join('/') || '.';

async function source(path: string): Promise<CompiledSource> {
  return { path: label(path), sha256: sha256(await readFile(path)) };
}

export async function compiledSurface(
  paths: { spec: string; manifest: string; specParts: readonly string[] },
  tools: readonly ToolDefinition[],
  profile: ServerProfile,
): Promise<CompiledSurface> {
  const spec = resolve(paths.spec);
  return {
    deputy: { version: deputyVersion(), format: COMPILED_FORMAT },
    sources: {
      spec: await source(paths.spec),
      manifest: await source(paths.manifest),
      specParts: await Promise.all(paths.specParts.filter((p) => resolve(p) !== spec).sort().map(source)),
    },
    tools: [...tools],
    profile,
  };
}

/** How `compile` is run again for this file: the fix in every refusal. */
function recompile(file: string, surface: Pick<CompiledSurface, 'sources'> | null): string {
  const from = surface ? ` --spec ${surface.sources.spec.path} --tools ${surface.sources.manifest.path}` : ' --spec … --tools …';
  return `run \`deputy compile${from} --out ${label(file)}\` again`;
}

/**
 * Reads a compiled surface and refuses a stale one. `expect` names the spec and manifest the
 * caller also passed (`serve --compiled F --spec S --tools T`): they must be the recorded sources
 * and must exist. Without it, a recorded source that is missing is accepted (a deployment may
 * ship only the compiled file), but one that is present and changed is refused.
 */
export async function readCompiledSurface(file: string, expect?: { spec?: string; manifest?: string }): Promise<CompiledSurface> {
  let surface: CompiledSurface;
  try {
    surface = JSON.parse(await readFile(file, 'utf8')) as CompiledSurface;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not a compiled surface (not JSON)';
    throw new CompiledSurfaceError(`${label(file)} ${why} — fix: ${recompile(file, null)}`);
  }
  if (typeof surface !== 'object' || surface === null || !Array.isArray(surface.tools) || typeof surface.profile !== 'object' || typeof surface.deputy !== 'object' || typeof surface.sources !== 'object') {
    throw new CompiledSurfaceError(`${label(file)} is not a compiled surface — fix: ${recompile(file, null)}`);
  }
  const version = deputyVersion();
  if (surface.deputy.version !== version || surface.deputy.format !== COMPILED_FORMAT) {
    throw new CompiledSurfaceError(
      `${label(file)} was compiled by Deputy ${surface.deputy.version} (format ${surface.deputy.format}), this is Deputy ${version} (format ${COMPILED_FORMAT}) — fix: ${recompile(file, surface)}`,
    );
  }
  const wanted = { spec: expect?.spec === undefined ? surface.sources.spec.path : label(expect.spec), manifest: expect?.manifest === undefined ? surface.sources.manifest.path : label(expect.manifest) };
  for (const part of ['spec', 'manifest'] as const) {
    if (wanted[part] !== surface.sources[part].path) {
      const asked = { sources: { ...surface.sources, spec: { path: wanted.spec, sha256: '' }, manifest: { path: wanted.manifest, sha256: '' } } };
      throw new CompiledSurfaceError(`${label(file)} was compiled from ${surface.sources[part].path}, not ${wanted[part]} — fix: ${recompile(file, asked)}`);
    }
  }
  const required = new Set([expect?.spec, expect?.manifest].filter((p) => p !== undefined).map(label));
  for (const recorded of [surface.sources.spec, ...surface.sources.specParts, surface.sources.manifest]) {
    let bytes: Buffer;
    try {
      bytes = await readFile(recorded.path);
    } catch {
      if (required.has(recorded.path)) throw new CompiledSurfaceError(`${recorded.path} does not exist — fix: pass an existing file, or serve --compiled ${label(file)} alone`);
      continue;
    }
    if (sha256(bytes) !== recorded.sha256) {
      throw new CompiledSurfaceError(`${label(file)} is stale: ${recorded.path} changed since it was compiled — fix: ${recompile(file, surface)}`);
    }
  }
  return surface;
}
