/**
 * The admin API contract, loaded once from `openapi/admin-api.yaml` and turned into what the mock
 * backend enforces: the list of operations (method, path, scopes from `security`, parameters,
 * bodies, responses), a router from (method, path) to an operation, and Ajv validators for
 * requests and responses. Nothing here is hand-copied from the spec; change the YAML and the mock
 * follows.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../openapi/admin-api.yaml', import.meta.url));

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head' | 'options' | 'trace';
const HTTP_METHODS: readonly HttpMethod[] = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

type JsonSchema = Record<string, unknown>;

export interface ParameterSpec {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
}

export interface ResponseSpec {
  /** Media type → schema; empty for responses without a body (204). */
  content: Record<string, JsonSchema | undefined>;
  headers: string[];
}

export interface OperationSpec {
  operationId: string;
  method: HttpMethod;
  /** The path template exactly as in the spec, e.g. `/drafts/{filename}`. */
  path: string;
  /**
   * The scopes the operation's `security` requirement lists (all of them are needed), or `null`
   * when the operation is public (`security: []`).
   */
  requiredScopes: string[] | null;
  parameters: ParameterSpec[];
  requestBody: { required: boolean; contentType: string; schema: JsonSchema } | null;
  responses: Record<string, ResponseSpec>;
  /** True when the operation accepts an `Idempotency-Key` header. */
  idempotent: boolean;
}

/** One invalid request field, as listed in a 400 ValidationProblem (`query.limit`, `body.plan`). */
export interface FieldError {
  field: string;
  message: string;
}

export interface RequestParts {
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Headers;
  /** The parsed JSON body, or `undefined` when the request has none. */
  body: unknown;
}

