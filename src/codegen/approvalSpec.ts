// What a human must confirm before a write runs (src/README.md, D6): the message template, its
// placeholders, and the optional read that shows the human what the target really is.

import { ArgumentBinder } from './argumentBinder.ts';
import { resolveTarget } from './bindTargets.ts';
import type { ManifestTool } from './manifest.ts';
import { findOperation } from './operationLookup.ts';
import { successResponse } from './outputSchema.ts';
import { projectResponse } from './projection.ts';
import type { Sink } from './sink.ts';
import type { ToolSecurity } from './security.ts';
import { destructiveReason, type SpecIndex, type SpecOperation } from './specIndex.ts';
import type { ApprovalSpec, ArgBinding } from './toolDefinition.ts';

const PLACEHOLDER = /\{([^{}]+)\}/g;

/** Binds the credentials of the lookup operation (security.ts), or null when they cannot be. */
export type LookupSecurity = (op: SpecOperation, binder: ArgumentBinder) => ToolSecurity | null;

/** A lookup pick: a field name, or a short path through objects (`data.name`); never a list. */
const LOOKUP_PICK = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,4}$/;

export function compileApproval(ix: SpecIndex, t: ManifestTool, args: ArgBinding[], sink: Sink, lookupSecurity: LookupSecurity): ApprovalSpec | null {
  const a = t.approval;
  if (a === undefined) {
    if (t.risk !== 'read') sink.error('APPROVAL_INVALID', `a ${t.risk} tool needs an approval message a human confirms`, null, "add `approval: { message: \"... '{arg}' ...?\" }`", '.approval');
    return null;
  }
  let lookup: ApprovalSpec['lookup'] = null;
  if (a.lookup !== undefined) {
    const l = a.lookup;
    const op = findOperation(ix, l.operation, sink, '.approval.lookup.operation');
    if (op !== null) {
      if ((op.method !== 'GET' && op.method !== 'HEAD') || destructiveReason(op) !== null) {
        sink.error('APPROVAL_INVALID', `approval lookup '${l.operation}' must be a read (GET/HEAD) operation`, op.loc, 'look up with a GET operation', '.approval.lookup.operation');
      } else {
        const binder = new ArgumentBinder();
        for (const [key, value] of Object.entries(l.args)) {
          const suffix = `.approval.lookup.args.${key}`;
          const target = resolveTarget(ix, op, null, key, sink, suffix);
          if (target === null) continue;
          const ref = typeof value === 'string' ? /^\{([A-Za-z][A-Za-z0-9_]*)\}$/.exec(value) : null;
          if (ref === null) {
            binder.bindFixed(target, value);
            continue;
          }
          const arg = ref[1] as string;
          if (!args.some((x) => x.arg === arg)) {
            sink.error('APPROVAL_INVALID', `lookup argument '{${arg}}' is not an argument of this tool`, null, `use one of: ${args.map((x) => `{${x.arg}}`).join(', ')}`, suffix);
            continue;
          }
          binder.bindArg(target, arg);
        }
        const security = lookupSecurity(op, binder);
        binder.reportUnboundParams(op, sink, (p) => `approval lookup '${l.operation}' needs '${p.name}'`, (name) => `add \`${name}: '{${name}}'\` under approval.lookup.args`, '.approval.lookup.args');
        const success = successResponse(ix, op);
        // A lookup whose spec declares no body is still worth making: the runtime shows only
        // the scalar values it finds under the picked names, so nothing unchecked reaches the human.
        if (success.raw !== null) {
          const projection = projectResponse(ix.doc, success.raw, l.pick, {});
          for (const p of projection.problems) sink.error(p.kind, `approval lookup: ${p.message}`, p.specPath, p.fix, '.approval.lookup.pick');
        }
        if (security !== null) lookup = {
          operation: {
            operationId: l.operation,
            method: op.method,
            path: op.path,
            args: binder.args,
            fixed: binder.fixed,
            body: null,
            successStatuses: success.statuses,
            idempotencyKeyHeader: null,
            credentials: security.credentials,
          },
          backendScopes: security.scopes,
          pick: l.pick,
        };
      }
    }
  }
  a.lookup?.pick.forEach((p, i) => {
    if (!LOOKUP_PICK.test(p)) {
      sink.error('APPROVAL_INVALID', `approval lookup pick '${p}' is not a field path`, null, 'pick scalar fields by name, through objects with dots (`data.name` for an answer enveloped in `data`), no lists; the message shows them as {lookup.<path>}', `.approval.lookup.pick[${i}]`);
    }
  });
  // The runtime fills {arg} from the call's arguments and {lookup.field} from the lookup.
  for (const m of a.message.matchAll(PLACEHOLDER)) {
    const name = m[1] as string;
    const simple = /^[A-Za-z0-9_]+$/.test(name) || /^lookup\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,4}$/.test(name);
    if (!simple) {
      sink.error('APPROVAL_INVALID', `approval message placeholder '{${name}}' is not {arg} or {lookup.field}`, null, 'use {argName} or {lookup.field}', '.approval.message');
    } else if (name.startsWith('lookup.')) {
      if (!a.lookup?.pick.includes(name.slice('lookup.'.length))) {
        sink.error('APPROVAL_INVALID', `approval message placeholder '{${name}}' is not a lookup pick`, null, a.lookup ? `add '${name.slice(7)}' to approval.lookup.pick` : 'add an approval.lookup', '.approval.message');
      }
    } else if (!args.some((x) => x.arg === name)) {
      const known = args.map((x) => `{${x.arg}}`).join(', ');
      sink.error('APPROVAL_INVALID', `approval message placeholder '{${name}}' is not an argument of this tool`, null, known === '' ? 'remove the placeholder' : `use one of: ${known}`, '.approval.message');
    }
  }
  if (t.risk === 'destructive' && a.count === 1) {
    sink.error('APPROVAL_INVALID', 'a destructive tool needs two approvers', null, 'remove `approval.count` (destructive tools default to 2) or set it to 2', '.approval.count');
  }
  // Emitted only when set, so manifests without them compile to the same code; the runtime
  // resolves the defaults in one place (src/tools/approvalPolicy.ts).
  return {
    message: a.message,
    lookup,
    withoutElicitation: a.withoutElicitation ?? null,
    ...(a.approvers ? { approvers: [...new Set(a.approvers)] } : {}),
    ...(a.count !== undefined ? { count: a.count } : {}),
    ...(a.link !== undefined ? { link: a.link } : {}),
  };
}

