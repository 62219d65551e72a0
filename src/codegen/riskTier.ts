// The manifest's risk tier, checked against what the operation really does, and turned into the
// MCP annotations: one source for hints, approval and audit level (src/README.md, D5).

import type { ManifestTool } from './manifest.ts';
import type { Sink } from './sink.ts';
import { destructiveReason, type SpecOperation } from './specIndex.ts';
import type { HttpMethod, Risk, ToolAnnotations } from './toolDefinition.ts';

export function checkRisk(t: ManifestTool, op: SpecOperation, method: HttpMethod, sink: Sink): void {
  const reason = destructiveReason(op);
  if (t.risk === 'read' && method !== 'GET' && method !== 'HEAD') {
    sink.error('RISK_MISMATCH', `risk is 'read' but the operation is ${method} ${op.path}, which changes state`, op.loc, "set `risk: write` (and add an approval), or choose a GET operation", '.risk');
  }
  if (reason !== null && t.risk !== 'destructive') {
    sink.error('RISK_MISMATCH', `the operation is destructive (${reason}) but risk is '${t.risk}'`, op.loc, 'set `risk: destructive` and `allowDestructive: true` if a human really wants this exposed; otherwise remove the tool', '.risk');
  }
  if (t.risk === 'destructive' && t.allowDestructive !== true) {
    sink.error('DESTRUCTIVE_NOT_ALLOWED', 'destructive tools are refused unless the manifest says `allowDestructive: true`', op.loc, 'add `allowDestructive: true` after review, or remove the tool', '.risk');
  }
  if (t.risk === 'write' && (method === 'GET' || method === 'HEAD')) {
    sink.warn(`risk is 'write' on a ${method} operation; 'read' would skip the approval step`, '.risk');
  }
}

/** Risk tiers → MCP annotations (src/README.md, D5). All four hints always set. */
export function annotationsFor(risk: Risk, method: HttpMethod, title: string): ToolAnnotations {
  switch (risk) {
    case 'read':
      return { title, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
    case 'write':
      return { title, readOnlyHint: false, destructiveHint: false, idempotentHint: method === 'PUT', openWorldHint: false };
    case 'destructive':
      return { title, readOnlyHint: false, destructiveHint: true, idempotentHint: method === 'DELETE' || method === 'PUT', openWorldHint: false };
  }
}

