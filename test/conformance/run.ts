/**
 * `npm run conformance`: the official MCP conformance suite against Deputy's auth-off test
 * profile (./profile.ts), once per protocol era, each run compared with its own list of
 * expected failures:
 *
 *   2025 era    @modelcontextprotocol/conformance@0.1.16 (active suite)       expected-failures.yaml
 *   2026-07-28  @modelcontextprotocol/conformance@0.2.0-alpha.12
 *               --requirements 2026-07-28                                    expected-failures-2026-07-28.yaml
 *
 * Starts the mock backend and Deputy on free loopback ports, runs
 *   npx -y -p node@22 -p PACKAGE -- conformance server --url URL [ARGS]
 * (the suite needs Node 22; npx fetches it once into its cache), reads every scenario's
 * checks.json and exits non-zero on any unexpected result: a failing scenario that is not listed,
 * a listed scenario that passes (stale entry), a must-pass scenario that did not run or is
 * listed, or a suite that did not finish. Prints one line per scenario.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startProfile } from './profile.ts';

export interface ConformanceSuite {
  name: string;
  package: string;
  args: readonly string[];
  expectedFile: string;
  /** Scenarios that must run and pass (never listed as expected failures). */
  mustPass: readonly string[];
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export const SUITES: readonly ConformanceSuite[] = [
  {
    name: '2025 era',
    package: '@modelcontextprotocol/conformance@0.1.16',
    args: [],
    expectedFile: here('./expected-failures.yaml'),
    mustPass: ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection', 'server-sse-multiple-streams'],
  },
  {
    name: '2026-07-28',
    package: '@modelcontextprotocol/conformance@0.2.0-alpha.12',
    args: ['--requirements', '2026-07-28'],
    expectedFile: here('./expected-failures-2026-07-28.yaml'),
    mustPass: [
      'tools-list',
      'dns-rebinding-protection',
      'server-sse-multiple-streams',
      'http-header-validation',
      'input-required-result-unsupported-methods',
      'input-required-result-validate-input',
    ],
  },
];

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

export interface ScenarioOutcome {
  scenario: string;
  passed: boolean;
  /** The reason from expected-failures.yaml, when listed. */
  expectedFailure: string | null;
  verdict: 'pass' | 'expected failure' | 'UNEXPECTED FAILURE' | 'UNEXPECTED PASS';
  problems: string[];
}

export interface ConformanceReport {
  ok: boolean;
  outcomes: ScenarioOutcome[];
  /** Problems that are not one scenario's (missing must-pass, stale or unknown entries, suite exit). */
  errors: string[];
  suiteExitCode: number | null;
}

export async function loadExpectedFailures(path: string): Promise<Map<string, string>> {
  const parsed = parse(await readFile(path, 'utf8')) as { server?: Record<string, string> } | null;
  const server = parsed?.server ?? {};
  if (typeof server !== 'object' || Array.isArray(server)) throw new Error(`${path}: 'server' must map scenario → reason`);
  return new Map(Object.entries(server).map(([scenario, reason]) => [scenario, String(reason).trim()]));
}

