// The manifest's `surfaces:` section → SurfaceDefinitions (openapi/README.md, "Surfaces";
// src/README.md D42). Each surface is an endpoint of its own serving some of the tools; a
// read-only one may list no tool that changes data. Every problem is one SURFACE_INVALID error
// naming the surface, the manifest location and the fix.

import { z } from 'zod';
import type { GenerationError, GenerationWarning } from './errors.ts';
import type { ManifestTool } from './manifest.ts';
import type { SurfaceDefinition } from './toolDefinition.ts';

export const SURFACE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** `/mcp`, or `/mcp/` and one path segment: one listener, every surface under the same prefix. */
export const SURFACE_PATH = /^\/mcp(?:\/[a-z0-9][a-z0-9-]{0,63})?$/;

const SurfaceEntry = z.strictObject({
  path: z.string(),
  tools: z.array(z.string()),
  readOnly: z.boolean().optional(),
  title: z.string().min(1).max(100).optional(),
});

const REFERENCE = 'openapi/README.md, "Surfaces"';

export interface CompiledSurfaces {
  /** Sorted by name; null when the manifest declares no surfaces (the single `/mcp`). */
  surfaces: SurfaceDefinition[] | null;
  errors: GenerationError[];
  warnings: GenerationWarning[];
}

/** Checks `surfaces:` against the manifest's tools (all that parsed, whether or not they compiled). */
export function compileSurfaces(raw: unknown, tools: readonly Pick<ManifestTool, 'name' | 'risk'>[]): CompiledSurfaces {
  const errors: GenerationError[] = [];
  const warnings: GenerationWarning[] = [];
  if (raw === undefined) return { surfaces: null, errors, warnings };
  const fail = (where: string, message: string, fix: string) => errors.push({ code: 'SURFACE_INVALID', tool: null, manifestPath: `surfaces${where}`, specPath: null, message, fix });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || Object.keys(raw).length === 0) {
    fail('', '`surfaces:` must map at least one surface name to { path, tools }', `write e.g. \`surfaces: { support: { path: /mcp/support, tools: [listDrafts] } }\`, or remove the section (${REFERENCE})`);
    return { surfaces: null, errors, warnings };
  }

  const riskOf = new Map(tools.map((t) => [t.name, t.risk]));
  const pathOwner = new Map<string, string>();
  const served = new Set<string>();
  const surfaces: SurfaceDefinition[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    const at = `.${name}`;
    if (!SURFACE_NAME.test(name)) fail(at, `surface name '${name}' is not a lowercase name`, 'use 1-32 characters: a lowercase letter, then lowercase letters, digits or -');
    const parsed = SurfaceEntry.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const what = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message.replace(/^Invalid input: /, '');
        fail(`${at}${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`, what, `a surface has \`path\`, \`tools\`, and optionally \`readOnly: true\` and \`title\` (${REFERENCE})`);
      }
      continue;
    }
    const { path, tools: names, readOnly = false, title } = parsed.data;
    if (!SURFACE_PATH.test(path)) fail(`${at}.path`, `path '${path}' is not /mcp or /mcp/<segment>`, 'use /mcp/ and one segment of lowercase letters, digits or -, e.g. /mcp/support');
    const owner = pathOwner.get(path);
    if (owner !== undefined) fail(`${at}.path`, `path '${path}' is already served by surface '${owner}'`, 'give each surface its own path');
    else pathOwner.set(path, name);
    if (names.length === 0) fail(`${at}.tools`, 'the surface serves no tool', 'list the tools it serves, or remove the surface');
    const seen = new Set<string>();
    names.forEach((tool, i) => {
      const where = `${at}.tools[${i}]`;
      if (seen.has(tool)) fail(where, `tool '${tool}' is listed twice`, 'list each tool once');
      seen.add(tool);
      const risk = riskOf.get(tool);
      if (risk === undefined) {
        fail(where, `unknown tool '${tool}'`, `name a tool of the manifest's \`tools:\` list (${[...riskOf.keys()].sort().join(', ') || 'none'})`);
        return;
      }
      served.add(tool);
      if (readOnly && risk !== 'read') {
        fail(where, `read-only surface '${name}' lists ${risk} tool '${tool}'`, `serve '${tool}' on a surface without \`readOnly: true\`, or drop \`readOnly\` from '${name}'`);
      }
    });
    surfaces.push({ name, path, title: title ?? null, readOnly, tools: [...seen].sort() });
  }
  for (const tool of riskOf.keys()) {
    if (!served.has(tool)) warnings.push({ tool, manifestPath: 'surfaces', message: 'this tool is on no surface, so no endpoint serves it' });
  }
  surfaces.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { surfaces, errors, warnings };
}
