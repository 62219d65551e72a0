/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): how an MCP client discovers which
 * authorization server issues tokens for this server and which scopes exist. Served at the
 * well-known URI of each resource (`/mcp`, or a manifest surface's path; §3.1: path inserted after
 * the well-known prefix) and, where there is one resource, at the root variant older clients fetch.
 */
export interface ProtectedResourceOptions {
  /** The resource identifier: the canonical URL of the MCP endpoint. */
  resource: string;
  authorizationServers: readonly string[];
  /** Only the scopes Deputy's tools use. */
  scopes: readonly string[];
  resourceName: string;
  documentationUrl?: string;
  /**
   * Also answer at the root variant `/.well-known/oauth-protected-resource`, which older clients
   * fetch: only where one resource is served, else that URL could not say which one it describes.
   */
  rootVariant?: boolean;
}

export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** The metadata document and every path it is served at (app.ts answers them; src/README.md D44). */
export function protectedResourceDocument(options: ProtectedResourceOptions): { paths: string[]; document: object } {
  const document = {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    scopes_supported: [...options.scopes],
    bearer_methods_supported: ['header'],
    resource_name: options.resourceName,
    ...(options.documentationUrl ? { resource_documentation: options.documentationUrl } : {}),
  };
  const path = new URL(options.resource).pathname;
  const paths = [...(options.rootVariant === false ? [] : ['/.well-known/oauth-protected-resource']), ...(path === '/' ? [] : [`/.well-known/oauth-protected-resource${path}`])];
  return { paths, document };
}
