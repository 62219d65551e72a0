/**
 * Operation binding + tool arguments → one HTTP request, refusing anything that could reach a
 * different resource than the binding names: path values that traverse, header values that
 * split, and any URL whose origin is not the configured backend's (the egress allowlist).
 * Pure: no I/O, so every rule is unit-tested directly.
 */
import { backendError } from './backendError.ts';
import { TEMPLATE_PLACEHOLDER, type JsonValue, type OperationBinding } from './operation.ts';

export interface BackendTarget {
  /** The only origin requests may go to, e.g. `https://admin.example.com`. */
  origin: string;
  /** Path prefix of the base URL without a trailing slash, e.g. `/api/v2`, or ''. */
  basePath: string;
}

export interface BuiltRequest {
  method: OperationBinding['method'];
  /** Path and query for the request line, e.g. `/drafts/a.md?limit=5`. Never logged. */
  path: string;
  /** Request headers from arguments and fixed values (lower-case names). */
  headers: Record<string, string>;
  body: string | null;
  contentType: string | null;
}

export function parseBaseUrl(baseUrl: string): BackendTarget {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError('backend baseUrl is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('backend baseUrl must be http(s)');
  if (url.username || url.password) throw new TypeError('backend baseUrl must not carry credentials');
  if (url.search || url.hash) throw new TypeError('backend baseUrl must not have a query or fragment');
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}

type Scalar = string | number | boolean;

/**
 * Headers a binding may never set from an argument or fixed value: Deputy owns credentials,
 * framing, tracing and idempotency.
 */
const RESERVED_HEADERS = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'host', 'content-length', 'content-type',
  'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'expect',
  'traceparent', 'tracestate', 'idempotency-key', 'user-agent', 'accept', 'forwarded',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // RFC 9110 §5.6.2 token
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(operationId: string, argument: string, reason: string) {
  return backendError('INVALID_ARGUMENT', operationId, { argument, reason });
}

/** Percent-decode until stable (max 4 rounds): `%252e%252e` is `..` after two decodes. */
function decodeFully(value: string): string {
  let current = value;
  for (let i = 0; i < 4 && current.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return current; // malformed escapes stay as they are; they get encoded as literal text
    }
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * Why a path segment value is unsafe, or null. Checked on the raw value, its fully
 * percent-decoded form and the NFKC form of both (a server that normalizes would turn
 * `．．／` into `../`).
 */
export function unsafePathValue(value: string): string | null {
  if (value.length === 0) return 'is empty';
  // ASCII without '%' (most ids) is its own decoded and NFKC form: one form to check.
  const forms = PLAIN_ASCII.test(value) ? [value] : otherForms(value);
  for (const form of forms) {
    if (form === '.' || form === '..' || form.trim() === '') return 'is a dot segment or blank';
    if (form.includes('/') || form.includes('\\')) return 'contains a path separator';
    if (form.includes('..')) return "contains '..'";
    if (CONTROL.test(form)) return 'contains a control character';
  }
  return null;
}

// eslint-disable-next-line no-control-regex
const PLAIN_ASCII = /^[\u0000-\u0024\u0026-\u007f]*$/;

function otherForms(value: string): Set<string> {
  const decoded = decodeFully(value);
  return new Set([value, decoded, value.normalize('NFKC'), decoded.normalize('NFKC')]);
}

function scalar(operationId: string, argument: string, value: unknown): Scalar {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalid(operationId, argument, 'must be a string, a finite number or a boolean');
}

interface Collected {
  path: Map<string, { argument: string; value: unknown }>;
  query: Map<string, { argument: string; value: unknown }>;
  header: Map<string, { argument: string; value: unknown }>;
  body: Map<string, { argument: string; value: unknown }>;
}

/** Arguments first, then fixed values (the owners' constants win over anything the model set). */
function collect(binding: OperationBinding, args: Readonly<Record<string, unknown>>): Collected {
  const out: Collected = { path: new Map(), query: new Map(), header: new Map(), body: new Map() };
  for (const a of binding.args) {
    // Unset means not sent, unless the manifest gave a default: a spec default is the
    // backend's own and only advertised (openapi/README.md, "Narrowing inputs").
    const value = Object.hasOwn(args, a.arg) && args[a.arg] !== undefined ? args[a.arg] : a.default;
    if (value === undefined) continue;
    out[a.in].set(a.in === 'header' ? a.name.toLowerCase() : a.name, { argument: a.arg, value });
  }
  for (const f of binding.fixed) {
    out[f.in].set(f.in === 'header' ? f.name.toLowerCase() : f.name, { argument: `(fixed ${f.in} ${f.name})`, value: f.value });
  }
  return out;
}

function fillPath(binding: OperationBinding, params: Collected['path']): string {
  const used = new Set<string>();
  const filled = binding.path.replace(/\{([^{}]+)\}/g, (_m, name: string) => {
    const entry = params.get(name);
    if (entry === undefined || entry.value === null) {
      throw invalid(binding.operationId, entry?.argument ?? name, 'is required in the path');
    }
    const value = String(scalar(binding.operationId, entry.argument, entry.value));
    const why = unsafePathValue(value);
    if (why) throw invalid(binding.operationId, entry.argument, `path value ${why}`);
    used.add(name);
    return encodeURIComponent(value);
  });
  if (/[{}]/.test(filled)) throw invalid(binding.operationId, '(path)', 'path template is malformed');
  for (const [name, entry] of params) {
    if (!used.has(name)) throw invalid(binding.operationId, entry.argument, 'names no parameter of the path template');
  }
  return filled;
}

function appendParam(target: URLSearchParams, operationId: string, name: string, argument: string, value: unknown): void {
  if (value === null) return; // null means "not set" for query and form parameters
  if (Array.isArray(value)) {
    // OpenAPI's default for arrays (style form, explode true): one pair per item.
    for (const item of value) target.append(name, String(scalar(operationId, argument, item)));
    return;
  }
  target.append(name, String(scalar(operationId, argument, value)));
}

/** The header and query names the binding's credentials occupy: no argument may name them. */
function credentialPlacesOf(binding: OperationBinding): { header: Set<string>; query: Set<string> } {
  const places = { header: new Set<string>(), query: new Set<string>() };
  for (const c of binding.credentials) {
    if (c.kind === 'header' && c.name !== null) places.header.add(c.name.toLowerCase());
    if (c.kind === 'query' && c.name !== null) places.query.add(c.name);
  }
  return places;
}

function buildHeaders(operationId: string, entries: Collected['header'], credentialHeaders: Set<string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, { argument, value }] of entries) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name) || credentialHeaders.has(name)) {
      throw invalid(operationId, argument, `header '${name}' may not be set by a tool`);
    }
    if (value === null) continue;
    const text = String(scalar(operationId, argument, value));
    // RFC 9110 §5.5: no CR/LF/NUL or other controls (tab allowed) — no header splitting.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)) throw invalid(operationId, argument, 'header value contains a control character');
    headers[name] = text;
  }
  return headers;
}

