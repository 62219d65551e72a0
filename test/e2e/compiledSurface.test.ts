/**
 * `compile --out FILE` and `serve|stdio --compiled FILE` (src/compiledSurface.ts): the compiled
 * file holds what `--spec/--tools` would compile, Deputy serves it without the code generator,
 * and a file from another Deputy version or with changed sources is refused with one line that
 * says what to run.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import { CompiledSurfaceError, readCompiledSurface, type CompiledSurface } from '../../src/compiledSurface.ts';
import { tools as committedTools, profile as committedProfile } from '../../src/generated/tools.ts';
import { DEPUTY_CLIENT_SECRET } from '../helpers/deputy.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const main = ['--import', 'tsx', 'src/main.ts'];

let dir: string;
let backend: MockBackend;
/** Paths as the commands see them: relative to the repository, where they run. */
let spec: string;
let manifest: string;

const deputy = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [...main, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

async function compile(out: string): Promise<CompiledSurface> {
  const result = await deputy(['compile', '--spec', spec, '--tools', manifest, '--out', out]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(readFileSync(join(root, out), 'utf8')) as CompiledSurface;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'deputy-compiled-'));
  spec = relative(root, join(dir, 'admin-api.yaml'));
  manifest = relative(root, join(dir, 'tools.yaml'));
  copyFileSync(join(root, 'openapi/admin-api.yaml'), join(root, spec));
  // Two read tools only, so the served surface is visibly the compiled one and not src/generated/.
  const full = parseYaml(readFileSync(join(root, 'openapi/tools.yaml'), 'utf8')) as { tools: { name: string }[]; surfaces?: unknown };
  full.tools = full.tools.filter((t) => t.name === 'getDraft' || t.name === 'listDrafts');
  // Without the shipped surfaces, which name the other tools: served at the single /mcp.
  delete full.surfaces;
  writeFileSync(join(root, manifest), stringifyYaml(full));
  backend = await startMockBackend();
}, 60_000);

afterAll(async () => {
  await backend?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('compile', () => {
  it('writes exactly what serve --spec/--tools compiles, with its sources', async () => {
    const out = relative(root, join(dir, 'committed.json'));
    const result = await deputy(['compile', '--out', out]);
    expect(result.code).toBe(0);
    const surface = JSON.parse(readFileSync(join(root, out), 'utf8')) as CompiledSurface;
    // The committed surface was generated from the same two files.
    expect(surface.tools).toEqual(JSON.parse(JSON.stringify(committedTools)));
    expect(surface.profile).toEqual(committedProfile);
    expect(surface.sources.spec.path).toBe('openapi/admin-api.yaml');
    expect(surface.sources.manifest.path).toBe('openapi/tools.yaml');
    expect(surface.sources.spec.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('writes nothing and says why when the manifest does not compile', async () => {
    const broken = relative(root, join(dir, 'broken.yaml'));
    writeFileSync(join(root, broken), 'version: 1\ntools:\n  - name: nope\n    operation: noSuchOperation\n    title: Nope\n    description: Does nothing at all.\n    risk: read\n');
    const out = relative(root, join(dir, 'broken.json'));
    const result = await deputy(['compile', '--spec', spec, '--tools', broken, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/noSuchOperation[\s\S]*nothing compiled/);
    expect(() => readFileSync(join(root, out))).toThrow();
  }, 60_000);
});

describe('serve --compiled', () => {
  it('serves the compiled tools over stdio', async () => {
    const out = relative(root, join(dir, 'two.json'));
    await compile(out);
    const client = new Client({ name: 'compiled-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [...main, 'stdio', '--compiled', out],
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          DEPUTY_BACKEND_URL: backend.url,
          DEPUTY_OAUTH_CLIENT_ID: 'deputy',
          DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET,
          DEPUTY_OAUTH_TOKEN_URL: `${backend.auth.issuer}/oauth/token`,
          DEPUTY_LOG_LEVEL: 'silent',
          DEPUTY_AUDIT_LOG: 'stderr',
        },
        stderr: 'ignore',
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['getDraft', 'listDrafts']);
      const result = await client.callTool({ name: 'getDraft', arguments: { filename: 'q3-pricing-update.md' } });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses a file whose manifest changed, naming the file and the command', async () => {
    const out = relative(root, join(dir, 'stale.json'));
    await compile(out);
    writeFileSync(join(root, manifest), `${readFileSync(join(root, manifest), 'utf8')}# reviewed again\n`);
    const result = await deputy(['serve', '--compiled', out], { DEPUTY_AUTH_ISSUER: backend.url, DEPUTY_BACKEND_URL: backend.url, DEPUTY_OAUTH_CLIENT_ID: 'deputy', DEPUTY_OAUTH_CLIENT_SECRET: DEPUTY_CLIENT_SECRET });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `deputy: refusing to start: ${out} is stale: ${manifest} changed since it was compiled — fix: run \`deputy compile --spec ${spec} --tools ${manifest} --out ${out}\` again`,
    );
  }, 60_000);

  it('refuses a file from another Deputy version', async () => {
    const out = join(dir, 'old.json');
    const surface = await readCompiledSurface(await compileTo('old.json'));
    writeFileSync(out, JSON.stringify({ ...surface, deputy: { version: '0.0.1', format: surface.deputy.format } }));
    await expect(readCompiledSurface(out)).rejects.toThrow(/was compiled by Deputy 0\.0\.1 \(format \d+\), this is Deputy \S+ \(format \d+\) — fix: run `deputy compile/);
  }, 60_000);

  it('checks --spec/--tools against the recorded sources, and accepts missing sources when not given', async () => {
    const file = await compileTo('moved.json');
    await expect(readCompiledSurface(file, { manifest: 'openapi/tools.yaml' })).rejects.toThrow(/was compiled from .*tools\.yaml, not openapi\/tools\.yaml/);
    await expect(readCompiledSurface(file, { spec, manifest })).resolves.toMatchObject({ tools: [{ name: 'getDraft' }, { name: 'listDrafts' }] });
    // A deployment may ship only the compiled file: sources that are absent are not checked…
    rmSync(join(root, manifest));
    await expect(readCompiledSurface(file)).resolves.toBeTruthy();
    // …unless they were named on the command line.
    await expect(readCompiledSurface(file, { spec, manifest })).rejects.toBeInstanceOf(CompiledSurfaceError);
  }, 60_000);
});

/** Compiles the current spec + manifest copies into dir/NAME; the path relative to the repository. */
async function compileTo(name: string): Promise<string> {
  const out = relative(root, join(dir, name));
  await compile(out);
  return out;
}
