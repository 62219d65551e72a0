// The tool's output: the spec's success response, projected to the manifest's pick allowlist.

import type { ManifestTool } from './manifest.ts';
import { projectResponse } from './projection.ts';
import { admitsArray, admitsObject, isObject, type JsonObject, type RawSchema } from './schemaView.ts';
import type { Sink } from './sink.ts';
import type { SpecIndex, SpecOperation } from './specIndex.ts';

export function successResponse(ix: SpecIndex, op: SpecOperation): { statuses: number[]; raw: RawSchema | null } {
  const responses = isObject(op.op.responses) ? op.op.responses : {};
  const codes = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c));
  const statuses = codes.filter((c) => /^\d+$/.test(c)).map(Number).sort((a, b) => a - b);
  const ordered = [...codes].sort();
  for (const code of ordered) {
    const { node, loc } = ix.doc.deref(responses[code], `${op.loc}.responses.${code}`);
    if (!isObject(node) || !isObject(node.content)) continue;
    const types = Object.keys(node.content);
    const json = types.find((c) => /^application\/json\b/i.test(c)) ?? types.find((c) => /^application\/[\w.-]+\+json\b/i.test(c));
    if (json === undefined) continue;
    const media = node.content[json];
    if (!isObject(media) || media.schema === undefined) continue;
    return { statuses: codes.some((c) => /XX/i.test(c)) ? [] : statuses, raw: { schema: media.schema, loc: `${loc}.content.${json}.schema` } };
  }
  return { statuses: codes.some((c) => /XX/i.test(c)) ? [] : statuses, raw: null };
}

/** Success statuses that carry no content by definition (RFC 9110 §15.3.5, §15.3.6). */
const NO_CONTENT = new Set([204, 205]);

export function compileOutput(ix: SpecIndex, t: ManifestTool, success: { raw: RawSchema | null; statuses: number[] }, sink: Sink): { schema: JsonObject; rootArray: boolean; required: string[] } {
  const specRaw = success.raw;
  // By status alone: some specs give a 204 a JSON content entry with an empty schema.
  const noContent = success.statuses.length > 0 && success.statuses.every((s) => NO_CONTENT.has(s));
  // A tool must return something an agent can use, unless the operation answers 204 No Content:
  // then success itself is the answer.
  if (t.output.pick.length === 0 && noContent) return { schema: { type: 'object', properties: {} }, rootArray: false, required: [] };
  if (t.output.pick.length === 0) {
    sink.error('OUTPUT_INVALID', 'output.pick is empty: the tool would return nothing an agent can use', specRaw?.loc ?? null, specRaw === null ? "pick what the backend returns and declare its types: `output: { pick: [id], types: { id: string } }`" : 'list the response fields the model may see under output.pick', '.output.pick');
    return { schema: { type: 'object', properties: {} }, rootArray: false, required: [] };
  }
  const declaredShape = t.output.responseShape !== 'spec';
  const raw = declaredShape ? null : specRaw;
  let root = raw;
  // A declared list answer is projected as { items: [...] }, like a spec'd one below.
  let rootArray = t.output.responseShape === 'declared-list';
  if (raw !== null) {
    try {
      const v = ix.doc.view(raw, { strict: false });
      if (admitsArray(v) && !admitsObject(v)) {
        // structuredContent must be an object: a top-level list is projected as { items: [...] }.
        rootArray = true;
        root = { schema: { type: 'object', required: ['items'], properties: { items: raw.schema } }, loc: raw.loc };
      }
    } catch (err) {
      sink.error('PICK_NOT_IN_RESPONSE', `cannot read the response schema: ${(err as Error).message}`, raw.loc, 'fix the response schema in the spec', '.output');
      return { schema: { type: 'object', properties: {} }, rootArray, required: [] };
    }
  }
  const projection = projectResponse(ix.doc, root, t.output.pick, t.output.listCaps, {
    declared: t.output.types,
    ...(declaredShape ? { noRootReason: 'the manifest says `responseShape: declared`, so every pick needs a declared type' } : {}),
  });
  for (const p of projection.problems) {
    const i = t.output.pick.indexOf(p.pick);
    sink.error(p.kind, p.message, p.specPath, p.fix, i >= 0 ? `.output.pick[${i}]` : '.output.pick');
  }
  for (const key of Object.keys(t.output.listCaps)) {
    if (!projection.arrayPaths.includes(key) && projection.problems.length === 0) {
      sink.error('OUTPUT_INVALID', `listCaps key '${key}' is not a list in the picked output`, raw?.loc ?? null, `use one of: ${projection.arrayPaths.join(', ') || '(no lists picked)'}`, `.output.listCaps.${key}`);
    }
  }
  t.output.untrusted.forEach((u, i) => {
    if (!t.output.pick.includes(u)) sink.error('OUTPUT_INVALID', `untrusted path '${u}' is not in pick`, null, 'list only picked paths as untrusted', `.output.untrusted[${i}]`);
  });
  for (const f of projection.freeText) {
    if (!t.output.untrusted.includes(f)) sink.warn(`picked free-text field '${f}' is not marked untrusted; backend text reaching the model should be`, '.output.untrusted');
  }
  return { schema: projection.schema, rootArray, required: projection.required };
}

