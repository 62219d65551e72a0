// The `generate` and `lint` commands as a backend engineer runs them: real subprocesses through
// `npx tsx src/main.ts`, temp output directories, exit codes and messages.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate, runLint, type Io } from '../../src/codegen/cli.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'deputy-codegen-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'src/main.ts', ...args], { cwd: root }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') });
    });
  });
}

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

// Each subprocess pays tsx start-up (seconds on a busy 2-core machine).
describe('npm run generate', { timeout: 120_000 }, () => {
  const a = join(temp, 'a');
  const b = join(temp, 'b');

  it('is deterministic: two runs into two directories give byte-identical files, equal to the committed ones', async () => {
    const [ra, rb] = await Promise.all([cli('generate', '--out', a), cli('generate', '--out', b)]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stdout).toContain('generated 7 tools');
    for (const file of ['tools.ts', 'api-types.ts']) {
      const first = readFileSync(join(a, file), 'utf8');
      expect(readFileSync(join(b, file), 'utf8')).toBe(first);
      expect(readFileSync(join(root, 'src/generated', file), 'utf8')).toBe(first);
    }
  });

  it('--check exits 0 when current, 1 naming each stale or missing file, and writes nothing', async () => {
    const clean = await cli('generate', '--check', '--out', a);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('generated code is current');

    writeFileSync(join(a, 'tools.ts'), `${readFileSync(join(a, 'tools.ts'), 'utf8')}// hand edit\n`);
    unlinkSync(join(a, 'api-types.ts'));
    const stale = await cli('generate', '--check', '--out', a);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^stale: .*\/a\/tools\.ts$/m);
    expect(stale.stderr).toMatch(/^missing: .*\/a\/api-types\.ts$/m);
    expect(stale.stderr).toContain('run `npm run generate`');
    // --check never writes.
    expect(readFileSync(join(a, 'tools.ts'), 'utf8')).toContain('// hand edit');
  });

  it('a broken spec passed with --spec fails with every error in the documented format and no stack trace', async () => {
    const spec = readFileSync(join(root, 'openapi/admin-api.yaml'), 'utf8')
      .replace('operationId: getCustomer\n', 'operationId: fetchCustomer\n')
      .replace('- name: author\n', '- name: writer\n');
    const broken = join(temp, 'broken.yaml');
    writeFileSync(broken, spec);
    const out = join(temp, 'never');
    const r = await cli('generate', '--spec', broken, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: tool "getCustomerSummary" (openapi/tools.yaml tools[3].operation): unknown operationId \'getCustomer\' at paths — fix: did you mean \'fetchCustomer\'? (renamed in the spec?)',
    );
    expect(r.stderr).toContain('error: tool "listDrafts" (openapi/tools.yaml tools[0].input.author): the spec has no parameter or body property \'author\' on GET /drafts');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).toContain('nothing generated');
    expect(() => readFileSync(join(out, 'tools.ts'))).toThrow();
  });
});

describe('npm run lint:tools', () => {
  it('prints the blast-radius report for every tool and the operations not exposed', async () => {
    const io = capture();
    expect(await runLint([], io)).toBe(0);
    const report = io.stdout.join('\n');
    for (const name of ['listDrafts', 'getDraft', 'publishDraft', 'getCustomerSummary', 'searchCustomers', 'listCustomerTickets', 'addTicketNote']) {
      expect(report).toMatch(new RegExp(`^${name}  \\[(read|write)\\]`, 'm'));
    }
    expect(report.match(/worst case +if the model is fully prompt-injected: /g)).toHaveLength(7);
    expect(report).toContain('worst case     if the model is fully prompt-injected: runs "Publish a draft" on any filename the caller can name (always notifySubscribers=false), once per human approval');
    expect(report).toContain('limit   query, optional, integer, range 1..50, default 20');
    expect(report).toContain('Not exposed (deny by default): 9 of 16 operations');
    expect(report.match(/^ {2}mode {11}live$/gm)).toHaveLength(7);
    expect(report).toMatch(/^ {2}deleteDraft +DELETE \/drafts\/\{filename\} +drafts:delete +\[destructive\]$/m);
    expect(report).toMatch(/^ {2}runSqlReport +POST \/admin\/sql-reports +admin:sql$/m);
  });

  it('exits non-zero on any generation error', async () => {
    const manifest = join(temp, 'bad-tools.yaml');
    writeFileSync(manifest, readFileSync(join(root, 'openapi/tools.yaml'), 'utf8').replace('limit: { maximum: 50 }', 'limit: { maximum: 500 }'));
    const io = capture();
    expect(await runLint(['--tools', manifest], io)).toBe(1);
    expect(io.stderr.join('\n')).toContain("maximum 500 for 'limit' is above the spec's maximum 100");
  });

  it('refuses a Swagger 2.0 spec with a clear message', async () => {
    const io = capture();
    expect(await runGenerate(['--spec', join(root, 'test/fixtures/codegen/swagger-20.yaml'), '--out', join(temp, 'never')], io)).toBe(1);
    expect(io.stderr.join('\n')).toContain('the spec is Swagger 2.0 (OpenAPI 2.0), which Deputy does not read');
  });

  it('blames a missing spec file on the spec, not the manifest', async () => {
    const io = capture();
    const missing = join(temp, 'no-such-spec.yaml');
    expect(await runGenerate(['--spec', missing, '--out', join(temp, 'never')], io)).toBe(1);
    const stderr = io.stderr.join('\n');
    expect(stderr).toMatch(/^error: \(\S*no-such-spec\.yaml\): the spec \S*no-such-spec\.yaml does not exist — fix: pass an existing OpenAPI document with --spec$/);
    expect(stderr).not.toContain('tools.yaml');
  });
});
