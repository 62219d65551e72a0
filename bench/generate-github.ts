// Benchmark: `generate` over GitHub's full REST description (13 MB) with a 20-tool manifest.
//
//   npm run bench:generate [-- --runs 7]
//
// Each run is the generate CLI as a backend engineer runs it (`tsx src/main.ts generate`, which
// is what `npm run generate` executes) in a fresh child process, timed from spawn to exit; peak
// RSS comes from `/usr/bin/time -v` (GNU time: `apt-get install -y time`). Variants: the bench manifest as committed (`apiTypes: exposed`), the
// same manifest with `apiTypes: all` (types for all 1,100+ operations), and `npm run generate`
// (adds npm's own start-up). Then one in-process, sequential pass times each phase, and the
// tools/list size of the 20-tool surface and of the seven-tool admin surface is measured.
// Prints a table; writes bench/results/generate-github.json. Targets: ≤ 5 s, ≤ 1 GB, ≤ 8 KB.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { fetchPublicSpec, githubRestSpec } from '../test/helpers/publicSpecs.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const MANIFEST = join(root, 'bench/fixtures/github-20-tools.yaml');
const RESULTS = join(root, 'bench/results/generate-github.json');
const GNU_TIME = '/usr/bin/time';
const TARGETS = { wallMs: 5000, peakRssMb: 1024, sevenToolListBytes: 8192 };

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

interface PhaseReport {
  phasesMs: Record<string, number>;
  toolsListBytes: { github20: number; admin7: number };
}

interface Sample {
  wallMs: number;
  peakRssMb: number;
  cpuMs: number | null;
}

