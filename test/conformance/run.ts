/**
 * `npm run conformance`: the official MCP conformance suite against Deputy's auth-off test
 * profile (./profile.ts), compared with ./expected-failures.yaml.
 *
 * Starts the mock backend and Deputy on free loopback ports, runs
 *   npx -y -p node@22 -p @modelcontextprotocol/conformance@0.1.16 -- conformance server --url URL
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

export const CONFORMANCE_PACKAGE = '@modelcontextprotocol/conformance@0.1.16';
export const MUST_PASS = ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection', 'server-sse-multiple-streams'] as const;
const EXPECTED_FILE = fileURLToPath(new URL('./expected-failures.yaml', import.meta.url));

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

export async function loadExpectedFailures(path = EXPECTED_FILE): Promise<Map<string, string>> {
  const parsed = parse(await readFile(path, 'utf8')) as { server?: Record<string, string> } | null;
  const server = parsed?.server ?? {};
  if (typeof server !== 'object' || Array.isArray(server)) throw new Error(`${path}: 'server' must map scenario → reason`);
  return new Map(Object.entries(server).map(([scenario, reason]) => [scenario, String(reason).trim()]));
}

/** Runs the suite (inheriting stderr for download progress), bounded by `timeoutMs`. */
function runSuite(url: string, outDir: string, baseline: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const args = ['-y', '-p', 'node@22', '-p', CONFORMANCE_PACKAGE, '--', 'conformance', 'server', '--url', url, '-o', outDir, '--expected-failures', baseline];
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

export async function runConformance(options: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<ConformanceReport> {
  const log = options.log ?? (() => {});
  const expected = await loadExpectedFailures();
  const errors: string[] = [];
  for (const scenario of MUST_PASS) {
    if (expected.has(scenario)) errors.push(`${scenario} must pass and cannot be an expected failure`);
  }
  const work = await mkdtemp(join(tmpdir(), 'deputy-conformance-'));
  const profile = await startProfile();
  try {
    const baseline = join(work, 'baseline.yaml');
    await writeFile(baseline, `server:\n${[...expected.keys()].map((s) => `  - ${s}\n`).join('')}`);
    const outDir = join(work, 'results');
    log(`conformance: ${CONFORMANCE_PACKAGE} against ${profile.url} (auth-off test profile)`);
    const suite = await runSuite(profile.url, outDir, baseline, options.timeoutMs ?? 240_000);

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
    for (const scenario of MUST_PASS) if (!ran.has(scenario)) errors.push(`must-pass scenario ${scenario} did not run`);
    for (const scenario of expected.keys()) if (!ran.has(scenario)) errors.push(`expected-failures.yaml lists ${scenario}, which did not run`);
    if (suite.code === null) errors.push(`the suite did not finish within ${options.timeoutMs ?? 240_000} ms`);
    else if (suite.code !== 0) errors.push(`the suite exited with ${suite.code} (its own baseline check)`);
    if (outcomes.length === 0) errors.push(`no scenario results; suite output:\n${suite.output.slice(-4_000)}`);

    const unexpected = outcomes.filter((o) => o.verdict === 'UNEXPECTED FAILURE' || o.verdict === 'UNEXPECTED PASS');
    return { ok: errors.length === 0 && unexpected.length === 0, outcomes, errors, suiteExitCode: suite.code };
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
  const report = await runConformance({ log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${formatReport(report)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}
