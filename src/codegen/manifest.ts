// The tool manifest (openapi/tools.yaml): its shape, parsed strictly. An unknown key is an error,
// never ignored — a typo like `maxium: 50` must not leave a parameter silently wide.

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { GenerationError } from './errors.ts';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'expected a string, number, boolean or null' });

/** The keys a narrowing may use, listed in the error for any other key (openapi/README.md). */
export const NARROWING_KEYS = ['type', 'description', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'enum', 'items', 'properties', 'additionalProperties'] as const;

/**
 * How the manifest tightens one schema, at any depth: scalar bounds, array `items`, object
 * `properties` (`false` hides one), `additionalProperties: false` to close an object, and `type`
 * to give a free-form value one. Every keyword may only tighten what the spec allows.
 */
export interface Narrowing {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  enum?: (string | number | boolean | null)[];
  items?: Narrowing;
  properties?: Record<string, Narrowing | false>;
  additionalProperties?: false;
}

const Narrowing: z.ZodType<Narrowing> = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean', 'object', 'array']).optional(),
  description: z.string().optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  minLength: z.number().int().nonnegative().optional(),
  maxLength: z.number().int().nonnegative().optional(),
  pattern: z.string().optional(),
  minItems: z.number().int().nonnegative().optional(),
  maxItems: z.number().int().nonnegative().optional(),
  enum: z.array(scalar).min(1).optional(),
  get items() {
    return Narrowing.optional();
  },
  get properties() {
    return z.record(z.string(), z.union([Narrowing, z.literal(false)], { error: 'expected a narrowing (an object) or `false` to hide the property' })).optional();
  },
  additionalProperties: z.literal(false, { error: 'only `additionalProperties: false` can be set: it closes the object' }).optional(),
});

export type InputEntry = (Narrowing & { arg?: string; required?: true; default?: string | number | boolean | null }) | null;

/** Per-input narrowing: a Narrowing plus how the argument is named, required and defaulted. */
const InputEntry: z.ZodType<InputEntry> = z
  .strictObject({
    ...(Narrowing as unknown as z.ZodObject).shape,
    /** Name of the property in inputSchema (default: the spec name). */
    arg: z.string().optional(),
    required: z.literal(true, { error: 'only `required: true` can be set: it makes an optional input required' }).optional(),
    default: scalar.optional(),
  })
  .nullable();

/**
 * A request body built from a template: literal JSON with `{input}` placeholders, each filled
 * with one argument the model sets. A whole-string placeholder takes the argument's value as is;
 * a placeholder inside a longer string is replaced by the value's text.
 */
const BodyTemplate = z.strictObject({
  template: z.json(),
  inputs: z.record(z.string(), InputEntry).default({}),
});
export type BodyTemplate = { template: z.infer<ReturnType<typeof z.json>>; inputs: Record<string, InputEntry> };

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
  /** Scopes or roles one of which an approver on the approval page must hold (default: the tool's callerScopes). */
  approvers: z.array(z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be a scope or role name (printable, no spaces)')).min(1).optional(),
  /** How many different people must approve on the approval page (default: 2 for destructive tools, else 1). */
  count: z.union([z.literal(1), z.literal(2)]).optional(),
  /** A client that can show neither a form nor a URL gets an error carrying the approval page link. */
  link: z.boolean().optional(),
  lookup: z
    .strictObject({
      operation: z.string(),
      args: z.record(z.string(), scalar).default({}),
      pick: z.array(z.string()).min(1),
    })
    .optional(),
});

