// Finding the spec operation a manifest names, with a "did you mean" for renamed operationIds.

import type { Sink } from './sink.ts';
import type { SpecIndex, SpecOperation } from './specIndex.ts';

export function findOperation(ix: SpecIndex, id: string, sink: Sink, suffix: string): SpecOperation | null {
  const found = ix.find(id);
  if (found.length === 1) return found[0] as SpecOperation;
  if (found.length > 1) {
    sink.error('UNKNOWN_OPERATION', `operationId '${id}' is used by ${found.length} operations`, found.map((o) => o.loc).join(', '), 'make operationIds unique in the spec', suffix);
    return null;
  }
  const near = closest(id, ix.operationIds());
  sink.error('UNKNOWN_OPERATION', `unknown operationId '${id}'`, 'paths', near !== null ? `did you mean '${near}'? (renamed in the spec?)` : 'use an operationId from the spec', suffix);
  return null;
}

function closest(word: string, options: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best !== null && bestD <= Math.max(3, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

