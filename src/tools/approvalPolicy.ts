/**
 * Who may approve a write on the approval page and how many must (openapi/README.md,
 * `approval.approvers`, `approval.count`, `approval.link`): the manifest's values, or their
 * defaults, resolved in this one place for the pipeline and the page alike.
 */
import type { ToolDefinition } from '../generated/tools.ts';

export interface ApprovalPolicy {
  /** Different people who must approve: 1, or 2 (the two-person rule). */
  count: 1 | 2;
  /** An approver must hold one of these, as a scope or a role. */
  approvers: string[];
  /** A client that can show neither a form nor a URL gets the page link in an error. */
  link: boolean;
}

export function approvalPolicyOf(tool: Pick<ToolDefinition, 'risk' | 'callerScopes' | 'approval'>): ApprovalPolicy {
  const spec = tool.approval;
  return {
    count: spec?.count ?? (tool.risk === 'destructive' ? 2 : 1),
    // Whoever may ask for the action may approve it, unless the owners named someone narrower.
    approvers: spec?.approvers ?? [...tool.callerScopes],
    link: spec?.link ?? false,
  };
}

/** What a signed-in person on the page holds: the scopes and roles of their token. */
export interface ApproverIdentity {
  subject: string;
  scopes: readonly string[];
  roles: readonly string[];
  /** Their tenant (src/README.md D41); an approval is decided only within its own tenant. Absent = null. */
  tenant?: string | null;
}

/**
 * Whether a record belongs to this person's tenant. Records written before tenants existed
 * carry none and count as tenant-less (null).
 */
export function sameTenant(record: { tenant?: string | null }, identity: { tenant?: string | null }): boolean {
  return (record.tenant ?? null) === (identity.tenant ?? null);
}

export function mayApprove(identity: ApproverIdentity, approvers: readonly string[]): boolean {
  return approvers.some((needed) => identity.scopes.includes(needed) || identity.roles.includes(needed));
}
