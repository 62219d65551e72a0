/**
 * The official MCP conformance suites (test/conformance/run.ts, also `npm run conformance`), one
 * per protocol era, against the auth-off test profile. The must-pass scenarios pass; every other
 * scenario fails exactly as that suite's expected-failures file says, with the reason written there.
 * The first run fetches node@22 and the suite with npx (cached afterwards).
 */
import { describe, expect, it } from 'vitest';
import { SUITES, formatReport, runConformance } from '../conformance/run.ts';

describe.each(SUITES)('MCP conformance suite, $name', (suite) => {
  it('passes the domain-server scenarios and fails only the expected ones', { timeout: 300_000 }, async () => {
    let report = await runConformance(suite, { timeoutMs: 240_000 });
    // One retry if the suite never produced results (a flaky first download), never a skip.
    if (report.outcomes.length === 0) report = await runConformance(suite, { timeoutMs: 240_000 });
    expect(report.ok, formatReport(report)).toBe(true);
    for (const scenario of suite.mustPass) {
      expect(report.outcomes.find((o) => o.scenario === scenario)?.verdict, scenario).toBe('pass');
    }
  });
});