/** Runs the suite (inheriting stderr for download progress), bounded by `timeoutMs`. */
function runSuite(suite: ConformanceSuite, url: string, outDir: string, baseline: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const args = ['-y', '-p', 'node@22', '-p', suite.package, '--', 'conformance', 'server', '--url', url, '-o', outDir, '--expected-failures', baseline, ...suite.args];
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout stops npx, node@22 and the suite together.
    const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** `server-tools-list-2026-01-01T00-00-00-000Z` → `tools-list`. */
function scenarioOf(dirName: string): string {
  return dirName.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
}

export async function runConformance(suite: ConformanceSuite, options: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<ConformanceReport> {
  const log = options.log ?? (() => {});
  const expected = await loadExpectedFailures(suite.expectedFile);
  const errors: string[] = [];
  for (const scenario of suite.mustPass) {
    if (expected.has(scenario)) errors.push(`${scenario} must pass and cannot be an expected failure`);
  }
  const work = await mkdtemp(join(tmpdir(), 'deputy-conformance-'));
  const profile = await startProfile();
  try {
    const baseline = join(work, 'baseline.yaml');
    await writeFile(baseline, `server:\n${[...expected.keys()].map((s) => `  - ${s}\n`).join('')}`);
    const outDir = join(work, 'results');
    log(`conformance (${suite.name}): ${suite.package} ${suite.args.join(' ')} against ${profile.url} (auth-off test profile)`);
    const run = await runSuite(suite, profile.url, outDir, baseline, options.timeoutMs ?? 240_000);

    const outcomes: ScenarioOutcome[] = [];
    const dirs = await readdir(outDir).catch(() => [] as string[]);
    for (const dir of dirs.sort()) {
      const scenario = scenarioOf(dir);
      const checks = JSON.parse(await readFile(join(outDir, dir, 'checks.json'), 'utf8')) as Check[];
      const problems = checks
        .filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
        .map((check) => `${check.status} ${check.id}${check.errorMessage ? `: ${check.errorMessage}` : ''}`);
      const passed = problems.length === 0 && checks.some((check) => check.status === 'SUCCESS');
      const reason = expected.get(scenario) ?? null;
      const verdict = passed ? (reason ? 'UNEXPECTED PASS' : 'pass') : reason ? 'expected failure' : 'UNEXPECTED FAILURE';
      outcomes.push({ scenario, passed, expectedFailure: reason, verdict, problems });
    }
    const ran = new Set(outcomes.map((o) => o.scenario));
    for (const scenario of suite.mustPass) if (!ran.has(scenario)) errors.push(`must-pass scenario ${scenario} did not run`);
    for (const scenario of expected.keys()) if (!ran.has(scenario)) errors.push(`expected-failures.yaml lists ${scenario}, which did not run`);
    if (run.code === null) errors.push(`the suite did not finish within ${options.timeoutMs ?? 240_000} ms`);
    else if (run.code !== 0) errors.push(`the suite exited with ${run.code} (its own baseline check):\n${run.output.slice(-1_500)}`);
    if (outcomes.length === 0) errors.push(`no scenario results; suite output:\n${run.output.slice(-4_000)}`);

    const unexpected = outcomes.filter((o) => o.verdict === 'UNEXPECTED FAILURE' || o.verdict === 'UNEXPECTED PASS');
    return { ok: errors.length === 0 && unexpected.length === 0, outcomes, errors, suiteExitCode: run.code };
  } finally {
    await profile.close();
    await rm(work, { recursive: true, force: true });
  }
}

export function formatReport(report: ConformanceReport): string {
  const width = Math.max(...report.outcomes.map((o) => o.scenario.length), 10);
  const lines = report.outcomes.map((o) => {
    const detail = o.verdict === 'pass' ? '' : o.verdict === 'expected failure' ? `  (${o.expectedFailure})` : `  ${o.problems.join('; ')}`;
    return `${o.scenario.padEnd(width)}  ${o.verdict}${detail}`;
  });
  const count = (verdict: ScenarioOutcome['verdict']) => report.outcomes.filter((o) => o.verdict === verdict).length;
  lines.push(
    '',
    `${count('pass')} passed, ${count('expected failure')} expected failures, ${count('UNEXPECTED FAILURE')} unexpected failures, ${count('UNEXPECTED PASS')} unexpected passes`,
  );
  for (const error of report.errors) lines.push(`error: ${error}`);
  lines.push(report.ok ? 'conformance: OK' : 'conformance: FAILED');
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let ok = true;
  for (const suite of SUITES) {
    const report = await runConformance(suite, { log: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(`\n== ${suite.name}: ${suite.package} ${suite.args.join(' ')}\n${formatReport(report)}\n`);
    ok &&= report.ok;
  }
  process.exitCode = ok ? 0 : 1;
}
