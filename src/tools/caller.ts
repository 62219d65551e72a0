/** Who is calling a tool: the verified identity from the caller's bearer token. */
export interface Caller {
  /** `sub`: the user (or client) the agent acts for. Sessions are bound to it. */
  subject: string;
  /** `client_id` (RFC 9068) or `azp`: the agent's OAuth client. */
  clientId: string;
  scopes: readonly string[];
  /** The token's `roles` claim, where the authorization server issues one (approval page approvers). */
  roles?: readonly string[];
  /**
   * The tenant the caller acts in: the configured claim of its token (DEPUTY_TENANT_CLAIM), or
   * DEPUTY_STDIO_TENANT over stdio; null when tenants are off. Backend credentials, sessions,
   * approvals and quotas are all bound to it (src/README.md D41).
   */
  tenant: string | null;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** A tenant name (src/README.md D41); the token file's `tenant:` entries follow the same rule. */
export { TENANT_NAME } from '../backend/index.ts';
