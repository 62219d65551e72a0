// Tool and argument names: what the model reads in tools/list, so they follow MCP's rules and ours.

import type { ManifestTool } from './manifest.ts';
import type { Sink } from './sink.ts';

export const NAME_RULE = /^[a-z][a-zA-Z0-9]*$/;
export const ARG_RULE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export function checkName(t: ManifestTool, sink: Sink): void {
  if (t.name.length > 64) sink.error('NAME_INVALID', `name "${t.name}" is ${t.name.length} characters; the limit is 64`, null, 'shorten the name', '.name');
  if (!NAME_RULE.test(t.name)) sink.error('NAME_INVALID', `name "${t.name}" is not camelCase (letters and digits, starting lower-case)`, null, `rename it, e.g. "${toArgName(t.name)}"`, '.name');
  if (t.title.trim() === '' || t.title.length > 80 || t.title.includes('\n')) sink.error('NAME_INVALID', 'title must be one line of 1–80 characters', null, 'shorten the title', '.title');
  if (t.description.length > 1024) sink.error('DESCRIPTION_POISONED', `description is ${t.description.length} characters; the limit is 1024`, null, 'say what, when and what it returns, briefly', '.description');
}

export function toArgName(s: string): string {
  const words = s.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  const out = words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join('');
  return /^[a-z]/.test(out) ? out : `x${out}`;
}

