/** The contract passes Redocly `recommended-strict`, and the linter demonstrably runs. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintSpecFile, lintSpecSource } from '../../mock-backend/lintSpec.ts';
import { DEFAULT_SPEC_PATH } from '../../mock-backend/spec.ts';

const source = readFileSync(DEFAULT_SPEC_PATH, 'utf8');

describe('openapi/admin-api.yaml lint', () => {
  it('has zero problems under recommended-strict', async () => {
    expect(await lintSpecFile()).toEqual([]);
  });

  it('reports a duplicate operationId in an altered copy', async () => {
    const altered = source.replace('operationId: getDraft', 'operationId: listDrafts');
    expect(altered).not.toBe(source);
    const findings = await lintSpecSource(altered);
    expect(findings.map((f) => f.ruleId)).toContain('operation-operationId-unique');
  });

  it('reports an operation without a summary in an altered copy', async () => {
    const altered = source.replace('      summary: List published posts\n', '');
    expect(altered).not.toBe(source);
    const findings = await lintSpecSource(altered);
    expect(findings.map((f) => f.ruleId)).toContain('operation-summary');
  });
});
