// The tool manifest (openapi/tools.yaml): its shape, parsed strictly. An unknown key is an error,
// never ignored — a typo like `maxium: 50` must not leave a parameter silently wide.

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { GenerationError } from './errors.ts';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Per-parameter narrowing. Every keyword may only tighten what the spec allows. */
const InputEntry = z
  .strictObject({
    /** Name of the property in inputSchema (default: the spec name). */
    arg: z.string().optional(),
    description: z.string().optional(),
    required: z.literal(true).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minLength: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().nonnegative().optional(),
    pattern: z.string().optional(),
    minItems: z.number().int().nonnegative().optional(),
    maxItems: z.number().int().nonnegative().optional(),
    enum: z.array(scalar).min(1).optional(),
    default: scalar.optional(),
  })
  .nullable();
export type InputEntry = z.infer<typeof InputEntry>;

const Output = z.strictObject({
  pick: z.array(z.string()).default([]),
  /** Pick path → type, for values the spec leaves open (free-form maps, no response body). */
  types: z.record(z.string(), z.string()).default({}),
  /**
   * `declared`: the spec's response schema is missing or wrong; every pick's type comes from
   * `types`. `declared-list`: the same, for an answer that is a JSON list (picked as `items[]…`).
   */
  responseShape: z.enum(['spec', 'declared', 'declared-list']).default('spec'),
  listCaps: z.record(z.string(), z.number().int().positive()).default({}),
  maxBytes: z.number().int().min(256).max(1_048_576).default(16_384),
  untrusted: z.array(z.string()).default([]),
});

const Approval = z.strictObject({
  message: z.string().min(1),
  withoutElicitation: z.string().min(1).max(500).optional(),
  lookup: z
    .strictObject({
      operation: z.string(),
      args: z.record(z.string(), scalar).default({}),
      pick: z.array(z.string()).min(1),
    })
    .optional(),
});

/** A security requirement chosen by scheme name(s): `bearerAuth`, or `[apiKeyAuth, tokenAuth]` for a combined one. */
const SecurityChoice = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
/** Spec parameter (`header.Api-Key`, `query.token`, or a bare name) → the credential the token file serves for it. */
const CredentialMap = z.record(z.string(), z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be a credential name (letters, digits and ._-)'));

export const ManifestTool = z.strictObject({
  name: z.string(),
  operation: z.string(),
  title: z.string(),
  description: z.string(),
  risk: z.enum(['read', 'write', 'destructive']),
  input: z.record(z.string(), InputEntry).default({}),
  fixed: z.record(z.string(), scalar).default({}),
  output: Output.default({ pick: [], types: {}, responseShape: 'spec', listCaps: {}, maxBytes: 16_384, untrusted: [] }),
  approval: Approval.optional(),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  callerScopes: z.array(z.string()).optional(),
  allowDestructive: z.literal(true).optional(),
  /** Which of the operation's security alternatives this tool's call uses (openapi/README.md, "Credentials"). */
  security: SecurityChoice.optional(),
  /** Parameters of this operation that carry a credential Deputy fills. */
  credentials: CredentialMap.optional(),
  /** input/fixed keys that look like credentials but are not (reviewed): the generator lets them through. */
  notCredentials: z.array(z.string()).optional(),
});
export type ManifestTool = z.infer<typeof ManifestTool>;

export const Manifest = z.strictObject({
  version: z.literal(1),
  /**
   * What src/generated/api-types.ts covers: the whole spec (default), or only the operations the
   * tools call and the components they reach — for very large specs (GitHub's 13 MB description
   * gives 6.5 MB of types and most of `generate`'s time).
   */
  apiTypes: z.enum(['all', 'exposed']).default('all'),
  /** The security alternative every tool uses where its operation has it (a tool's own `security:` wins). */
  security: SecurityChoice.optional(),
  /** Credential parameters for every tool whose operation has them (a tool's own entry wins). */
  credentials: CredentialMap.default({}),
  tools: z.array(z.unknown()),
});

/** The manifest's top-level credential settings, applied to every tool. */
export interface ManifestDefaults {
  security: string[] | null;
  credentials: Record<string, string>;
}

const NO_DEFAULTS: ManifestDefaults = { security: null, credentials: {} };

export interface ParsedManifest {
  apiTypes: 'all' | 'exposed';
  defaults: ManifestDefaults;
  /** Tools that parsed, with their index in the file (tools[i]). */
  tools: { index: number; tool: ManifestTool }[];
  errors: GenerationError[];
}

export function parseManifestText(text: string): ParsedManifest {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return { apiTypes: 'all', defaults: NO_DEFAULTS, tools: [], errors: [manifestError(null, null, `the manifest is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax')] };
  }
  return parseManifest(raw);
}

/** Validates a parsed manifest object; each bad tool is reported, the good ones are kept. */
export function parseManifest(raw: unknown): ParsedManifest {
  const top = Manifest.safeParse(raw);
  if (!top.success) {
    return { apiTypes: 'all', defaults: NO_DEFAULTS, tools: [], errors: top.error.issues.map((i) => manifestError(null, pathOf(i.path), i.message, 'the manifest needs `version: 1` and a `tools:` list')) };
  }
  const tools: ParsedManifest['tools'] = [];
  const errors: GenerationError[] = [];
  top.data.tools.forEach((entry, index) => {
    const parsed = ManifestTool.safeParse(entry);
    if (parsed.success) {
      tools.push({ index, tool: parsed.data });
      return;
    }
    const name = typeof (entry as { name?: unknown })?.name === 'string' ? (entry as { name: string }).name : null;
    for (const issue of parsed.error.issues) {
      const path = pathOf(['tools', index, ...issue.path]);
      const unknownKeys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      errors.push(manifestError(name, path, `${issue.message}${unknownKeys}`, fixFor(issue.code)));
    }
  });
  const security = top.data.security === undefined ? null : typeof top.data.security === 'string' ? [top.data.security] : top.data.security;
  return { apiTypes: top.data.apiTypes, defaults: { security, credentials: top.data.credentials }, tools, errors };
}

function fixFor(code: string): string {
  if (code === 'unrecognized_keys') return 'remove or correct the key; see the manifest reference in openapi/README.md';
  return 'correct the value; see the manifest reference in openapi/README.md';
}

export function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function manifestError(tool: string | null, manifestPath: string | null, message: string, fix: string): GenerationError {
  return { code: 'MANIFEST_INVALID', tool, manifestPath, specPath: null, message, fix };
}
