/**
 * Scopes read from the OpenAPI contract, never hand-copied: the authorization server offers
 * exactly the scopes the spec's OAuth2 scheme defines, and the token CLI grants an agent
 * exactly the scopes Deputy's tools need.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../../openapi/admin-api.yaml', import.meta.url));
export const DEFAULT_TOOLS_PATH = fileURLToPath(new URL('../../openapi/tools.yaml', import.meta.url));

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export async function readYaml(path: string): Promise<unknown> {
  return parse(await readFile(path, 'utf8'));
}

function oauth2SchemeNames(spec: Json): Set<string> {
  const schemes = isObject(spec.components) && isObject(spec.components.securitySchemes) ? spec.components.securitySchemes : {};
  return new Set(Object.entries(schemes).filter(([, s]) => isObject(s) && s.type === 'oauth2').map(([name]) => name));
}

/** Every scope declared by the spec's OAuth2 security schemes, in spec order. */
export function specScopes(spec: unknown): string[] {
  if (!isObject(spec)) throw new Error('the OpenAPI document is not an object');
  const schemes = isObject(spec.components) && isObject(spec.components.securitySchemes) ? spec.components.securitySchemes : {};
  const scopes = new Set<string>();
  for (const name of oauth2SchemeNames(spec)) {
    const flows = (schemes[name] as Json).flows;
    for (const flow of isObject(flows) ? Object.values(flows) : []) {
      if (isObject(flow) && isObject(flow.scopes)) for (const s of Object.keys(flow.scopes)) scopes.add(s);
    }
  }
  if (scopes.size === 0) throw new Error('the OpenAPI document declares no OAuth2 scopes');
  return [...scopes];
}

/** operationId → the scopes of its OAuth2 `security` requirements (operation-level, else top-level). */
export function operationScopes(spec: unknown): Map<string, string[]> {
  if (!isObject(spec)) throw new Error('the OpenAPI document is not an object');
  const oauth2 = oauth2SchemeNames(spec);
  const scopesOf = (security: unknown): string[] => {
    const out = new Set<string>();
    for (const requirement of Array.isArray(security) ? security : []) {
      if (!isObject(requirement)) continue;
      for (const [scheme, scopes] of Object.entries(requirement)) {
        if (oauth2.has(scheme) && Array.isArray(scopes)) for (const s of scopes) out.add(String(s));
      }
    }
    return [...out];
  };
  const result = new Map<string, string[]>();
  for (const pathItem of Object.values(isObject(spec.paths) ? spec.paths : {})) {
    if (!isObject(pathItem)) continue;
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (isObject(op) && typeof op.operationId === 'string') {
        result.set(op.operationId, scopesOf(op.security ?? spec.security));
      }
    }
  }
  return result;
}

/**
 * The union of the scopes of the operations a tool manifest (`tools: [{ name, operation }]`)
 * names: what an agent token must carry to call every Deputy tool. Throws on an operation the
 * spec does not define.
 */
export function scopesForTools(spec: unknown, manifest: unknown, only?: readonly string[]): string[] {
  const all = isObject(manifest) && Array.isArray(manifest.tools) ? manifest.tools : undefined;
  if (!all) throw new Error('the tool manifest has no `tools` list');
  const tools = only ? all.filter((tool) => isObject(tool) && only.includes(String(tool.name))) : all;
  const byOperation = operationScopes(spec);
  const scopes = new Set<string>();
  for (const tool of tools) {
    const operation = isObject(tool) ? tool.operation : undefined;
    const name = isObject(tool) && typeof tool.name === 'string' ? tool.name : '?';
    if (typeof operation !== 'string') throw new Error(`tool '${name}' names no operation`);
    const opScopes = byOperation.get(operation);
    if (!opScopes) throw new Error(`tool '${name}' names operation '${operation}', which the spec does not define`);
    for (const s of opScopes) scopes.add(s);
  }
  return [...scopes];
}

/** The manifest's surfaces (openapi/README.md, "Surfaces"): name → its path and tools; empty when it declares none. */
export function manifestSurfaces(manifest: unknown): Map<string, { path: string; tools: string[] }> {
  const section = isObject(manifest) && isObject(manifest.surfaces) ? manifest.surfaces : {};
  const result = new Map<string, { path: string; tools: string[] }>();
  for (const [name, surface] of Object.entries(section)) {
    if (isObject(surface) && typeof surface.path === 'string' && Array.isArray(surface.tools)) result.set(name, { path: surface.path, tools: surface.tools.map(String) });
  }
  return result;
}
