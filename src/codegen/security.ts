// Which credentials a tool's backend call carries, and with which scopes (openapi/README.md,
// "Credentials"): the operation's security requirement — the one alternative the manifest
// chooses, or the only one there is — turned into placements (bearer, basic, an API key in a
// header, query or cookie), plus the spec parameters the manifest maps to a credential with
// `credentials:`. Every parameter a credential occupies counts as bound, and no `input` or
// `fixed` entry may name one, or anything that looks like one.

import type { ArgumentBinder } from './argumentBinder.ts';
import { resolveTarget, type Target } from './bindTargets.ts';
import { looksLikeCredential } from './credentialNames.ts';
import type { ManifestDefaults, ManifestTool } from './manifest.ts';
import type { BodyInfo } from './requestBody.ts';
import { isObject, type JsonObject } from './schemaView.ts';
import { Sink } from './sink.ts';
import type { SpecIndex, SpecOperation } from './specIndex.ts';
import type { CredentialPlacement } from './toolDefinition.ts';

export interface ToolSecurity {
  /** Every credential the call carries, scheme placements first. */
  credentials: CredentialPlacement[];
  /** The chosen requirement's scopes (all its schemes): what the backend credential must hold. */
  scopes: string[];
}

/** The scheme name an operation gets when its spec declares no security requirement at all. */
const DEFAULT_SCHEME = 'default';

type Requirement = [scheme: string, scopes: string[]][];

/** The operation's security alternatives (operation-level, else root-level), `{}` kept. */
export function securityAlternatives(ix: SpecIndex, op: SpecOperation): { alternatives: Requirement[]; loc: string } {
  const own = Array.isArray(op.op.security);
  const list = own ? (op.op.security as unknown[]) : Array.isArray(ix.doc.root.security) ? (ix.doc.root.security as unknown[]) : [];
  const alternatives = list.filter(isObject).map((req) =>
    Object.entries(req).map(([name, scopes]): [string, string[]] => [name, Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : []]),
  );
  return { alternatives, loc: own ? `${op.loc}.security` : 'security' };
}

const describeAlternative = (r: Requirement) => (r.length === 0 ? '{} (no credential)' : r.map(([name]) => name).join(' + '));
const sameSchemes = (r: Requirement, choice: readonly string[]) =>
  r.length === choice.length && choice.every((name) => r.some(([n]) => n === name));

/** A place in the request a credential occupies, for conflict checks. */
function placeOf(c: { kind: CredentialPlacement['kind']; name: string | null }): string {
  if (c.kind === 'bearer' || c.kind === 'basic') return 'header authorization';
  return `${c.kind} ${c.kind === 'header' ? (c.name ?? '').toLowerCase() : (c.name ?? '')}`;
}

function targetPlace(t: Target): string {
  if (t.in === 'header' && t.name.toLowerCase() === 'authorization') return 'header authorization';
  return `${t.in} ${t.in === 'header' ? t.name.toLowerCase() : t.name}`;
}

/** A security scheme → where its credential goes, or a reason it cannot be placed. */
function placementFor(ix: SpecIndex, name: string, scopes: string[]): CredentialPlacement | string {
  const components = isObject(ix.doc.root.components) ? ix.doc.root.components : {};
  const schemes: JsonObject = isObject(components.securitySchemes) ? components.securitySchemes : {};
  if (!Object.hasOwn(schemes, name)) return `security scheme '${name}' is not defined in components.securitySchemes`;
  const { node } = ix.doc.deref(schemes[name], `components.securitySchemes.${name}`);
  if (!isObject(node)) return `security scheme '${name}' cannot be read`;
  const base = { scheme: name, scopes };
  switch (node.type) {
    case 'http': {
      const scheme = typeof node.scheme === 'string' ? node.scheme.toLowerCase() : '';
      if (scheme === 'bearer') return { ...base, kind: 'bearer', name: null };
      if (scheme === 'basic') return { ...base, kind: 'basic', name: null };
      return `security scheme '${name}' is HTTP '${scheme || '?'}' authentication, which Deputy cannot send (bearer and basic only)`;
    }
    case 'apiKey':
      if ((node.in === 'header' || node.in === 'query' || node.in === 'cookie') && typeof node.name === 'string' && node.name !== '') {
        return { ...base, kind: node.in, name: node.name };
      }
      return `security scheme '${name}' is an apiKey without a usable \`in\` (header, query or cookie) and \`name\``;
    case 'oauth2':
    case 'openIdConnect':
      return { ...base, kind: 'bearer', name: null };
    default:
      return `security scheme '${name}' has type '${String(node.type)}', which Deputy cannot send (mutual TLS needs a client certificate)`;
  }
}

/**
 * The chosen requirement: the first choice (the tool's `security:`, then the manifest's) that
 * names one of the alternatives exactly, else the only alternative that needs a credential. An
 * empty `{}` next to real alternatives means "authentication is optional"; Deputy always
 * authenticates, so it is never chosen.
 */