/** One generate in a child process: wall time, peak RSS, CPU (user + sys). */
async function measure(command: string[], out: string): Promise<Sample> {
  const started = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-v', ...command], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`generate failed (exit ${code}):\n${stderr}`);
  if (!existsSync(join(out, 'tools.ts')) || !existsSync(join(out, 'api-types.ts'))) throw new Error('generate wrote no files');
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  if (rss === null) throw new Error(`no peak RSS in /usr/bin/time output:\n${stderr}`);
  return { wallMs, peakRssMb: Number(rss[1]) / 1024, cpuMs: user && sys ? (Number(user[1]) + Number(sys[1])) * 1000 : null };
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

const round = (n: number, d = 0) => Math.round(n * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} not found: install GNU time (apt-get install -y time); it reports peak RSS`);
  const specPath = await fetchPublicSpec(githubRestSpec);
  const specBytes = await readFile(specPath);
  const temp = await mkdtemp(join(root, '.cache/bench-generate-'));
  try {
    // The same 20 tools with whole-spec types, for comparison.
    const allManifest = join(temp, 'github-20-tools.all.yaml');
    await writeFile(allManifest, stringify({ ...parse(await readFile(MANIFEST, 'utf8')), apiTypes: 'all' }));
    const tsx = join(root, 'node_modules/.bin/tsx');
    const variants = [
      { name: 'tsx src/main.ts generate (apiTypes: exposed)', tools: MANIFEST, launcher: [tsx, 'src/main.ts', 'generate'] },
      { name: 'tsx src/main.ts generate (apiTypes: all)', tools: allManifest, launcher: [tsx, 'src/main.ts', 'generate'] },
      { name: 'npm run generate (apiTypes: exposed)', tools: MANIFEST, launcher: ['npm', 'run', '--silent', 'generate', '--'] },
    ];

    const load = { before: loadavg().map((x) => round(x, 2)), after: [] as number[] };
    const results = [];
    for (const v of variants) {
      const samples: Sample[] = [];
      // One untimed warm-up run (tsx's transform cache, page cache for the spec).
      for (let i = 0; i <= runs; i++) {
        const out = join(temp, `out-${results.length}-${i}`);
        const s = await measure([...v.launcher, '--spec', specPath, '--tools', v.tools, '--out', out], out);
        if (i > 0) samples.push(s);
        await rm(out, { recursive: true, force: true });
      }
      const wall = stats(samples.map((s) => s.wallMs));
      const rss = stats(samples.map((s) => s.peakRssMb));
      const cpu = samples.every((s) => s.cpuMs !== null) ? stats(samples.map((s) => s.cpuMs as number)) : null;
      results.push({
        variant: v.name,
        runs,
        wallMs: { median: round(wall.median), min: round(wall.min), max: round(wall.max) },
        peakRssMb: { median: round(rss.median), min: round(rss.min), max: round(rss.max) },
        cpuMs: cpu && { median: round(cpu.median), min: round(cpu.min), max: round(cpu.max) },
        samples: samples.map((s) => ({ wallMs: round(s.wallMs), peakRssMb: round(s.peakRssMb), cpuMs: s.cpuMs === null ? null : round(s.cpuMs) })),
        meetsTargets: wall.median <= TARGETS.wallMs && rss.max <= TARGETS.peakRssMb,
      });
    }
    load.after = loadavg().map((x) => round(x, 2));

    // Where the time goes: every phase once, in one process, one after the other (no worker).
    // Each scope in a fresh process, so both include the imports.
    const phase = (tools: string) => JSON.parse(execFileSync(tsx, [join(root, 'bench/generate-phases.ts'), specPath, tools], { cwd: root, encoding: 'utf8' })) as PhaseReport;
    const exposed = phase(MANIFEST);
    const all = phase(allManifest);
    const phases = { phases: { exposed: exposed.phasesMs, all: all.phasesMs }, toolsList: exposed.toolsListBytes };

    const report = {
      benchmark: 'generate over GitHub REST description with a 20-tool manifest',
      command: 'npm run bench:generate',
      date: new Date().toISOString(),
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
      machine: {
        nproc: availableParallelism(),
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGb: round(totalmem() / 2 ** 30, 1),
        node: process.version,
        loadAverage: load,
        peakRssFrom: '/usr/bin/time -v: max RSS of the largest process in the tree (the node process running generate, worker thread included)',
      },
      spec: {
        package: `${githubRestSpec.pkg}@${githubRestSpec.version}`,
        file: githubRestSpec.file,
        bytes: specBytes.length,
        sha256: createHash('sha256').update(specBytes).digest('hex'),
      },
      manifest: 'bench/fixtures/github-20-tools.yaml',
      targets: TARGETS,
      results,
      phasesMs: phases.phases,
      toolsListBytes: { ...phases.toolsList, sevenToolTarget: TARGETS.sevenToolListBytes },
    };
    await mkdir(join(root, 'bench/results'), { recursive: true });
    await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);

    const line = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
    const widths = [46, 22, 22, 18, 8];
    console.log(`generate, GitHub ${githubRestSpec.pkg}@${githubRestSpec.version} (${round(specBytes.length / 2 ** 20, 1)} MB), 20 tools, ${runs} runs each`);
    console.log(`machine: ${availableParallelism()} CPUs (${report.machine.cpu}), node ${process.version}, load average ${load.before.join(' ')} → ${load.after.join(' ')}`);
    console.log(line(['variant', 'wall ms med (min–max)', 'peak RSS MB med (max)', 'CPU ms med', 'targets'], widths));
    for (const r of results) {
      console.log(
        line(
          [r.variant, `${r.wallMs.median} (${r.wallMs.min}–${r.wallMs.max})`, `${r.peakRssMb.median} (${r.peakRssMb.max})`, r.cpuMs ? String(r.cpuMs.median) : '-', r.meetsTargets ? 'met' : 'MISSED'],
          widths,
        ),
      );
    }
    console.log(`targets: wall ≤ ${TARGETS.wallMs} ms (median), peak RSS ≤ ${TARGETS.peakRssMb} MB (max)`);
    for (const [scope, p] of Object.entries(phases.phases)) {
      console.log(`phases, in-process, sequential (apiTypes: ${scope}): ${Object.entries(p).map(([k, ms]) => `${k} ${ms}`).join(' · ')} ms`);
    }
    console.log(`tools/list: 20-tool GitHub surface ${phases.toolsList.github20} bytes; seven-tool admin surface ${phases.toolsList.admin7} bytes (target ≤ ${TARGETS.sevenToolListBytes})`);
    console.log(`written: ${RESULTS.slice(root.length)}`);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

await main();
