/**
 * `npm run bench` runs every benchmark but `peer`; `npm run bench -- NAME [NAME…]` only those.
 *
 *   --quick             short durations and counts (building/debugging; not for recorded figures)
 *   --wait-quiet[=S]    before each bench, wait up to S seconds (default 600) for the 1-minute
 *                       load average to drop below 1.0 (shared machines)
 *   --prof=DIR          profile the Deputy child with --cpu-prof into DIR
 *
 * Each bench writes bench/results/<name>.json (date, machine, Node, load average before/after,
 * placement, the figures and each target with pass/miss) and prints a table.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Bench, BenchReport } from './lib/bench.ts';
import { loadAverage, machine, writeResult } from './lib/machine.ts';
import { pinLoadGenerator, placement } from './lib/processes.ts';
import { table } from './lib/stats.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    'wait-quiet': { type: 'string' },
    prof: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const BENCHES: Record<string, () => Promise<Bench>> = {
  overhead: async () => (await import('./overhead.ts')).overhead,
  throughput: async () => (await import('./throughput.ts')).throughput,
  memory: async () => (await import('./memory.ts')).memory,
  coldstart: async () => (await import('./memory.ts')).coldStart,
  generate: async () => (await import('./lib/generateBench.ts')).generate,
  peer: async () => (await import('./peer.ts')).peer,
  redaction: async () => (await import('./redaction.ts')).redaction,
};
/** Named only: `peer` needs the peer kit (PEER_KIT) and, the first time, the npm registry. */
const NAMED_ONLY = new Set(['peer']);

if (values.help) {
  process.stderr.write(`usage: npm run bench [-- [--quick] [--wait-quiet[=S]] [--prof=DIR] [${Object.keys(BENCHES).join('|')} …]]\n`);
  process.exit(0);
}
const unknown = positionals.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown bench: ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})\n`);
  process.exit(2);
}
const selected = positionals.length > 0 ? positionals : Object.keys(BENCHES).filter((name) => !NAMED_ONLY.has(name));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function waitQuiet(maxSeconds: number): Promise<void> {
  const until = Date.now() + maxSeconds * 1000;
  while (loadAverage()[0] >= 1.0 && Date.now() < until) {
    log(`waiting for a quiet machine: load average ${loadAverage().join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'mock-backend', 'bench', ':!bench/results'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

pinLoadGenerator();
let failed = false;
const summary: (string | number)[][] = [['bench', 'target', 'measured', 'target value', '']];
for (const name of selected) {
  if (values['wait-quiet'] !== undefined) await waitQuiet(Number(values['wait-quiet'] || 600));
  const bench = await BENCHES[name]!();
  const before = loadAverage();
  const t0 = performance.now();
  log(`\n== ${name}: ${bench.about}\n   load average ${before.join(' ')} · ${placement()}${values.quick ? ' · QUICK' : ''}`);
  let report: BenchReport;
  try {
    report = await bench.run({ quick: values.quick, all: positionals.length === 0, log: (line) => log(`   ${line}`), ...(values.prof ? { cpuProfDir: values.prof } : {}) });
  } catch (error) {
    failed = true;
    log(`   FAILED: ${(error as Error).stack ?? String(error)}`);
    continue;
  }
  const after = loadAverage();
  const path = report.ownResultFile ?? writeResult({
    bench: name,
    date: new Date().toISOString(),
    command: `npm run bench -- ${values.quick ? '--quick ' : ''}${values.prof ? `--prof=${values.prof} ` : ''}${name}`,
    commit: gitCommit(),
    machine: machine(),
    placement: report.placement ?? placement(),
    loadAverage: { before, after },
    durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
    quick: values.quick,
    targets: report.targets,
    notes: report.notes ?? [],
    result: report.result,
  });
  process.stdout.write(`\n${name}  (load average before ${before.join(' ')}, after ${after.join(' ')})\n${report.table}\n`);
  for (const t of report.targets) summary.push([name, t.name, t.measured, t.target, t.pass ? 'pass' : 'MISS']);
  if (before[0] >= 1.0 || after[0] >= 1.0) log(`   note: the machine was busy (1-minute load ≥ 1.0); these figures are noisy`);
  log(`   wrote ${path}`);
}
if (summary.length > 1) process.stdout.write(`\nsummary\n${table(summary)}\n`);
process.exitCode = failed ? 1 : 0;
