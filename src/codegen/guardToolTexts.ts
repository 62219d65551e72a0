// The tool-poisoning guard applied to one compiled tool: every text the model reads in
// tools/list (title, description, refusal text, schema descriptions).

import { checkToolDescription, findPoison } from './descriptionGuard.ts';
import { schemaDescriptions } from './jsonSchemaChecks.ts';
import type { ManifestTool } from './manifest.ts';
import type { Sink } from './sink.ts';
import type { ToolDefinition } from './toolDefinition.ts';

/** The tool-poisoning guard over every text the model reads in tools/list. */
export function guardTexts(def: ToolDefinition, t: ManifestTool, sink: Sink): void {
  const report = (where: string, findings: ReturnType<typeof findPoison>, specPath: string | null, fix: string, suffix: string) => {
    for (const f of findings) sink.error('DESCRIPTION_POISONED', `${where} contains ${f.what}: "${f.excerpt}"`, specPath, fix, suffix);
  };
  report('title', findPoison(t.title), null, 'describe what the tool does; do not instruct the model', '.title');
  if (t.approval?.withoutElicitation) {
    report('approval.withoutElicitation', findPoison(t.approval.withoutElicitation), null, 'say plainly that nothing was done and where a human can do it', '.approval.withoutElicitation');
  }
  report(
    'description',
    checkToolDescription(t.description, t.risk !== 'read'),
    null,
    t.risk === 'read'
      ? 'describe what the tool does, when to use it and what it returns; no instructions to the model'
      : "describe the tool plainly and end with \"WARNING: <effect>. Confirm with the user before calling.\"",
    '.description',
  );
  for (const { at, text } of schemaDescriptions(def.inputSchema)) {
    const arg = /^properties\.([^.]+)/.exec(at)?.[1] ?? '';
    // The schema path below the argument is the narrowing path too (properties.x, items).
    const inner = at.replace(/^properties\.[^.]+\.?/, '').replace(/\.?(description|title)$/, '');
    const base = t.body !== undefined && Object.hasOwn(t.body.inputs, arg) ? `body.inputs.${arg}` : `input.${arg}`;
    const override = `${base}${inner === '' ? '' : `.${inner}`}.description`;
    const fromManifest = inner === '' && (t.input[arg]?.description !== undefined || t.body?.inputs[arg]?.description !== undefined || Object.values(t.input).some((v) => v?.arg === arg && v.description !== undefined));
    report(`inputSchema.${at}`, findPoison(text), fromManifest ? null : `(description of input '${arg}' in the spec)`, fromManifest ? 'reword the description' : `reword it in the spec, or override it with ${override}`, `.${base}`);
  }
  for (const { at, text } of schemaDescriptions(def.outputSchema)) {
    report(`outputSchema.${at}`, findPoison(text), '(a response schema description in the spec)', 'reword the description in the spec', '.output');
  }
}