export interface ValidRequest {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

export type RequestValidation = { ok: true; value: ValidRequest } | { ok: false; errors: FieldError[] };

export interface ResponseParts {
  status: number;
  /** The Content-Type header as sent (parameters such as charset are ignored). */
  contentType: string | null;
  /** The parsed JSON body, or `undefined` when the response has none. */
  body: unknown;
}

export type ResponseValidation = { ok: true } | { ok: false; errors: string[] };

export interface ApiSpec {
  readonly document: Record<string, unknown>;
  readonly operations: readonly OperationSpec[];
  getOperation(operationId: string): OperationSpec;
  /** Finds the operation serving a concrete request path, with its (decoded) path parameters. */
  matchOperation(method: string, pathname: string): { operation: OperationSpec; params: Record<string, string> } | null;
  validateRequest(operationId: string, parts: RequestParts): RequestValidation;
  /** Checks a response the way a client of the contract would: documented status, media type, body schema. */
  validateResponse(operationId: string, response: ResponseParts): ResponseValidation;
}

const SCHEMA_ID = 'https://acme-press.example/schemas/admin-api.json';

const cache = new Map<string, ApiSpec>();

/** Loads and compiles the contract; the result is cached per file. Throws on anything it cannot enforce. */
export function loadSpec(file: string = DEFAULT_SPEC_PATH): ApiSpec {
  let spec = cache.get(file);
  if (!spec) {
    spec = compileSpec(parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>);
    cache.set(file, spec);
  }
  return spec;
}

export function compileSpec(document: Record<string, unknown>): ApiSpec {
  const components = (document['components'] ?? {}) as Record<string, Record<string, unknown>>;
  const schemas = rewriteRefs(components['schemas'] ?? {}) as Record<string, JsonSchema>;
  const globalSecurity = document['security'] as SecurityRequirement[] | undefined;

  // Two Ajv instances: parameters arrive as strings and are coerced to their declared types;
  // bodies (requests and responses) are JSON and must match exactly.
  const common = { strict: true, allErrors: true, allowUnionTypes: true, useDefaults: true } as const;
  const paramAjv = new Ajv2020({ ...common, coerceTypes: true });
  const bodyAjv = new Ajv2020(common);
  const responseAjv = new Ajv2020({ ...common, useDefaults: false });
  for (const ajv of [paramAjv, bodyAjv, responseAjv]) {
    addFormats.default(ajv);
    ajv.addSchema({ $id: SCHEMA_ID, $defs: schemas });
  }

  const operations: OperationSpec[] = [];
  const requestValidators = new Map<string, RequestValidators>();
  const responseValidators = new Map<string, Map<string, ValidateFunction>>();
  const routes: Route[] = [];
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, unknown>>;

  for (const [path, pathItem] of Object.entries(paths)) {
    const sharedParams = ((pathItem['parameters'] ?? []) as unknown[]).map((p) => toParameter(document, p));
    for (const method of HTTP_METHODS) {
      const raw = pathItem[method] as Record<string, unknown> | undefined;
      if (!raw) continue;
      const operationId = raw['operationId'];
      if (typeof operationId !== 'string') throw new Error(`spec: ${method.toUpperCase()} ${path} has no operationId`);
      if (requestValidators.has(operationId)) throw new Error(`spec: duplicate operationId ${operationId}`);

      const own = ((raw['parameters'] ?? []) as unknown[]).map((p) => toParameter(document, p));
      const parameters = [...sharedParams.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own];
      const operation: OperationSpec = {
        operationId,
        method,
        path,
        requiredScopes: requiredScopesOf(operationId, (raw['security'] as SecurityRequirement[] | undefined) ?? globalSecurity),
        parameters,
        requestBody: toRequestBody(document, operationId, raw['requestBody']),
        responses: toResponses(document, raw['responses']),
        idempotent: parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'),
      };
      operations.push(operation);
      requestValidators.set(operationId, compileRequestValidators(operation, paramAjv, bodyAjv));
      responseValidators.set(operationId, compileResponseValidators(operation, responseAjv));
      routes.push(toRoute(operation));
    }
  }
  // Literal segments beat parameters (`/drafts/new` before `/drafts/{filename}`), as OpenAPI says.
  routes.sort((a, b) => b.literalSegments - a.literalSegments);

  const byId = new Map(operations.map((o) => [o.operationId, o]));
  const getOperation = (operationId: string): OperationSpec => {
    const op = byId.get(operationId);
    if (!op) throw new Error(`spec: unknown operationId ${operationId}`);
    return op;
  };

  return {
    document,
    operations,
    getOperation,
    matchOperation(method, pathname) {
      const m = method.toLowerCase();
      for (const route of routes) {
        if (route.operation.method !== m) continue;
        const match = route.regex.exec(pathname);
        if (!match) continue;
        const params: Record<string, string> = {};
        let decodable = true;
        route.names.forEach((name, i) => {
          try {
            params[name] = decodeURIComponent(match[i + 1] ?? '');
          } catch {
            decodable = false;
          }
        });
        if (decodable) return { operation: route.operation, params };
      }
      return null;
    },
    validateRequest(operationId, parts) {
      const v = requestValidators.get(operationId);
      if (!v) throw new Error(`spec: unknown operationId ${operationId}`);
      return runRequestValidators(getOperation(operationId), v, parts);
    },
    validateResponse(operationId, response) {
      const op = getOperation(operationId);
      const key = responseKey(op, response.status);
      if (!key) return { ok: false, errors: [`status ${response.status} is not documented for ${operationId}`] };
      const documented = op.responses[key]!;
      const mediaTypes = Object.keys(documented.content);
      if (mediaTypes.length === 0) {
        return response.body === undefined || response.body === ''
          ? { ok: true }
          : { ok: false, errors: [`status ${response.status} of ${operationId} has no body in the spec`] };
      }
      const mediaType = response.contentType?.split(';')[0]?.trim().toLowerCase() ?? null;
      if (!mediaType || !mediaTypes.includes(mediaType)) {
        return { ok: false, errors: [`content type ${mediaType ?? '(none)'} is not one of ${mediaTypes.join(', ')}`] };
      }
      const validate = responseValidators.get(operationId)!.get(`${key} ${mediaType}`);
      if (!validate || validate(response.body)) return { ok: true };
      return { ok: false, errors: (validate.errors ?? []).map((e) => `body${e.instancePath} ${e.message ?? 'is invalid'}${describeParams(e)}`) };
    },
  };
}

type SecurityRequirement = Record<string, string[]>;

function requiredScopesOf(operationId: string, security: SecurityRequirement[] | undefined): string[] | null {
  if (!security || security.length === 0) return null;
  // Alternatives (several requirement objects) would need "any of" enforcement; the contract
  // promises exactly one requirement per operation, so refuse to guess.
  if (security.length > 1) throw new Error(`spec: ${operationId} lists ${security.length} security alternatives; the mock enforces exactly one`);
  return Object.values(security[0]!).flat();
}

function resolveRef(document: Record<string, unknown>, value: unknown): Record<string, unknown> {
  let current = value as Record<string, unknown>;
  for (let depth = 0; typeof current?.['$ref'] === 'string'; depth++) {
    if (depth > 20) throw new Error('spec: $ref chain too deep');
    const ref = current['$ref'];
    if (!ref.startsWith('#/')) throw new Error(`spec: only local $refs are supported, got ${ref}`);
    let target: unknown = document;
    for (const token of ref.slice(2).split('/')) {
      target = (target as Record<string, unknown> | undefined)?.[token.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (target === undefined) throw new Error(`spec: unresolved $ref ${ref}`);
    current = target as Record<string, unknown>;
  }
  return current;
}

/** Points `#/components/schemas/X` at the `$defs` of the schema document registered with Ajv. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        out[k] = `${SCHEMA_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
      } else {
        out[k] = rewriteRefs(v);
      }
    }
    return out;
  }
  return value;
}

function toParameter(document: Record<string, unknown>, raw: unknown): ParameterSpec {
  const p = resolveRef(document, raw);
  const location = p['in'] as ParameterSpec['in'];
  return {
    name: String(p['name']),
    in: location,
    required: location === 'path' ? true : Boolean(p['required']),
    schema: rewriteRefs(p['schema'] ?? {}) as JsonSchema,
  };
}

function toRequestBody(document: Record<string, unknown>, operationId: string, raw: unknown): OperationSpec['requestBody'] {
  if (!raw) return null;
  const body = resolveRef(document, raw);
  const content = (body['content'] ?? {}) as Record<string, { schema?: unknown }>;
  const types = Object.keys(content);
  if (types.length !== 1 || types[0] !== 'application/json') {
    throw new Error(`spec: ${operationId} request body must be application/json only, got ${types.join(', ')}`);
  }
  return { required: Boolean(body['required']), contentType: 'application/json', schema: rewriteRefs(content['application/json']?.schema ?? {}) as JsonSchema };
}

function toResponses(document: Record<string, unknown>, raw: unknown): Record<string, ResponseSpec> {
  const out: Record<string, ResponseSpec> = {};
  for (const [status, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const response = resolveRef(document, value);
    const content: ResponseSpec['content'] = {};
    for (const [type, media] of Object.entries((response['content'] ?? {}) as Record<string, { schema?: unknown }>)) {
      content[type.toLowerCase()] = media.schema === undefined ? undefined : (rewriteRefs(media.schema) as JsonSchema);
    }
    out[status] = { content, headers: Object.keys((response['headers'] ?? {})) };
  }
  return out;
}

function responseKey(op: OperationSpec, status: number): string | null {
  const exact = String(status);
  if (op.responses[exact]) return exact;
  const range = `${exact[0]}XX`;
  if (op.responses[range]) return range;
  return op.responses['default'] ? 'default' : null;
}

interface Route {
  operation: OperationSpec;
  regex: RegExp;
  names: string[];
  literalSegments: number;
}

function toRoute(operation: OperationSpec): Route {
  const names: string[] = [];
  let literalSegments = 0;
  const pattern = operation.path
    .split('/')
    .map((segment) => {
      const m = /^\{([^}]+)\}$/.exec(segment);
      if (m) {
        names.push(m[1]!);
        return '([^/]+)';
      }
      if (segment) literalSegments++;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { operation, regex: new RegExp(`^${pattern}/?$`), names, literalSegments };
}

interface RequestValidators {
  path: ValidateFunction;
  query: ValidateFunction;
  header: ValidateFunction;
  body: ValidateFunction | null;
}

function objectSchema(params: ParameterSpec[], lowerCaseNames: boolean, closed: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const p of params) {
    const name = lowerCaseNames ? p.name.toLowerCase() : p.name;
    properties[name] = p.schema;
    if (p.required) required.push(name);
  }
  return { type: 'object', properties, required, ...(closed ? { additionalProperties: false } : {}) };
}

function compileRequestValidators(op: OperationSpec, paramAjv: Ajv2020, bodyAjv: Ajv2020): RequestValidators {
  const of = (location: ParameterSpec['in']) => op.parameters.filter((p) => p.in === location);
  return {
    path: paramAjv.compile(objectSchema(of('path'), false, true)),
    // Unknown query parameters are refused: a misspelt filter silently ignored is a bug hidden.
    query: paramAjv.compile(objectSchema(of('query'), false, true)),
    // Headers are open (every client sends Host, User-Agent, ...); names compare case-insensitively.
    header: paramAjv.compile(objectSchema(of('header'), true, false)),
    body: op.requestBody ? bodyAjv.compile(op.requestBody.schema) : null,
  };
}

function compileResponseValidators(op: OperationSpec, ajv: Ajv2020): Map<string, ValidateFunction> {
  const out = new Map<string, ValidateFunction>();
  for (const [status, response] of Object.entries(op.responses)) {
    for (const [type, schema] of Object.entries(response.content)) {
      if (schema) out.set(`${status} ${type}`, ajv.compile(schema));
    }
  }
  return out;
}

function runRequestValidators(op: OperationSpec, v: RequestValidators, parts: RequestParts): RequestValidation {
  const errors: FieldError[] = [];

  const params: Record<string, unknown> = { ...parts.params };
  if (!v.path(params)) errors.push(...toFieldErrors('path', v.path.errors));

  const query: Record<string, unknown> = {};
  for (const key of new Set(parts.query.keys())) {
    const values = parts.query.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  if (!v.query(query)) errors.push(...toFieldErrors('query', v.query.errors, 'unknown query parameter'));

  const headerNames = new Set(op.parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase()));
  const headers: Record<string, unknown> = {};
  for (const name of headerNames) {
    const value = parts.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  if (!v.header(headers)) {
    const display = new Map(op.parameters.filter((p) => p.in === 'header').map((p) => [p.name.toLowerCase(), p.name]));
    errors.push(...toFieldErrors('header', v.header.errors).map((e) => ({ ...e, field: `header.${display.get(e.field.slice(7)) ?? e.field.slice(7)}` })));
  }

  const body = parts.body;
  if (!op.requestBody) {
    if (body !== undefined) errors.push({ field: 'body', message: 'this operation takes no request body' });
  } else if (body === undefined) {
    if (op.requestBody.required) errors.push({ field: 'body', message: 'is required' });
  } else if (v.body && !v.body(body)) {
    errors.push(...toFieldErrors('body', v.body.errors));
  }

  return errors.length > 0 ? { ok: false, errors: dedupe(errors) } : { ok: true, value: { params, query, headers, body } };
}

function toFieldErrors(location: string, errors: ErrorObject[] | null | undefined, additionalMessage = 'is not allowed'): FieldError[] {
  return (errors ?? []).map((e) => {
    const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      segments.push(String(e.params['missingProperty']));
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      segments.push(String(e.params['additionalProperty']));
      message = additionalMessage;
    } else {
      message += describeParams(e);
    }
    return { field: [location, ...segments].join('.'), message };
  });
}

function describeParams(e: ErrorObject): string {
  if (e.keyword === 'enum') return `: ${(e.params['allowedValues'] as unknown[]).map(String).join(', ')}`;
  return '';
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
