/** Who is calling a tool: the verified identity from the caller's bearer token. */
export interface Caller {
  /** `sub`: the user (or client) the agent acts for. Sessions are bound to it. */
  subject: string;
  /** `client_id` (RFC 9068) or `azp`: the agent's OAuth client. */
  clientId: string;
  scopes: readonly string[];
  /** The token's `roles` claim, where the authorization server issues one (approval page approvers). */
  roles?: readonly string[];
  /** Seconds since the epoch. */
  expiresAt: number;
}
