/**
 * Size caps on tool output (src/README.md D7, D10). A projection larger than the tool's
 * `maxBytes` is shrunk, never rejected: lists lose their tail first (the model can page with a
 * cursor), then the longest strings are cut. The caller learns what was cut.
 */

export interface Fitted {
  value: unknown;
  bytes: number;
  /** True when anything was removed to fit. */
  shrunk: boolean;
  /** `value` as JSON: measured here, and the text result's data, serialized once (src/README.md D46). */
  json: string;
}

export function fitToBytes(value: unknown, maxBytes: number): Fitted {
  let json = JSON.stringify(value);
  let bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return { value, bytes, shrunk: false, json };
  const copy = structuredClone(value);
  const byteLength = (v: unknown) => {
    json = JSON.stringify(v);
    return Buffer.byteLength(json);
  };

  // 1. Drop list tails, longest list first, until it fits or every list is down to one item.
  for (;;) {
    const list = longestArray(copy);
    if (!list || list.length <= 1) break;
    list.length = Math.max(1, Math.floor(list.length * 0.75));
    bytes = byteLength(copy);
    if (bytes <= maxBytes) return { value: copy, bytes, shrunk: true, json };
  }
  // 2. Cut the longest strings.
  for (let round = 0; round < 64 && bytes > maxBytes; round++) {
    const slot = longestString(copy);
    if (!slot || slot.value.length <= 16) break;
    const excess = bytes - maxBytes;
    const keep = Math.max(16, slot.value.length - excess - 32);
    slot.set(`${slot.value.slice(0, keep)}… [cut]`);
    bytes = byteLength(copy);
  }
  return { value: copy, bytes, shrunk: true, json };
}

function longestArray(node: unknown): unknown[] | undefined {
  let best: unknown[] | undefined;
  const visit = (n: unknown) => {
    if (Array.isArray(n)) {
      if (!best || n.length > best.length) best = n;
      n.forEach(visit);
    } else if (n !== null && typeof n === 'object') Object.values(n).forEach(visit);
  };
  visit(node);
  return best;
}

function longestString(node: unknown): { value: string; set: (v: string) => void } | undefined {
  let best: { value: string; set: (v: string) => void } | undefined;
  const visit = (n: unknown) => {
    if (n === null || typeof n !== 'object') return;
    const entries: [string | number, unknown][] = Array.isArray(n) ? n.map((v, i) => [i, v]) : Object.entries(n);
    for (const [key, child] of entries) {
      if (typeof child === 'string') {
        if (!best || child.length > best.value.length) {
          best = { value: child, set: (v) => ((n as Record<string | number, unknown>)[key] = v) };
        }
      } else visit(child);
    }
  };
  visit(node);
  return best;
}
