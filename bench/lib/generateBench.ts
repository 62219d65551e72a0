/**
 * `npm run bench -- generate`: runs bench/generate-github.ts (its own script, with its own
 * README section and results file, bench/results/generate-github.json) in a child process with
 * every core available, and lifts its targets into the summary.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench, BenchOptions, BenchReport, Target } from './bench.ts';
import { REPO_ROOT, allCoresCommand } from './processes.ts';

const SCRIPT = 'bench/generate-github.ts';
const RESULT = join(REPO_ROOT, 'bench/results/generate-github.json');

interface GenerateResult {
  targets?: { wallMs?: number; peakRssMb?: number; sevenToolListBytes?: number };
  results?: { variant?: string; wallMs?: { median?: number }; peakRssMb?: { max?: number }; meetsTargets?: boolean }[];
  toolsListBytes?: { admin7?: number };
}

export const generate: Bench = {
  name: 'generate',
  about: `generate over GitHub's REST description with a 20-tool manifest (${SCRIPT})`,
  async run(opts: BenchOptions): Promise<BenchReport> {
    // Its own default is 5 runs per variant; 3 when every bench runs (npm run bench stays ~5 min).
    const runs = opts.quick ? ['--runs', '1'] : opts.all ? ['--runs', '3'] : [];
    const args = ['--import', 'tsx', SCRIPT, ...runs];
    // The load generator is pinned to one core; generate gets them all (it uses a worker thread).
    const { command, args: commandArgs } = allCoresCommand(args);
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, commandArgs, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`${SCRIPT} exited with ${code}`);
    const report = JSON.parse(readFileSync(RESULT, 'utf8')) as GenerateResult;
    const limits = report.targets ?? {};
    const targets: Target[] = (report.results ?? []).map((r) => ({
      name: r.variant ?? 'generate',
      target: `≤ ${limits.wallMs ?? 5000} ms, ≤ ${limits.peakRssMb ?? 1024} MB`,
      measured: `${r.wallMs?.median ?? '?'} ms, ${r.peakRssMb?.max ?? '?'} MB`,
      pass: r.meetsTargets === true,
    }));
    const admin7 = report.toolsListBytes?.admin7;
    if (admin7 !== undefined) {
      const max = limits.sevenToolListBytes ?? 8192;
      targets.push({ name: 'seven-tool tools/list', target: `≤ ${max} B`, measured: `${admin7} B`, pass: admin7 <= max });
    }
    return { result: report, table: '(table above, from bench/generate-github.ts)', targets, ownResultFile: RESULT };
  },
};