function chooseRequirement(
  ix: SpecIndex,
  op: SpecOperation,
  choices: { schemes: string[]; strict: boolean; suffix: string }[],
  sink: Sink,
  suffix: string,
): Requirement | null {
  const { alternatives, loc } = securityAlternatives(ix, op);
  const real = alternatives.filter((r) => r.length > 0);
  for (const choice of choices) {
    const hit = real.find((r) => sameSchemes(r, choice.schemes));
    if (hit) return hit;
    if (real.length === 0) {
      // The spec left security out of this operation: the manifest may name a defined scheme.
      return choice.schemes.map((name) => [name, []]);
    }
    if (choice.strict) {
      sink.error(
        'SECURITY_AMBIGUOUS',
        `security: [${choice.schemes.join(', ')}] is not one of the operation's security alternatives`,
        loc,
        `choose one of: ${real.map((r) => `[${r.map(([n]) => n).join(', ')}]`).join(', ')}`,
        choice.suffix,
      );
      return null;
    }
  }
  if (real.length === 1) return real[0] as Requirement;
  if (real.length === 0) return [];
  sink.error(
    'SECURITY_AMBIGUOUS',
    `the operation has ${real.length} security alternatives: ${real.map(describeAlternative).join(' | ')}`,
    loc,
    `choose one with \`security: [${real[0]?.map(([n]) => n).join(', ')}]\` on the tool (or top-level for every tool)`,
    suffix,
  );
  return null;
}

/**
 * The credentials of one operation, binding every parameter they occupy. `tool` is the tool's
 * own manifest entry (its `security:` and `credentials:` are strict: they must fit), or null for
 * an approval lookup, which follows the manifest's defaults where they fit.
 */
export function bindSecurity(
  ix: SpecIndex,
  op: SpecOperation,
  defaults: ManifestDefaults,
  tool: Pick<ManifestTool, 'security' | 'credentials'> | null,
  binder: ArgumentBinder,
  sink: Sink,
  where = '.operation',
): ToolSecurity | null {
  const asList = (s: string | string[]) => (typeof s === 'string' ? [s] : s);
  const choices: { schemes: string[]; strict: boolean; suffix: string }[] = [];
  if (tool?.security !== undefined) choices.push({ schemes: asList(tool.security), strict: true, suffix: '.security' });
  if (defaults.security !== null) choices.push({ schemes: defaults.security, strict: false, suffix: '' });
  const requirement = chooseRequirement(ix, op, choices, sink, where);
  if (requirement === null) return null;

  const credentials: CredentialPlacement[] = [];
  const places = new Map<string, string>(); // place → scheme
  let ok = true;
  const add = (c: CredentialPlacement, where: string) => {
    const place = placeOf(c);
    const other = places.get(place);
    if (other !== undefined) {
      sink.error('CREDENTIAL_INVALID', `credentials '${other}' and '${c.scheme}' both go to the ${place}`, null, 'choose a security alternative (or `credentials:` mapping) that puts each credential in its own place', where);
      ok = false;
      return;
    }
    places.set(place, c.scheme);
    credentials.push(c);
  };
  for (const [name, scopes] of requirement) {
    const placed = placementFor(ix, name, scopes);
    if (typeof placed === 'string') {
      sink.error('SECURITY_UNSUPPORTED', placed, `components.securitySchemes.${name}`, 'choose another security alternative with `security:`, or map the credential parameter with `credentials:`', where);
      ok = false;
    } else add(placed, where);
  }

  // Parameters the manifest maps to a credential: the tool's own, then the top-level ones that
  // this operation has.
  const declared: [key: string, credential: string, strict: boolean, where: string][] = [
    ...Object.entries(tool?.credentials ?? {}).map(([k, v]): [string, string, boolean, string] => [k, v, true, `.credentials.${k}`]),
    ...Object.entries(defaults.credentials)
      .filter(([k]) => tool?.credentials === undefined || !Object.hasOwn(tool.credentials, k))
      .map(([k, v]): [string, string, boolean, string] => [k, v, false, where]),
  ];
  for (const [key, credential, strict, where] of declared) {
    const target = resolveTarget(ix, op, null, key, strict ? sink : new Sink('', ''), where);
    if (target === null) {
      if (strict) ok = false;
      continue;
    }
    if (target.in === 'path' || target.in === 'body') {
      sink.error('CREDENTIAL_INVALID', `${target.in} parameter '${target.name}' cannot carry a credential`, target.loc, 'map only a header, query or cookie parameter to a credential', where);
      ok = false;
      continue;
    }
    if (places.has(targetPlace(target))) {
      // The chosen scheme already puts a credential exactly there.
      binder.bindCredential(target);
      continue;
    }
    const isAuthorization = target.in === 'header' && target.name.toLowerCase() === 'authorization';
    add({ scheme: credential, kind: isAuthorization ? 'bearer' : target.in, name: isAuthorization ? null : target.name, scopes: [] }, where);
    binder.bindCredential(target);
  }

  // A spec parameter at a credential's place (an `X-API-Key` header parameter next to an apiKey
  // scheme of that name) is filled by Deputy, never by the model.
  for (const p of op.params) {
    const target: Target = { in: p.in, name: p.name, required: p.required, description: p.description, raw: p.schema, param: p, loc: p.loc };
    if (places.has(targetPlace(target))) binder.bindCredential(target);
  }

  // What was bound before the credentials (an approval lookup's `args`) must not be one.
  for (const bound of [...binder.fixed.map((f) => ({ ...f, fixed: true })), ...binder.args.map((a) => ({ ...a, fixed: false }))]) {
    const param = op.params.find((p) => p.in === bound.in && p.name === bound.name);
    const target: Target = { in: bound.in, name: bound.name, required: false, description: param?.description ?? null, raw: param?.schema ?? null, param: param ?? null, loc: param?.loc ?? op.loc };
    const scheme = places.get(targetPlace(target));
    const look = scheme === undefined && bound.fixed ? credentialLook(ix, target) : null;
    if (scheme !== undefined || look !== null) {
      sink.error(
        'CREDENTIAL_AS_INPUT',
        scheme !== undefined ? `${target.in} parameter '${target.name}' carries the credential '${scheme}'; Deputy fills it` : `'${target.name}' looks like a credential (its ${look!.where} says '${look!.match}'); a credential is never a fixed value`,
        target.loc,
        scheme !== undefined ? 'remove it; the token file serves it' : `map it with \`credentials: { ${target.in}.${target.name}: <name> }\` at the top level instead`,
        where.replace(/\.operation$/, '.args'),
      );
      ok = false;
    }
  }

  if (credentials.length === 0 && requirement.length === 0) {
    // No requirement in the spec and nothing mapped: an operation whose spec left security out
    // is most often one that needs the usual token, so Deputy sends a bearer token as before.
    credentials.push({ scheme: DEFAULT_SCHEME, kind: 'bearer', name: null, scopes: [] });
  }
  if (!ok) return null;
  const scopes = [...new Set(requirement.flatMap(([, s]) => s))];
  return { credentials, scopes };
}

