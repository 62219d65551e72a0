/** openapi-typescript's types for an already-bundled OpenAPI 3.x document (default options). */
export function openapiTypes(spec: Record<string, unknown>): string;
