// One input's JSON Schema: materialized from the spec, then narrowed by the manifest (each
// keyword may only tighten), then checked to be bounded (every string and array capped).

import type { InputEntry } from './manifest.ts';
import { mayBe, type Target } from './bindTargets.ts';
import { validateValue } from './jsonSchemaChecks.ts';
import { narrowSchema } from './narrowing.ts';
import { admitsArray, admitsObject, SchemaCycleError, toJsonSchema, type JsonObject, type RawSchema } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex } from './specIndex.ts';

const STRICT = { strict: true };

export function materialize(ix: SpecIndex, raw: RawSchema, sink: Sink, suffix: string): JsonObject | null {
  try {
    return toJsonSchema(ix.doc, ix.doc.view(raw, STRICT), 'input');
  } catch (err) {
    if (err instanceof SchemaCycleError) {
      sink.error('SCHEMA_CYCLE', `the input schema is recursive (through ${err.ref})`, raw.loc, 'expose its scalar fields instead, pin it under fixed, or build the body with body.template', suffix);
    } else {
      sink.error('MANIFEST_INVALID', `cannot read the schema: ${(err as Error).message}`, raw.loc, 'fix the `$ref` in the spec', suffix);
    }
    return null;
  }
}

export function inputSchemaFor(ix: SpecIndex, target: Target, opts: NonNullable<InputEntry>, sink: Sink, suffix: string): JsonObject | null {
  if (target.raw === null) return null;
  const schema = materialize(ix, target.raw, sink, suffix);
  if (schema === null) return null;
  const view = ix.doc.view(target.raw, STRICT);
  if (target.in === 'path' && (mayBe(view, admitsObject) || mayBe(view, admitsArray))) {
    sink.error('PARAM_UNSUPPORTED', `path parameter '${target.name}' is not a scalar`, target.loc, 'only scalar path parameters can be exposed', suffix);
    return null;
  }
  if ((target.in === 'query' || target.in === 'header') && mayBe(view, admitsObject)) {
    sink.error('PARAM_UNSUPPORTED', `${target.in} parameter '${target.name}' is an object`, target.loc, 'only scalar and list parameters can be exposed', suffix);
    return null;
  }
  const description = opts.description ?? target.description ?? (typeof schema.description === 'string' ? schema.description : null);
  if (description !== null && description.trim() !== '') schema.description = description.trim();
  else delete schema.description;
  if (!narrow(ix, schema, opts, target, sink, suffix)) return null;
  return schema;
}

/** Applies the manifest's narrowing, then checks the (spec or manifest) default still fits. */
function narrow(ix: SpecIndex, schema: JsonObject, opts: NonNullable<InputEntry>, target: Target, sink: Sink, suffix: string): boolean {
  const { arg: _arg, required: _required, default: fallback, ...narrowing } = opts;
  let ok = narrowSchema(schema, narrowing, { ix, sink, raw: target.raw, name: target.name, manifestPath: suffix });
  const fail = (message: string, fix: string) => {
    sink.error('NARROWING_INVALID', message, target.loc, fix, `${suffix}.default`);
    ok = false;
  };
  if (fallback !== undefined) {
    const invalid = validateValue({ ...schema, default: undefined }, fallback);
    if (invalid !== null) fail(`default ${JSON.stringify(fallback)} for '${target.name}' is outside the allowed values (${invalid})`, 'choose a default within the bounds');
    else schema.default = fallback;
  } else if (schema.default !== undefined && ok) {
    const { default: specDefault, ...rest } = schema;
    const invalid = validateValue(rest, specDefault);
    if (invalid !== null) fail(`the spec's default ${JSON.stringify(specDefault)} for '${target.name}' is outside the narrowed bounds (${invalid})`, 'set a `default:` within the narrowed bounds');
  }
  return ok;
}

export function boundMessage(code: string, where: string): string {
  switch (code) {
    case 'INPUT_UNBOUNDED_STRING':
      return `string input '${where}' has none of maxLength, pattern, enum or format`;
    case 'INPUT_UNBOUNDED_ARRAY':
      return `array input '${where}' has no maxItems`;
    case 'INPUT_OPEN_OBJECT':
      return `object input '${where}' allows extra properties`;
    default:
      return `input '${where}' accepts any JSON value`;
  }
}

/** The manifest path of a bound problem: '.filters.tag' → '.properties.filters.properties.tag', '[]' → '.items'. */
export function manifestPathOf(at: string): string {
  return [...at.matchAll(/\.([^.[\]]+)|\[\]/g)].map((m) => (m[1] === undefined ? '.items' : `.properties.${m[1]}`)).join('');
}

/** How to bound it in the manifest: the spec belongs to the backend team and stays as it is. */
export function boundFix(code: string, at: string): string {
  switch (code) {
    case 'INPUT_UNBOUNDED_STRING':
      return `add maxLength, pattern or enum under ${at} in the manifest (e.g. ${at}.maxLength: N)`;
    case 'INPUT_UNBOUNDED_ARRAY':
      return `add maxItems under ${at} in the manifest (e.g. ${at}.maxItems: N)`;
    case 'INPUT_OPEN_OBJECT':
      return `add \`additionalProperties: false\` under ${at} in the manifest (narrow or hide its properties there too)`;
    default:
      return `give it a type and bounds under ${at} in the manifest (e.g. type: string, maxLength: N), or do not expose it`;
  }
}