/** Whether a parameter or body property looks like a credential, from its name, schema and description. */
function credentialLook(ix: SpecIndex, target: Target): ReturnType<typeof looksLikeCredential> {
  const schema = target.raw !== null ? ix.doc.deref(target.raw.schema, target.raw.loc).node : null;
  return looksLikeCredential({
    name: target.name,
    in: target.in,
    description: target.description ?? (isObject(schema) && typeof schema.description === 'string' ? schema.description : null),
    type: isObject(schema) && typeof schema.type === 'string' ? schema.type : null,
    enumerated: isObject(schema) && Array.isArray(schema.enum),
  });
}

/**
 * Refuses `input` and `fixed` entries that name a credential's place or look like a credential:
 * the model would hold it, or the manifest would commit it.
 */
export function refuseCredentialInputs(ix: SpecIndex, op: SpecOperation, body: BodyInfo | null, t: ManifestTool, security: ToolSecurity, sink: Sink): void {
  const places = new Map(security.credentials.map((c) => [placeOf(c), c.scheme]));
  const allowed = new Set(t.notCredentials ?? []);
  const entries: [string, 'input' | 'fixed'][] = [...Object.keys(t.input).map((k): [string, 'input'] => [k, 'input']), ...Object.keys(t.fixed).map((k): [string, 'fixed'] => [k, 'fixed'])];
  for (const [key, section] of entries) {
    const target = resolveTarget(ix, op, body, key, new Sink('', ''), '');
    if (target === null) continue; // compileInputs reports it
    const suffix = `.${section}.${key}`;
    const scheme = places.get(targetPlace(target));
    if (scheme !== undefined) {
      sink.error('CREDENTIAL_AS_INPUT', `${target.in} parameter '${target.name}' carries the credential '${scheme}'; Deputy fills it`, target.loc, `remove it from ${section}; the token file serves \`scheme: ${scheme}\``, suffix);
      continue;
    }
    if (allowed.has(key) || allowed.has(target.name)) continue;
    const look = credentialLook(ix, target);
    if (look === null) continue;
    const credential = target.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'credential';
    sink.error(
      'CREDENTIAL_AS_INPUT',
      `${section}.${key} looks like a credential (its ${look.where} says '${look.match}'); a credential is never a ${section === 'input' ? 'tool input' : 'fixed value'}`,
      target.loc,
      target.in === 'header' || target.in === 'query' || target.in === 'cookie'
        ? `map it to a credential instead: \`credentials: { ${target.in}.${target.name}: ${credential} }\` (in the tool or top-level) and give the token file an entry with \`scheme: ${credential}\`; if it is not a credential, list '${key}' under notCredentials`
        : `do not send it from the manifest or the model; if it is not a credential, list '${key}' under notCredentials`,
      suffix,
    );
  }
}
