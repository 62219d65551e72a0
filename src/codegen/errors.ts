// Generation problems are data: compile collects them all, the CLI prints them in one format.

/** Stable codes, one per way a manifest and spec can disagree. */
export type GenerationErrorCode =
  | 'SPEC_UNREADABLE'
  | 'SPEC_UNSUPPORTED_VERSION'
  | 'MANIFEST_INVALID'
  | 'NAME_INVALID'
  | 'NAME_DUPLICATE'
  | 'UNKNOWN_OPERATION'
  | 'RISK_MISMATCH'
  | 'DESTRUCTIVE_NOT_ALLOWED'
  | 'PARAM_NOT_IN_SPEC'
  | 'PARAM_AMBIGUOUS'
  | 'PARAM_UNSUPPORTED'
  | 'REQUIRED_PARAM_UNBOUND'
  | 'NARROWING_WIDENS'
  | 'NARROWING_INVALID'
  | 'FIXED_VALUE_INVALID'
  | 'INPUT_UNBOUNDED_STRING'
  | 'INPUT_UNBOUNDED_ARRAY'
  | 'INPUT_OPEN_OBJECT'
  | 'INPUT_FREE_FORM'
  | 'SCHEMA_CYCLE'
  | 'BODY_UNSUPPORTED'
  | 'PICK_NOT_IN_RESPONSE'
  | 'PICK_NOT_LEAF'
  | 'OUTPUT_INVALID'
  | 'APPROVAL_INVALID'
  | 'DRY_RUN_INVALID'
  | 'DESCRIPTION_POISONED'
  | 'SECURITY_AMBIGUOUS'
  | 'SECURITY_UNSUPPORTED'
  | 'SECURITY_NO_SCOPES'
  | 'CREDENTIAL_INVALID'
  | 'CREDENTIAL_AS_INPUT'
  | 'SERVER_PROFILE_INVALID'
  | 'SURFACE_INVALID';

export interface GenerationError {
  code: GenerationErrorCode;
  /** The tool's name, or null for problems with the whole spec or manifest. */
  tool: string | null;
  /** Where in the manifest, e.g. 'tools[3]' or 'tools[3].input.limit'. */
  manifestPath: string | null;
  /** Where in the spec, e.g. 'paths./drafts/{filename}.get.parameters[0]', or null. */
  specPath: string | null;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  fix: string;
}

export interface GenerationWarning {
  tool: string | null;
  manifestPath: string | null;
  message: string;
}

/**
 * `error: tool "X" (openapi/tools.yaml tools[3]): <what> at <spec location> — fix: <how>`.
 */
export function formatError(e: GenerationError, manifestFile: string): string {
  const who = e.tool !== null ? `tool "${e.tool}" ` : '';
  const where = e.manifestPath !== null ? `(${manifestFile} ${e.manifestPath})` : `(${manifestFile})`;
  const at = e.specPath !== null ? ` at ${e.specPath}` : '';
  return `error: ${who}${where}: ${e.message}${at} — fix: ${e.fix}`;
}

export function formatWarning(w: GenerationWarning, manifestFile: string): string {
  const who = w.tool !== null ? `tool "${w.tool}" ` : '';
  const where = w.manifestPath !== null ? `(${manifestFile} ${w.manifestPath})` : `(${manifestFile})`;
  return `warning: ${who}${where}: ${w.message}`;
}
