// The description budget (openapi/README.md, "The description budget"): descriptions a tool takes
// from the spec share one budget of characters in tools/list, so one long spec text cannot make
// every client's tool list heavy (a 1.8 KB parameter description made a 4-tool list 8.3 KB).
// Descriptions written in the manifest are reviewed text and are never trimmed.

import type { Narrowing } from './manifest.ts';
import { isObject, type JsonObject } from './schemaView.ts';

/** Characters of spec-sourced descriptions one tool may carry, all together, by default. */
export const DEFAULT_DESCRIPTION_BUDGET = 600;
/** Below this a trimmed description says nothing useful: it is dropped instead. */
export const MIN_TRIMMED_DESCRIPTION = 12;

const ELLIPSIS = '…';

/**
 * `text` in at most `max` characters (code points): whole sentences when a sentence ends in the
 * second half, else whole words, then "…"; null when not even a short phrase fits.
 */
export function trimDescription(text: string, max: number): string | null {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max < MIN_TRIMMED_DESCRIPTION) return null;
  // Sentences: the kept text and " …" fit in max.
  const room = chars.slice(0, max - 1).join('');
  const sentenceEnds = [...room.matchAll(/[.!?](?=\s)/g)].map((m) => m.index + 1).filter((end) => end <= max - 2 && end >= max / 2);
  const sentenceEnd = sentenceEnds.at(-1);
  if (sentenceEnd !== undefined) return `${room.slice(0, sentenceEnd)} ${ELLIPSIS}`;
  // Words: cut at the last space (or right before one), drop dangling punctuation, then "…".
  const head = chars.slice(0, max - 1).join('');
  const atWordEnd = /\s/.test(chars[max - 1] ?? ' ');
  const lastSpace = head.search(/\s\S*$/);
  const cut = atWordEnd ? head : lastSpace >= max / 2 ? head.slice(0, lastSpace) : head;
  return `${cut.trimEnd().replace(/[\s,;:(\-–—]+$/u, '')}${ELLIPSIS}`;
}

interface Found {
  node: JsonObject;
  text: string;
}

/** Spec-sourced descriptions in `schema`, walking the manifest's narrowing alongside. */
function specDescriptions(schema: JsonObject, narrowing: Narrowing | undefined, out: Found[]): void {
  if (typeof schema.description === 'string' && narrowing?.description === undefined) out.push({ node: schema, text: schema.description });
  if (isObject(schema.properties)) {
    for (const [key, child] of Object.entries(schema.properties)) {
      const sub = narrowing?.properties?.[key];
      if (isObject(child)) specDescriptions(child, sub === false ? undefined : sub, out);
    }
  }
  if (isObject(schema.items)) specDescriptions(schema.items, narrowing?.items, out);
  if (isObject(schema.additionalProperties)) specDescriptions(schema.additionalProperties, undefined, out);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) for (const branch of list) if (isObject(branch)) specDescriptions(branch, undefined, out);
  }
}

/**
 * The largest per-description cap at which the descriptions fit the budget together: short ones
 * stay whole, and what is left is shared equally by the long ones.
 */
export function fairCap(lengths: readonly number[], budget: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let left = budget;
  for (const [i, length] of sorted.entries()) {
    const share = Math.floor(left / (sorted.length - i));
    if (length > share) return share;
    left -= length;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Trims, in place, the spec-sourced descriptions of one tool's input and output schemas to
 * `budget` characters together. `inputs` maps each argument to the manifest's narrowing of it
 * (whose `description`s are the manifest's own). Returns the arguments whose text was trimmed.
 */
export function fitDescriptions(inputSchema: JsonObject, inputs: ReadonlyMap<string, Narrowing>, outputSchema: JsonObject, budget: number): string[] {
  const found: (Found & { arg: string | null })[] = [];
  for (const [arg, child] of Object.entries(isObject(inputSchema.properties) ? inputSchema.properties : {})) {
    const here: Found[] = [];
    if (isObject(child)) specDescriptions(child, inputs.get(arg), here);
    found.push(...here.map((f) => ({ ...f, arg })));
  }
  const outputs: Found[] = [];
  specDescriptions(outputSchema, undefined, outputs);
  found.push(...outputs.map((f) => ({ ...f, arg: null })));

  const cap = fairCap(found.map((f) => [...f.text].length), budget);
  const trimmed = new Set<string>();
  for (const f of found) {
    if ([...f.text].length <= cap) continue;
    const text = trimDescription(f.text, cap);
    if (text === null) delete f.node.description;
    else f.node.description = text;
    trimmed.add(f.arg ?? '(output)');
  }
  return [...trimmed];
}
