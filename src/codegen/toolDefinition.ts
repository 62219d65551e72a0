// The shape of one generated tool. Everything below the marker is copied verbatim into
// src/generated/tools.ts by the emitter, so the generated module declares exactly these types
// and imports nothing; the compiler (compile.ts) builds values of the same types.
// --- emitted verbatim below this line ---

/** How much a tool can change: drives annotations, approval and audit level (src/README.md, D5). */
export type Risk = 'read' | 'write' | 'destructive';

/** Where an argument goes in the backend request. */
export type ArgLocation = 'path' | 'query' | 'header' | 'body';

/** HTTP methods a tool may bind to. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A self-contained JSON Schema (2020-12 subset, no `$ref`) whose root is an object. */
export interface JsonSchemaObject {
  /** Always 'object': MCP requires object input and output schemas. */
  type: 'object';
  /** Any other JSON Schema keyword. */
  [keyword: string]: unknown;
}

/**
 * A body template placeholder, `{name}` with `name` an argument. A string that is exactly one
 * placeholder becomes the argument's value; a placeholder inside a longer string is replaced by
 * the value's text. The generator and the runtime both read placeholders with this pattern.
 */
export const TEMPLATE_PLACEHOLDER = '\\{([A-Za-z][A-Za-z0-9_]{0,63})\\}';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One model-settable argument and where it is sent. */
export interface ArgBinding {
  /** Property name in inputSchema. */
  arg: string;
  /** Request part the value goes to. */
  in: ArgLocation;
  /** Spec parameter name, top-level body property name, or (body templates) the argument name. */
  name: string;
  /**
   * Sent when the caller leaves the argument unset: the manifest's `default`. A spec default is
   * only advertised, never sent (the backend applies it itself).
   */
  default?: JsonValue;
}

/** A value the server always sends; the model can neither see nor set it. */
export interface FixedValue {
  /** Request part the value goes to. */
  in: ArgLocation;
  /** Spec parameter name, or top-level body property name. */
  name: string;
  /** The value, validated against the spec's schema at generation time. */
  value: JsonValue;
}

/** Where a credential goes: bearer and basic use the Authorization header, the others a named place. */
export type CredentialKind = 'bearer' | 'basic' | 'header' | 'query' | 'cookie';

/**
 * One credential the backend call carries, placed by Deputy after everything the model
 * controls. The value comes from the token provider, never from the manifest or the model.
 */
export interface CredentialPlacement {
  /** Security scheme name (components.securitySchemes key) or the manifest credential's name. */
  scheme: string;
  /** bearer/basic → Authorization header; header/query/cookie → the named place. oauth2 and openIdConnect are bearer. */
  kind: CredentialKind;
  /** Header, query parameter or cookie name; null for bearer and basic. */
  name: string | null;
  /** Scopes (oauth2/openIdConnect) or roles (OpenAPI 3.1, other schemes) the requirement lists for this scheme. */
  scopes: string[];
}

/** Everything needed to build the backend request for one operation. */
export interface OperationBinding {
  /** The spec's operationId. */
  operationId: string;
  /** HTTP method, upper case. */
  method: HttpMethod;
  /** Path template, e.g. '/drafts/{filename}/publish'; path args are percent-encoded into it. */
  path: string;
  /** Model-settable arguments, in inputSchema order. */
  args: ArgBinding[];
  /** Values always sent, never model-settable. */
  fixed: FixedValue[];
  /**
   * Request body: an object of the body args and fixed body values, or the manifest's `template`
   * with its placeholders filled (see TEMPLATE_PLACEHOLDER); null = no body.
   */
  body: null | { contentType: 'application/json' | 'application/x-www-form-urlencoded'; required: boolean; template?: JsonValue };
  /** Explicit 2xx statuses the spec declares; empty means any 2xx (the spec used 2XX/default). */
  successStatuses: number[];
  /** The spec's Idempotency-Key header parameter name, if declared; the runtime sets a fresh key per call. */
  idempotencyKeyHeader: string | null;
  /** The credentials the backend call carries: every scheme of the chosen security requirement. */
  credentials: CredentialPlacement[];
}

/** The allowlist projection of a backend response (src/README.md, D7). */
export interface OutputProjection {
  /** Leaf paths the model may see, e.g. 'items[].filename'; everything else is dropped. */
  pick: string[];
  /** Array path → maximum items kept, e.g. 'items' → 50; every array in pick has one. */
  listCaps: Record<string, number>;
  /** Upper bound on the serialized projection, in bytes. */
  maxBytes: number;
  /** Picked paths holding free text from the backend: data, never instructions. */
  untrusted: string[];
  /** The response body is a JSON array: it is projected as { items: [...] } (structuredContent must be an object). */
  rootArray: boolean;
  /**
   * Pick-tree paths the spec marks required in their object ('items[].key'): a list whose
   * elements all lack every picked field, one of them required, contradicts the spec.
   */
  required: string[];
}

/** A read the server makes before asking a human, to show them what the target really is. */
export interface ApprovalLookup {
  /** The read operation to call; its args refer to this tool's arguments. */
  operation: OperationBinding;
  /** Scopes of that operation's `security` requirement. */
  backendScopes: string[];
  /** Scalar fields of its response usable in the message as {lookup.<field>}. */
  pick: string[];
}

