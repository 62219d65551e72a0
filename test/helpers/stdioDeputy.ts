/**
 * Deputy as a local agent runs it: a child process speaking MCP over stdio
 * (`main.ts stdio --spec --tools --backend-url --token-file`), driven by the real SDK client.
 * The client declares elicitation and answers every approval prompt the way `onElicit` says
 * (default: approve), keeping each prompt; everything Deputy writes to stderr (application log
 * and audit lines) is kept for the "no secret anywhere" and audit checks.
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult, type Tool } from '@modelcontextprotocol/sdk/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface StdioDeputyOptions {
  spec: string;
  tools: string;
  backendUrl: string;
  tokenFile: string;
  /** Extra environment for the child (token values read through `tokenEnv`, log level…). */
  env?: Record<string, string>;
  onElicit?: (message: string) => ElicitResult;
}

export interface StdioDeputy {
  client: Client;
  /** `tools/list`, fetched once at start. */
  tools: Tool[];
  /** Every approval prompt shown, oldest first. */
  prompts: string[];
  /** Every stderr line (application log and audit trail). */
  stderr: string[];
  /** Audit lines parsed (the lines with an `outcome`). */
  audit(): { tool: string; outcome: string; approval: string; backend: { status: number | null } | null }[];
  callTool(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

const approve = (): ElicitResult => ({ action: 'accept', content: { confirm: true } });

export async function startStdioDeputy(options: StdioDeputyOptions): Promise<StdioDeputy> {
  const prompts: string[] = [];
  const stderr: string[] = [];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts', 'stdio', '--spec', options.spec, '--tools', options.tools, '--backend-url', options.backendUrl, '--token-file', options.tokenFile],
    cwd: root,
    // Only what Deputy needs: the test runner's environment holds nothing it should read.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root, DEPUTY_LOG_LEVEL: 'info', ...options.env },
    stderr: 'pipe',
  });
  let partial = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines.filter((l) => l !== ''));
  });
  const client = new Client({ name: 'deputy-corpus', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  const onElicit = options.onElicit ?? approve;
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    prompts.push(request.params.message);
    return onElicit(request.params.message);
  });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`Deputy did not start over stdio: ${(error as Error).message}\n${[...stderr, partial].join('\n')}`);
  }
  const { tools } = await client.listTools();
  return {
    client,
    tools,
    prompts,
    stderr,
    audit: () =>
      stderr
        .filter((l) => l.startsWith('{') && l.includes('"outcome"'))
        .map((l) => JSON.parse(l) as ReturnType<StdioDeputy['audit']>[number]),
    callTool: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
  };
}
