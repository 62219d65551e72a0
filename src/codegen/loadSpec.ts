// Loading a spec: @redocly/openapi-core resolves external `$ref`s into one document and keeps
// every `$ref` as a local pointer (no dereferencing, so `$ref` cycles stay finite). Loading is the
// only I/O; everything after it (compile, emit) works on the returned plain object.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { GenerationError } from './errors.ts';
import { isObject, type JsonObject } from './schemaView.ts';

/** `files`: every file the document was read from (the spec, then what its `$ref`s pulled in). */
export type LoadSpecResult = { ok: true; document: JsonObject; files: string[] } | { ok: false; errors: GenerationError[] };

/** A `$ref` to anything but a local pointer ('#/...'): another file or a URL. */
const EXTERNAL_REF = /["']?\$ref["']?\s*:\s*["']?(?!#)[^\s"'#]/;

export async function loadSpec(path: string): Promise<LoadSpecResult> {
  // Fast path: a self-contained document needs no bundling, and skipping it saves seconds on
  // 13 MB specs. Anything with external refs goes through Redocly.
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `the spec ${path} does not exist` : `cannot read the spec: ${(err as Error).message}`;
    return { ok: false, errors: [specError(message, 'pass an existing OpenAPI document with --spec')] };
  }
  if (!EXTERNAL_REF.test(text)) {
    let document: unknown;
    try {
      // Redocly (≈0.5 s to import) only for YAML, whose parsing must match the bundling path.
      document = /^\s*\{/.test(text) ? JSON.parse(text) : (await import('@redocly/openapi-core')).parseYaml(text);
    } catch (err) {
      return { ok: false, errors: [specError(`cannot parse the spec: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML/JSON syntax')] };
    }
    if (!isObject(document)) {
      return { ok: false, errors: [specError('the spec is not a YAML/JSON object', 'point --spec at an OpenAPI 3.0 or 3.1 document')] };
    }
    const versionError = checkSpecVersion(document);
    return versionError === null ? { ok: true, document, files: [path] } : { ok: false, errors: [versionError] };
  }
  const { bundle, createConfig } = await import('@redocly/openapi-core');
  let result: Awaited<ReturnType<typeof bundle>>;
  try {
    // An empty config: no lint rules, no decorators — the spec is used exactly as written.
    const config = await createConfig({});
    result = await bundle({ ref: path, config });
  } catch (err) {
    return { ok: false, errors: [specError(`cannot read the spec: ${(err as Error).message}`, `check that ${path} exists and is valid YAML or JSON`)] };
  }
  const unresolved = result.problems.filter((p) => p.severity === 'error');
  if (unresolved.length > 0) {
    return {
      ok: false,
      errors: unresolved.map((p) =>
        specError(`cannot bundle the spec: ${p.message}`, 'fix the `$ref` so it points to an existing file and location'),
      ),
    };
  }
  const document = result.bundle.parsed;
  if (!isObject(document)) {
    return { ok: false, errors: [specError('the spec is not a YAML/JSON object', 'point --spec at an OpenAPI 3.0 or 3.1 document')] };
  }
  const versionError = checkSpecVersion(document);
  const files = [path, ...[...result.fileDependencies].filter((file) => resolve(file) !== resolve(path))];
  return versionError === null ? { ok: true, document, files } : { ok: false, errors: [versionError] };
}

/** OpenAPI 3.0.x and 3.1.x (3.2 reads like 3.1); Swagger 2.0 is refused with the way out. */
export function checkSpecVersion(document: JsonObject): GenerationError | null {
  if (document.swagger !== undefined) {
    return specError(
      `the spec is Swagger ${typeof document.swagger === 'string' ? document.swagger : JSON.stringify(document.swagger)} (OpenAPI 2.0), which Deputy does not read`,
      'convert it to OpenAPI 3 first, e.g. `npx swagger2openapi spec.yaml -o spec.openapi.yaml`, and pass that with --spec',
      'swagger',
    );
  }
  const v = document.openapi;
  if (typeof v !== 'string' || !/^3\.[0-2]\.\d+/.test(v)) {
    return specError(
      `unsupported spec version ${JSON.stringify(v)}: expected an \`openapi: 3.0.x\` or \`3.1.x\` field`,
      'point --spec at an OpenAPI 3.0 or 3.1 document',
      'openapi',
    );
  }
  return null;
}

function specError(message: string, fix: string, specPath: string | null = null): GenerationError {
  const code = message.includes('Swagger') || message.includes('unsupported spec version') ? 'SPEC_UNSUPPORTED_VERSION' : 'SPEC_UNREADABLE';
  return { code, tool: null, manifestPath: null, specPath, message, fix };
}