/** What a human must confirm before the call runs (src/README.md, D6). */
export interface ApprovalSpec {
  /** Message template: {arg} is an argument value, {lookup.field} a looked-up field. */
  message: string;
  /** Optional read whose picked fields fill {lookup.*} placeholders. */
  lookup: ApprovalLookup | null;
  /** The refusal the model reads when the client cannot show approval prompts; null = the default text. */
  withoutElicitation: string | null;
  /** Scopes or roles an approver on the approval page must hold one of; absent = the tool's callerScopes. */
  approvers?: string[];
  /** How many different people must approve on the approval page; absent = 2 for destructive tools, else 1. */
  count?: 1 | 2;
  /** A client with neither form nor URL elicitation gets an error carrying the approval page link. */
  link?: boolean;
}

/**
 * How a dry-run tool lets the backend preview its write (openapi/README.md, "Dry run"):
 * `operation` calls a validate operation that takes the same request as the write, `header` calls
 * the write itself with a preview header the spec declares (e.g. `Prefer: dry-run`).
 */
export type DryRunPreview =
  | {
      kind: 'operation';
      /** The validate operation, bound to the same arguments and fixed values as the write. */
      operation: OperationBinding;
      /** Scopes of its `security` requirement. */
      backendScopes: string[];
      /** Its answer's fields the model may see. */
      pick: string[];
      /** Array path → maximum items kept. */
      listCaps: Record<string, number>;
      /** Pick-tree paths the spec marks required (see OutputProjection.required). */
      required: string[];
    }
  | {
      kind: 'header';
      /** Header name, as the spec declares it on the write operation. */
      name: string;
      /** Its value, e.g. 'dry-run'. */
      value: string;
    };

/** A write in dry-run mode: its operation is never called; the tool answers with the request it would send. */
export interface DryRunSpec {
  /** The backend's own preview, called instead of the write; null: Deputy only describes the request. */
  preview: DryRunPreview | null;
}

/** MCP tool annotations, all four hints always set, derived from risk and method. */
export interface ToolAnnotations {
  /** Same as the tool title. */
  title: string;
  /** True only for risk 'read'. */
  readOnlyHint: boolean;
  /** True only for risk 'destructive'. */
  destructiveHint: boolean;
  /** Read tools; write PUT; destructive DELETE/PUT. */
  idempotentHint: boolean;
  /** Always false: a tool reaches one known backend. */
  openWorldHint: false;
}

/** One tool: static data, no behaviour. */
export interface ToolDefinition {
  /** camelCase, unique, at most 64 characters. */
  name: string;
  /** Short human-readable name. */
  title: string;
  /** Written for a model: what it does, when to use it, what it returns. */
  description: string;
  /** Risk tier from the manifest. */
  risk: Risk;
  /** MCP annotations derived from risk and method. */
  annotations: ToolAnnotations;
  /** Scopes of the operation's `security` requirement: what the backend token must hold. */
  backendScopes: string[];
  /** Scopes the caller's token needs to see and call the tool (default: backendScopes). */
  callerScopes: string[];
  /** How to call the backend. */
  operation: OperationBinding;
  /** Strict input schema: no extra properties, every string and array bounded. */
  inputSchema: JsonSchemaObject;
  /** Schema of the projected output (structuredContent). */
  outputSchema: JsonSchemaObject;
  /** How to project the backend response. */
  output: OutputProjection;
  /** Required for write and destructive tools; null for read tools. */
  approval: ApprovalSpec | null;
  /** Backend call timeout in milliseconds. */
  timeoutMs: number;
  /** Present only on a write in `mode: dry-run`: the write is never called (openapi/README.md, "Dry run"). */
  dryRun?: DryRunSpec;
  /**
   * The manifest's per-user quota for this tool: calls per window (windowSeconds null = the
   * configured window). Absent: the configured default for the tool's risk.
   */
  quota?: ToolQuota;
}

/** Calls one user may start of one tool per window (src/README.md, "Quotas"). */
export interface ToolQuota {
  calls: number;
  /** null = DEPUTY_QUOTA_WINDOW_SECONDS. */
  windowSeconds: number | null;
}

/** The flags every `secretPatterns` entry is compiled with, at generation and at run time. */
export const SECRET_PATTERN_FLAGS = 'gu';

/**
 * What the server says about the backend it fronts, and the backend's own secret formats: from
 * the manifest's `server:` section (openapi/README.md, "The server profile"), so the runtime
 * names no backend of its own.
 */
export interface ServerProfile {
  /** How agents are told the backend is called, e.g. 'the admin backend'. */
  backendName: string;
  /** The MCP `instructions` sent at initialize. */
  instructions: string;
  /**
   * Regular expression sources (JavaScript, compiled with the `gu` flags) of the backend's own
   * credential formats, redacted from tool output besides the built-in vendor formats.
   */
  secretPatterns: string[];
  /**
   * The manifest's `surfaces:` (openapi/README.md, "Surfaces"), sorted by name; absent when it
   * declares none, and then every tool is served at the single `/mcp`.
   */
  surfaces?: SurfaceDefinition[];
}

/** One endpoint of its own: a path, its tools, and whether it may only read (src/README.md D42). */
export interface SurfaceDefinition {
  /** `^[a-z][a-z0-9-]{0,31}$`: names the surface in logs, metrics, audit lines and token file entries. */
  name: string;
  /** `/mcp` or `/mcp/<segment>`; the surface's resource URL (token audience) is the public URL plus this path. */
  path: string;
  title: string | null;
  /** Serves no write or destructive tool, and refuses to start with a credential holding more than a read scope. */
  readOnly: boolean;
  /** The names of the tools it serves, sorted. */
  tools: string[];
}
