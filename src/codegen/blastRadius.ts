// The blast-radius report printed by `npm run lint:tools`: for each tool, what it can touch and
// reveal, and the worst it can do if the model calling it is fully prompt-injected; then every
// operation that is not exposed (the surface is deny-by-default).

import type { CompileResult, OperationSummary } from './compile.ts';
import { isObject, type JsonObject } from './schemaView.ts';
import type { ToolDefinition } from './toolDefinition.ts';

export function blastRadiusReport(result: CompileResult, title: string): string {
  const lines: string[] = [title, ''];
  for (const t of result.tools) lines.push(...toolSection(t, result.operations, result.profile.surfaces), '');
  const exposed = new Set(result.tools.map((t) => t.operation.operationId));
  const hidden = result.operations.filter((o) => o.operationId === null || !exposed.has(o.operationId));
  lines.push(`Not exposed (deny by default): ${hidden.length} of ${result.operations.length} operations`);
  const idWidth = Math.max(0, ...hidden.map((o) => (o.operationId ?? '(no operationId)').length));
  const routeWidth = Math.max(0, ...hidden.map((o) => `${o.method} ${o.path}`.length));
  for (const o of hidden) {
    const id = (o.operationId ?? '(no operationId)').padEnd(idWidth);
    const route = `${o.method} ${o.path}`.padEnd(routeWidth);
    const scopes = o.scopes.length > 0 ? o.scopes.join(' ') : '(no scopes)';
    lines.push(`  ${id}  ${route}  ${scopes}${o.destructive ? '  [destructive]' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function toolSection(t: ToolDefinition, ops: OperationSummary[], surfaces: CompileResult['profile']['surfaces']): string[] {
  const op = t.operation;
  const row = (label: string, value: string) => `  ${label.padEnd(15)}${value}`;
  const out = [`${t.name}  [${t.risk}]  ${op.method} ${op.path}  (${op.operationId})`];
  out.push(row('title', t.title));
  out.push(row('mode', modeOf(t)));
  // Where an agent can reach it (openapi/README.md, "Surfaces"); only when the manifest declares surfaces.
  if (surfaces) {
    const on = surfaces.filter((s) => s.tools.includes(t.name)).map((s) => `${s.name} (${s.path}${s.readOnly ? ', read-only' : ''})`);
    out.push(row('surfaces', on.length === 0 ? '— (served nowhere)' : on.join(', ')));
  }
  out.push(row('backend scopes', list(t.backendScopes)));
  out.push(row('caller scopes', list(t.callerScopes)));
  // Where each credential goes, never its value: lint output is pasted into reviews.
  const where = (c: ToolDefinition['operation']['credentials'][number]) => (c.name === null ? `${c.kind}` : `${c.kind} ${c.name}`);
  out.push(row('credentials', op.credentials.length === 0 ? '—' : op.credentials.map((c) => `${c.scheme} (${where(c)})`).join(' + ')));
  const props = isObject(t.inputSchema.properties) ? t.inputSchema.properties : {};
  const required = new Set(Array.isArray(t.inputSchema.required) ? (t.inputSchema.required as string[]) : []);
  const argWidth = Math.max(0, ...op.args.map((a) => a.arg.length));
  if (op.args.length === 0) out.push(row('inputs', '—'));
  op.args.forEach((a, i) => {
    const s = props[a.arg];
    const bounds = isObject(s) ? describeBounds(s) : '';
    const req = required.has(a.arg) ? 'required' : 'optional';
    out.push(row(i === 0 ? 'inputs' : '', `${a.arg.padEnd(argWidth)}  ${a.in}, ${req}, ${bounds}`));
  });
  out.push(row('fixed', op.fixed.length === 0 ? '—' : op.fixed.map((f) => `${f.name}=${JSON.stringify(f.value)} (${f.in})`).join(', ')));
  if (op.body?.template !== undefined) out.push(row('body template', JSON.stringify(op.body.template)));
  out.push(row('reveals', t.output.pick.length === 0 ? '— (status only)' : t.output.pick.join(', ')));
  out.push(row('untrusted', list(t.output.untrusted)));
  const caps = Object.entries(t.output.listCaps).map(([k, v]) => `${k} ≤ ${v}`);
  out.push(row('limits', [...caps, `output ≤ ${t.output.maxBytes} bytes`, `timeout ${t.timeoutMs} ms`].join(', ')));
  if (t.approval === null) out.push(row('approval', '— (read)'));
  else {
    const lookup = t.approval.lookup;
    const via = lookup === null ? '' : ` (shows ${lookup.pick.join(', ')} from ${lookup.operation.operationId}, scopes ${list(lookup.backendScopes)})`;
    out.push(row('approval', `${JSON.stringify(t.approval.message)}${via}`));
  }
  const a = t.annotations;
  out.push(row('annotations', `readOnly=${a.readOnlyHint} destructive=${a.destructiveHint} idempotent=${a.idempotentHint} openWorld=${a.openWorldHint}`));
  out.push(row('worst case', `if the model is fully prompt-injected: ${worstCase(t, ops)}`));
  return out;
}

/** `live`, or `dry-run` and what it calls instead of the write (openapi/README.md, "Dry run"). */
export function modeOf(t: ToolDefinition): string {
  if (t.dryRun === undefined) return 'live';
  const p = t.dryRun.preview;
  if (p === null) return 'dry-run (never calls the write; answers with the request it would send)';
  if (p.kind === 'operation') return `dry-run (never calls the write; previews with ${p.operation.operationId}, scopes ${list(p.backendScopes)})`;
  return `dry-run (calls the write with '${p.name}: ${p.value}', which the backend must confirm)`;
}

function list(xs: readonly string[]): string {
  return xs.length === 0 ? '—' : xs.join(' ');
}

/** "string, pattern ^..$, length 4..100" and the like. */
export function describeBounds(s: JsonObject): string {
  const parts: string[] = [];
  const type = Array.isArray(s.type) ? (s.type as string[]).join('|') : typeof s.type === 'string' ? s.type : 'any';
  parts.push(type);
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((v) => JSON.stringify(v)).join('|')}`);
  if (s.const !== undefined) parts.push(`= ${JSON.stringify(s.const)}`);
  if (typeof s.format === 'string') parts.push(`format ${s.format}`);
  if (typeof s.pattern === 'string') parts.push(`pattern ${s.pattern}`);
  const range = (lo: unknown, hi: unknown, what: string) => {
    if (lo === undefined && hi === undefined) return;
    parts.push(`${what} ${lo === undefined ? '' : JSON.stringify(lo)}..${hi === undefined ? '' : JSON.stringify(hi)}`);
  };
  range(s.minLength, s.maxLength, 'length');
  range(s.minimum ?? s.exclusiveMinimum, s.maximum ?? s.exclusiveMaximum, 'range');
  range(s.minItems, s.maxItems, 'items');
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(', ');
}

function leafNames(picks: readonly string[]): string {
  const names = picks.map((p) => p.split('.').pop()?.replace(/\[\]/g, '') ?? p);
  return [...new Set(names)].join(', ');
}

/** One line, derived from risk, method, path arguments, model-set inputs, fixed values and scopes. */
export function worstCase(t: ToolDefinition, ops: OperationSummary[]): string {
  const op = t.operation;
  const pathArgs = op.args.filter((a) => a.in === 'path').map((a) => a.arg);
  const otherArgs = op.args.filter((a) => a.in !== 'path').map((a) => a.arg);
  const scopes = list(t.backendScopes);
  const untrusted = t.output.untrusted.length > 0 ? ` Backend free text (${leafNames(t.output.untrusted)}) reaches the model and may carry injected instructions.` : '';
  if (t.dryRun !== undefined) return `changes nothing while in dry-run mode (it shows the request it would send); once live: ${worstCase({ ...t, dryRun: undefined }, ops)}`;
  if (t.risk === 'read') {
    const fields = t.output.pick.length > 0 ? leafNames(t.output.pick) : 'nothing but the status';
    const caps = Object.values(t.output.listCaps);
    const reach = pathArgs.length > 0 ? `for any ${pathArgs.join(' and ')} it can name or guess` : 'of every record its filters match';
    const paging = caps.length > 0 ? `, ${Math.max(...caps)} per call, page after page` : '';
    return `reads ${fields} ${reach}${paging} (scopes ${scopes}); changes nothing.${untrusted}`;
  }
  const summary = ops.find((o) => o.operationId === op.operationId)?.summary ?? op.operationId;
  const target = pathArgs.length > 0 ? `any ${pathArgs.join(' and ')} the caller can name` : 'whatever target the model describes';
  const chosen = otherArgs.length > 0 ? `, with ${otherArgs.join(', ')} chosen by the model` : '';
  const fixed = op.fixed.length > 0 ? ` (always ${op.fixed.map((f) => `${f.name}=${JSON.stringify(f.value)}`).join(', ')})` : '';
  const verb = t.risk === 'destructive' ? 'irreversibly runs' : 'runs';
  const retry = op.idempotencyKeyHeader !== null ? '; retries reuse one Idempotency-Key' : t.annotations.idempotentHint ? '' : '; not idempotent';
  return `${verb} "${summary}" on ${target}${chosen}${fixed}, once per human approval (scopes ${scopes})${retry}.${untrusted}`;
}