function buildBody(binding: OperationBinding, entries: Collected['body']): { body: string | null; contentType: string | null } {
  if (binding.body === null) {
    const first = entries.values().next();
    if (!first.done) throw invalid(binding.operationId, first.value.argument, 'this operation takes no request body');
    return { body: null, contentType: null };
  }
  if (binding.body.template !== undefined) return { body: JSON.stringify(fillTemplate(binding.operationId, binding.body.template, entries)), contentType: 'application/json' };
  if (entries.size === 0 && !binding.body.required) return { body: null, contentType: null };
  if (binding.body.contentType === 'application/json') {
    const object: Record<string, unknown> = {};
    for (const [name, { value }] of entries) object[name] = value;
    return { body: JSON.stringify(object), contentType: 'application/json' };
  }
  const form = new URLSearchParams();
  for (const [name, { argument, value }] of entries) appendParam(form, binding.operationId, name, argument, value);
  return { body: form.toString(), contentType: 'application/x-www-form-urlencoded' };
}

const WHOLE_PLACEHOLDER = new RegExp(`^${TEMPLATE_PLACEHOLDER}$`);
const PLACEHOLDERS = new RegExp(TEMPLATE_PLACEHOLDER, 'g');

/**
 * The body template with each placeholder filled from the validated arguments. The result is
 * built as a value and serialized once, so an argument can never add JSON structure; text put
 * inside a string was bounded by an anchored pattern or an enum at generation.
 */
