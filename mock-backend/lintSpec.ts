/**
 * `npm run lint:spec`: lints `openapi/admin-api.yaml` (or the files given) with Redocly's
 * `recommended-strict` ruleset, where every warning is an error. Exit 1 on any problem.
 */
import { pathToFileURL } from 'node:url';
import { createConfig, lint, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import { DEFAULT_SPEC_PATH } from './spec.ts';

export const LINT_RULESET = 'recommended-strict';

export interface LintFinding {
  ruleId: string;
  severity: string;
  message: string;
  /** JSON pointer of the first location, e.g. `#/paths/~1drafts/get/operationId`. */
  pointer: string | null;
}

const toFinding = (p: NormalizedProblem): LintFinding => ({ ruleId: p.ruleId, severity: p.severity, message: p.message, pointer: p.location[0]?.pointer ?? null });

/** Lints a spec file. */
export async function lintSpecFile(path: string = DEFAULT_SPEC_PATH): Promise<LintFinding[]> {
  const config = await createConfig({ extends: [LINT_RULESET] });
  return (await lint({ ref: path, config })).map(toFinding);
}

/** Lints spec text as if it were the file at `path` (tests lint altered copies this way). */
export async function lintSpecSource(source: string, path: string = DEFAULT_SPEC_PATH): Promise<LintFinding[]> {
  const config = await createConfig({ extends: [LINT_RULESET] });
  return (await lintFromString({ source, absoluteRef: path, config })).map(toFinding);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  let failed = false;
  for (const file of files.length > 0 ? files : [DEFAULT_SPEC_PATH]) {
    const findings = await lintSpecFile(file);
    for (const f of findings) process.stdout.write(`${file} ${f.pointer ?? ''} ${f.severity} ${f.ruleId}: ${f.message}\n`);
    process.stdout.write(`${file}: ${findings.length} problem(s) with Redocly ${LINT_RULESET}\n`);
    failed ||= findings.length > 0;
  }
  process.exit(failed ? 1 : 0);
}
