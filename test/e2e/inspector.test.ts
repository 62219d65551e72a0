/**
 * A real third-party client: MCP Inspector 2.12.0 in CLI mode, exactly as the README tells
 * users to run it, against Deputy and the mock backend on loopback with a dev agent token.
 *
 * The Inspector needs Node 22; npx fetches node@22 and the Inspector into its cache on the first
 * run (~30 s), later runs start in ~3 s. A run that produced no JSON at all (npx could not fetch
 * the packages) is retried once; a run that fails after that fails the test, never a skip.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tools as generatedTools } from '../../src/generated/tools.ts';
import { findLeaks, setup, type Harness } from '../helpers/deputy.ts';

const INSPECTOR = ['-y', '-p', 'node@22', '-p', '@modelcontextprotocol/inspector@2.12.0', '--', 'mcp-inspector', '--cli'];
const RUN_TIMEOUT_MS = 240_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runOnce(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    // Async, never execFileSync: Deputy runs in this very process and must keep serving.
    execFile('npx', [...INSPECTOR, ...args], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The Inspector prints one JSON document on stdout: the result, or `{ "error": … }`. */
function jsonOf(run: Run): Record<string, unknown> | null {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function inspector(url: string, token: string, args: readonly string[]): Promise<{ run: Run; json: Record<string, unknown> }> {
  // `--header` is variadic in the Inspector's CLI: it must come last.
  const argv = [url, '--transport', 'http', ...args, '--header', `Authorization: Bearer ${token}`];
  let run = await runOnce(argv);
  if (jsonOf(run) === null) {
    process.stderr.write(`inspector: no JSON from the first run (exit ${run.code}); retrying once. stderr tail:\n${run.stderr.slice(-1_500)}\n`);
    run = await runOnce(argv);
  }
  const json = jsonOf(run);
  if (json === null) throw new Error(`MCP Inspector produced no JSON (exit ${run.code}).\nstdout:\n${run.stdout.slice(-2_000)}\nstderr:\n${run.stderr.slice(-2_000)}`);
  return { run, json };
}

describe('MCP Inspector (CLI mode) against Deputy', () => {
  let h: Harness;
  let token: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    h = await setup();
    token = await h.agentToken();
  });
  afterAll(async () => {
    await h?.teardown();
  });

  it('lists the seven tools', { timeout: 2 * RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { run, json } = await inspector(h.deputy.url, token, ['--method', 'tools/list']);
    outputs.push(run.stdout, run.stderr);
    expect(json.error, run.stdout).toBeUndefined();
    const tools = json.tools as { name: string; inputSchema: unknown; annotations?: { readOnlyHint?: boolean } }[];
    expect(tools.map((tool) => tool.name).sort()).toEqual(generatedTools.map((tool) => tool.name).sort());
    expect(tools).toHaveLength(7);
    expect(tools.find((tool) => tool.name === 'listDrafts')?.annotations?.readOnlyHint).toBe(true);
  });

  it('calls listDrafts with limit=2 and gets two drafts', { timeout: 2 * RUN_TIMEOUT_MS + 10_000 }, async () => {
    const { run, json } = await inspector(h.deputy.url, token, ['--method', 'tools/call', '--tool-name', 'listDrafts', '--tool-arg', 'limit=2']);
    outputs.push(run.stdout, run.stderr);
    expect(json.error, run.stdout).toBeUndefined();
    expect(json.isError ?? false, run.stdout).toBe(false);
    const structured = json.structuredContent as { items: { filename: string }[] };
    expect(structured.items).toHaveLength(2);
    for (const item of structured.items) expect(item.filename).toMatch(/\.md$/);
    const text = (json.content as { type: string; text: string }[])[0];
    expect(text?.type).toBe('text');

    const audit = h.auditLines().filter((line) => line.tool === 'listDrafts');
    expect(audit.at(-1)).toMatchObject({ outcome: 'ok', caller: { subject: 'dev', clientId: 'deputy-dev-agent' } });
  });

  it('leaks no token in anything it printed or logged', () => {
    expect(outputs.length).toBeGreaterThan(0);
    expect(findLeaks(h, outputs)).toEqual([]);
  });
});