function fillTemplate(operationId: string, node: JsonValue, entries: Collected['body']): JsonValue {
  const valueOf = (name: string) => {
    const entry = entries.get(name);
    if (entry === undefined) throw invalid(operationId, name, 'is required');
    return entry;
  };
  if (typeof node === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(node);
    if (whole !== null) return valueOf(whole[1] as string).value as JsonValue;
    return node.replace(PLACEHOLDERS, (_m, name: string) => {
      const { argument, value } = valueOf(name);
      const text = String(scalar(operationId, argument, value));
      // A string starting with '/' is a path or JSON pointer (RFC 6901): a value there is one
      // segment, whatever the manifest's pattern let through.
      if (node.startsWith('/')) {
        const why = unsafePathValue(text) ?? (text.includes('~') ? "contains '~'" : null);
        if (why !== null) throw invalid(operationId, argument, `path segment ${why}`);
      }
      return text;
    });
  }
  if (Array.isArray(node)) return node.map((item) => fillTemplate(operationId, item, entries));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fillTemplate(operationId, value, entries)]));
  }
  return node;
}

/** Why the binding's path template itself may not be used with `origin`, or null. */
function templateDenial(templatePath: string, origin: string): string | null {
  if (!templatePath.startsWith('/') || templatePath.startsWith('//')) return 'the operation path is not origin-relative';
  let template: URL;
  try {
    template = new URL(templatePath, origin);
  } catch {
    return 'the operation path is not a valid URL path';
  }
  return template.origin !== origin ? 'the operation path points at another origin' : null;
}

/**
 * What depends on the binding alone (and the backend origin), worked out on its first call: a
 * binding is a generated constant, called again and again (src/README.md D46).
 */
interface BindingFacts {
  origin: string;
  templatePath: string;
  credentials: OperationBinding['credentials'];
  places: { header: Set<string>; query: Set<string> };
  templateDenied: string | null;
}
const bindingFacts = new WeakMap<OperationBinding, BindingFacts>();

function factsOf(binding: OperationBinding, target: BackendTarget): BindingFacts {
  const known = bindingFacts.get(binding);
  // Re-derived if the binding was changed in place or is used with another backend.
  if (known && known.origin === target.origin && known.templatePath === binding.path && known.credentials === binding.credentials) return known;
  const facts = { origin: target.origin, templatePath: binding.path, credentials: binding.credentials, places: credentialPlacesOf(binding), templateDenied: templateDenial(binding.path, target.origin) };
  bindingFacts.set(binding, facts);
  return facts;
}

/**
 * The egress allowlist: the request URL must resolve to exactly the configured origin and
 * under its base path, and the URL parser must not have rewritten the path (dot segments).
 */
function checkEgress(operationId: string, target: BackendTarget, templateDenied: string | null, filledPath: string, query: string): string {
  const deny = (reason: string) => backendError('BACKEND_EGRESS_DENIED', operationId, { reason });
  if (templateDenied !== null) throw deny(templateDenied);
  const wanted = target.basePath + filledPath;
  const url = new URL(wanted + (query ? `?${query}` : ''), target.origin);
  if (url.origin !== target.origin) throw deny('the request URL points at another origin');
  if (url.pathname !== wanted) throw deny('the request path would be rewritten by URL normalization');
  return url.pathname + url.search;
}

export function buildRequest(target: BackendTarget, binding: OperationBinding, args: Readonly<Record<string, unknown>>): BuiltRequest {
  const facts = factsOf(binding, target);
  const collected = collect(binding, args);
  const filledPath = fillPath(binding, collected.path);
  const places = facts.places;
  const query = new URLSearchParams();
  for (const [name, { argument, value }] of collected.query) {
    if (places.query.has(name)) throw invalid(binding.operationId, argument, `query parameter '${name}' carries a credential and may not be set by a tool`);
    appendParam(query, binding.operationId, name, argument, value);
  }
  const headers = buildHeaders(binding.operationId, collected.header, places.header);
  const { body, contentType } = buildBody(binding, collected.body);
  const path = checkEgress(binding.operationId, target, facts.templateDenied, filledPath, query.toString());
  return { method: binding.method, path, headers, body, contentType };
}
