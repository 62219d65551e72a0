/**
 * The tool catalogue: generated definitions plus what the runtime derives from them once, at
 * start: the strict input validator, the compiled pick tree, the output check, the `tools/list` entry, the target
 * argument named in error messages, and the read tool that helps the model find valid targets.
 */
import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import type { ToolDefinition } from '../generated/tools.ts';
import { compileOutputCheck, type OutputCheck } from './checkOutput.ts';
import { compilePick } from './projectOutput.ts';

export interface CatalogEntry {
  definition: ToolDefinition;
  validate: z.ZodType;
  pick: ReturnType<typeof compilePick>;
  /** A dry-run tool's preview projection: the validate operation's pick, or the write's own for a header preview. */
  previewPick: ReturnType<typeof compilePick> | null;
  /** Checks structuredContent against the advertised outputSchema before it is returned. */
  checkOutput: OutputCheck;
  listing: Tool;
  /** The first path argument: what a not-found or conflict message names. */
  targetArg: string | null;
  /** A read tool that lists valid values for `targetArg`. */
  finder: string | null;
}

export type ToolCatalog = ReadonlyMap<string, CatalogEntry>;

export function buildCatalog(definitions: readonly ToolDefinition[]): ToolCatalog {
  const catalog = new Map<string, CatalogEntry>();
  for (const definition of definitions) {
    const targetArg = definition.operation.args.find((arg) => arg.in === 'path')?.arg ?? null;
    catalog.set(definition.name, {
      definition,
      // The generator guarantees a strict object schema (additionalProperties: false) with
      // bounded strings and arrays; zod enforces it, unknown keys included. Without `default`:
      // zod would fill advertised defaults in, and an argument the caller left unset must not be
      // sent (the backend applies its own default; a manifest default is in the binding).
      validate: z.fromJSONSchema(withoutDefaults(definition.inputSchema)),
      pick: compilePick(definition.output.pick, definition.output.required),
      previewPick: previewPick(definition),
      checkOutput: compileOutputCheck(definition.outputSchema),
      listing: {
        name: definition.name,
        title: definition.title,
        description: definition.description,
        inputSchema: definition.inputSchema,
        outputSchema: definition.outputSchema,
        annotations: definition.annotations,
      },
      targetArg,
      finder: targetArg ? findFinder(definition, targetArg, definitions) : null,
    });
  }
  return catalog;
}

function previewPick(definition: ToolDefinition): ReturnType<typeof compilePick> | null {
  const preview = definition.dryRun?.preview ?? null;
  if (preview === null) return null;
  return preview.kind === 'operation' ? compilePick(preview.pick, preview.required) : compilePick(definition.output.pick, definition.output.required);
}

type Schema = Record<string, unknown>;
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of a generated JSON Schema with every `default` keyword removed (property names kept). */
export function withoutDefaults(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'default') continue;
    if ((key === 'properties' || key === '$defs') && isSchema(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, isSchema(sub) ? withoutDefaults(sub) : sub]));
    } else if ((key === 'items' || key === 'additionalProperties') && isSchema(value)) out[key] = withoutDefaults(value);
    else if ((key === 'anyOf' || key === 'allOf' || key === 'oneOf' || key === 'prefixItems') && Array.isArray(value)) {
      out[key] = (value as unknown[]).map((branch) => (isSchema(branch) ? withoutDefaults(branch) : branch));
    } else out[key] = value;
  }
  return out;
}

/**
 * A read tool on the collection the target lives in (`/drafts` for `/drafts/{filename}`), or
 * one whose listed items carry a field named like the argument.
 */
function findFinder(tool: ToolDefinition, arg: string, all: readonly ToolDefinition[]): string | null {
  const binding = tool.operation.args.find((a) => a.arg === arg)!;
  const collection = tool.operation.path.slice(0, tool.operation.path.indexOf(`{${binding.name}}`)).replace(/\/$/, '');
  const reads = all.filter((t) => t.risk === 'read' && t.name !== tool.name);
  const byPath = reads.find((t) => t.operation.path === collection);
  if (byPath) return byPath.name;
  return reads.find((t) => t.output.pick.includes(`items[].${arg}`))?.name ?? null;
}
