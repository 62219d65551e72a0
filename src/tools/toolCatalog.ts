/**
 * The tool catalogue: generated definitions plus what the runtime derives from them once, at
 * start: the strict input validator, the compiled pick tree, the `tools/list` entry, the target
 * argument named in error messages, and the read tool that helps the model find valid targets.
 */
import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import type { ToolDefinition } from '../generated/tools.ts';
import { compilePick } from './projectOutput.ts';

export interface CatalogEntry {
  definition: ToolDefinition;
  validate: z.ZodType;
  pick: ReturnType<typeof compilePick>;
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
      // bounded strings and arrays; zod enforces it, unknown keys included.
      validate: z.fromJSONSchema(definition.inputSchema as Parameters<typeof z.fromJSONSchema>[0]),
      pick: compilePick(definition.output.pick),
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
