/**
 * The Prometheus alert rules in .deploy/prometheus/ (.deploy/README.md, "Alert rules"): promtool
 * (Debian's `prometheus` package, installed when missing) checks them and runs their unit tests,
 * in which every alert fires on a synthetic series; every metric they read is one Deputy serves.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/http/metrics.ts';
import { ensureDebianBinary, sh } from '../helpers/debianPackages.ts';

const dir = fileURLToPath(new URL('../../.deploy/prometheus/', import.meta.url));
const rules = parseYaml(readFileSync(`${dir}alerts.yml`, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
const ruleTests = parseYaml(readFileSync(`${dir}alerts.test.yml`, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
const alerts = rules.groups.flatMap((g) => g.rules);

let promtool: string;
beforeAll(async () => {
  promtool = await ensureDebianBinary(['promtool'], ['prometheus']);
}, 600_000);

describe('the alert rules', () => {
  it('pass `promtool check rules`', async () => {
    const result = await sh(`cd '${dir}' && '${promtool}' check rules alerts.yml`, 60_000);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(result.code).toBe(0);
  });

  it('pass their `promtool test rules` unit tests', async () => {
    const result = await sh(`cd '${dir}' && '${promtool}' test rules alerts.test.yml`, 120_000);
    expect(result.output).toContain('SUCCESS');
    expect(result.code, result.output).toBe(0);
  });

  it('each fire in at least one unit test, and the tests name no other alert', () => {
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test);
    const firing = new Set(cases.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname));
    const names = alerts.map((a) => a.alert);
    expect(names.length).toBeGreaterThanOrEqual(10);
    expect(names.filter((name) => !firing.has(name))).toEqual([]);
    expect(cases.map((c) => c.alertname).filter((name) => !names.includes(name))).toEqual([]);
  });

  it('read only metrics Deputy serves', async () => {
    const served = new Set((await createMetrics({ openSessions: () => 0, sharedStateUp: () => true }).registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(alerts.flatMap((a) => a.expr.match(/\bdeputy_[a-z_]+\b/g) ?? []));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((name) => !served.has(name))).toEqual([]);
  });
});
