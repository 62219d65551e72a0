/**
 * Where the time goes in a `.cpuprofile` (from `npm run bench -- --prof=DIR NAME`): self time
 * by function and by package/area, top N; with `--inclusive`, also time by function with the
 * function anywhere on the stack; `--skip-ms N` leaves out the first N ms (start-up, warm-up);
 * `--by-layer`, each sample charged to the nearest of Deputy's layers on its stack (LAYERS).
 *
 *   npx tsx bench/profile-top.ts DIR/CPU.*.cpuprofile [--top 25] [--inclusive] [--skip-ms 3000] [--by-layer]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, inclusive: { type: 'boolean', default: false }, 'by-layer': { type: 'boolean', default: false }, 'skip-ms': { type: 'string', default: '0' } } });
const top = Number(values.top);

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url;
  const src = /\/work\/[^/]+\/(.*)$/.exec(url) ?? /\/((?:src|mock-backend|bench)\/.*)$/.exec(url);
  return src ? src[1]!.replace(/\/[^/]+$/, '/') : url;
}

/**
 * Deputy's layers, as `--by-layer` names them: a sample belongs to the layer of the frame nearest
 * its leaf that matches one (zod under the SDK is the SDK's validation, under src/tools the
 * input check; a socket write under undici is the backend call, under the SDK the answer).
 */
const LAYERS: [string, RegExp][] = [
  ['audit line (src/tools/audit, pino, sonic-boom)', /src\/tools\/audit\.|node_modules\/(pino|sonic-boom)\//],
  ['backend call (src/backend, undici)', /src\/backend\/|node_modules\/undici\//],
  ['tool pipeline (src/tools, src/server)', /src\/(tools|server)\//],
  ['MCP SDK (stdio/HTTP transport, JSON-RPC, zod validation)', /node_modules\/@modelcontextprotocol\//],
  ['quota counters (rate-limiter-flexible)', /node_modules\/rate-limiter-flexible\//],
];

const WRITE_CALLS = new Set(['writeLatin1String', 'writeUtf8String', 'writeString', 'writeBuffer', 'writev', 'writeBuffers']);

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const skipUs = Number(values['skip-ms']) * 1000;
  let at = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= skipUs) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  // Percentages are of busy time (idle excluded).
  const total = [...self.values()].reduce((a, b) => a + b, 0) - idle;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Inclusive time by area: every area on a sample's stack counts once for that sample.
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.functionName === '(root)') break;
      seen.add(area(f.url, f.functionName));
    }
    for (const a of seen) inclusive.set(a, (inclusive.get(a) ?? 0) + us);
  }
  const fnKey = (n: Node) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/[^/]+\//, '');
    return `${functionName || '(anonymous)'}  ${short}${url ? `:${lineNumber + 1}` : ''}`;
  };
  const inclusiveFn = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (n.callFrame.functionName === '(root)') break;
      seen.add(fnKey(n));
    }
    for (const k of seen) inclusiveFn.set(k, (inclusiveFn.get(k) ?? 0) + us);
  }
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const key = fnKey(n);
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const a = area(n.callFrame.url, n.callFrame.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle (percentages of busy time)`);
  console.log('\ninclusive time by area (on the stack)');
  for (const [k, us] of [...inclusive].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  console.log('\nself time by area');
  for (const [k, us] of [...byArea].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  console.log('\nself time by function');
  for (const [k, us] of [...byFn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  if (values['by-layer']) {
    const byLayer = new Map<string, number>();
    for (const [id, us] of self) {
      const leaf = byId.get(id)!.callFrame.functionName;
      if (leaf === '(idle)') continue;
      // A write system call is sampled by wall time: on a shared core it also holds the time
      // the process waited descheduled after waking its reader (see the caveat under Overhead).
      const fixed = leaf === '(garbage collector)' ? 'garbage collector' : WRITE_CALLS.has(leaf) ? 'write system calls (socket, pipe, file; wall time)' : null;
      let layer = fixed ?? 'other (Node event loop, timers, start-up)';
      for (let cur: number | undefined = id; cur !== undefined && fixed === null; cur = parent.get(cur)) {
        const found = LAYERS.find(([, re]) => re.test(byId.get(cur)!.callFrame.url));
        if (found) {
          layer = found[0];
          break;
        }
      }
      byLayer.set(layer, (byLayer.get(layer) ?? 0) + us);
    }
    console.log('\nby layer (nearest layer on the stack)');
    for (const [k, us] of [...byLayer].sort((a, b) => b[1] - a[1])) console.log(`${pct(us)}  ${k}`);
  }
  if (values.inclusive) {
    console.log('\ninclusive time by function (on the stack)');
    for (const [k, us] of [...inclusiveFn].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  }
}