const Preview = z.strictObject({
  /** An operation taking the same request as the write that answers without acting. */
  operation: z.string().min(1).optional(),
  /** `Name: value`, a header the spec declares on the write operation (e.g. `Prefer: dry-run`). */
  header: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, "must be 'Name: value', e.g. 'Prefer: dry-run'").optional(),
  /** The validate operation's answer: fields the model may see, and list caps. */
  pick: z.array(z.string()).optional(),
  listCaps: z.record(z.string(), z.number().int().positive()).default({}),
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
  fixed: z.record(z.string(), z.json({ error: 'expected a JSON value' })).default({}),
  body: BodyTemplate.optional(),
  output: Output.default({ pick: [], types: {}, responseShape: 'spec', listCaps: {}, maxBytes: 16_384, untrusted: [] }),
  approval: Approval.optional(),
  /** `dry-run`: a write that never calls its operation and answers with the request it would send. */
  mode: z.enum(['live', 'dry-run']).default('live'),
  /** How the backend previews a dry-run write: a validate operation, or a preview header on the write. */
  preview: Preview.optional(),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Calls one user may start per window (src/README.md, "Quotas"); absent: DEPUTY_QUOTA_READ_TOOL_CALLS or _WRITE_ by risk. */
  quota: z
    .strictObject({
      calls: z.number().int().min(1).max(100_000),
      /** Absent: DEPUTY_QUOTA_WINDOW_SECONDS. */
      windowSeconds: z.number().int().min(1).max(86_400).optional(),
    })
    .optional(),
  /** Characters of spec-sourced descriptions this tool's schemas carry together (openapi/README.md, "The description budget"). */
  descriptionBudget: z.number().int().min(0).max(20_000).optional(),
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

/**
 * The server profile (openapi/README.md, "The server profile"): how agents are told the backend
 * is called, what else the server instructions say, and the backend's own secret formats.
 * Checked beyond their shape in serverProfile.ts.
 */
const ServerSection = z.strictObject({
  backendName: z.string().min(1).optional(),
  instructions: z.string().min(1).optional(),
  secretPatterns: z.array(z.string().min(1)).default([]),
});
export type ServerSection = z.infer<typeof ServerSection>;

export const Manifest = z.strictObject({
  version: z.literal(1),
  /** Who the server says it fronts; absent: neutral defaults ("the admin backend"). */
  server: ServerSection.default({ secretPatterns: [] }),
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
  /** Endpoints of their own, each serving some of the tools (checked in surfaces.ts; openapi/README.md, "Surfaces"). */
  surfaces: z.unknown().optional(),
  tools: z.array(z.unknown()),
});

/** The manifest's top-level credential settings, applied to every tool. */
export interface ManifestDefaults {
  security: string[] | null;
  credentials: Record<string, string>;
}

const NO_DEFAULTS: ManifestDefaults = { security: null, credentials: {} };
const NO_SERVER: ServerSection = { secretPatterns: [] };

export interface ParsedManifest {
  apiTypes: 'all' | 'exposed';
  server: ServerSection;
  defaults: ManifestDefaults;
  /** Tools that parsed, with their index in the file (tools[i]). */
  tools: { index: number; tool: ManifestTool }[];
  /** The `surfaces:` section as written (undefined when absent); surfaces.ts checks it. */
  surfaces: unknown;
  errors: GenerationError[];
}

export function parseManifestText(text: string): ParsedManifest {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return { apiTypes: 'all', server: NO_SERVER, defaults: NO_DEFAULTS, tools: [], surfaces: undefined, errors: [manifestError(null, null, `the manifest is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax')] };
  }
  return parseManifest(raw);
}

/** Validates a parsed manifest object; each bad tool is reported, the good ones are kept. */
export function parseManifest(raw: unknown): ParsedManifest {
  const top = Manifest.safeParse(raw);
  if (!top.success) {
    return { apiTypes: 'all', server: NO_SERVER, defaults: NO_DEFAULTS, tools: [], surfaces: undefined, errors: top.error.issues.flatMap(deepest).map((i) => manifestError(null, pathOf(i.path), i.message.replace(/^Invalid input: /, ''), i.path[0] === 'server' ? 'correct the value; see "The server profile" in openapi/README.md' : 'the manifest needs `version: 1` and a `tools:` list')) };
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
    for (const issue of parsed.error.issues.flatMap(deepest)) {
      const path = pathOf(['tools', index, ...issue.path]);
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => `'${k}'`).join(', ');
        errors.push(manifestError(name, path, `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`, unknownKeyFix(issue.path)));
      } else errors.push(manifestError(name, path, issue.message.replace(/^Invalid input: /, ''), 'correct the value; see the manifest reference in openapi/README.md'));
    }
  });
  const security = top.data.security === undefined ? null : typeof top.data.security === 'string' ? [top.data.security] : top.data.security;
  return { apiTypes: top.data.apiTypes, server: top.data.server, defaults: { security, credentials: top.data.credentials }, tools, surfaces: top.data.surfaces, errors };
}

/**
 * A union's own message says only what was expected; when one alternative got further into the
 * value (an object that is a narrowing, with one bad keyword), its issues say why, so report those.
 */
function deepest(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const depth = (branch: z.core.$ZodIssue[]) => Math.max(0, ...branch.map((i) => i.path.length + (i.code === 'invalid_type' || i.code === 'invalid_value' ? 0 : 1)));
  const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  if (depth(best) === 0) return [issue];
  return best.flatMap(deepest).map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
}

function unknownKeyFix(path: readonly PropertyKey[]): string {
  if (path.includes('input') || path.includes('inputs')) {
    const top = path.length === 2 || (path[0] === 'body' && path.length === 3);
    return `remove or correct it; narrowing keys are ${NARROWING_KEYS.join(', ')}${top ? ', and at the top of an input also arg, required, default' : ''} (openapi/README.md, "Narrowing inputs")`;
  }
  return 'remove or correct the key; see the manifest reference in openapi/README.md';
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
