/**
 * The one policy that decides what a caller may see and do (src/README.md D4, D5).
 * `tools/list` filtering, the HTTP layer's 403 before dispatch and the handler's own refusal
 * all call these functions, so what is listed and what is enforced cannot drift apart.
 */
import type { Caller } from './caller.ts';

export interface ScopedTool {
  name: string;
  /** Every one of these scopes is needed to see and call the tool. */
  callerScopes: readonly string[];
}

/** The scopes the caller lacks for this tool; empty when it may use it. */
export function missingScopes(tool: ScopedTool, caller: Pick<Caller, 'scopes'>): string[] {
  return tool.callerScopes.filter((scope) => !caller.scopes.includes(scope));
}

export function mayUse(tool: ScopedTool, caller: Pick<Caller, 'scopes'>): boolean {
  return missingScopes(tool, caller).length === 0;
}

/** The tools a caller may see, in catalogue order. */
export function visibleTools<T extends ScopedTool>(tools: readonly T[], caller: Pick<Caller, 'scopes'>): T[] {
  return tools.filter((tool) => mayUse(tool, caller));
}
