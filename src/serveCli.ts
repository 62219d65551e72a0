/**
 * `main.ts serve` / `main.ts stdio`: flags and environment in, a running Deputy out.
 *
 *   serve [--spec PATH --tools PATH | --compiled FILE] [--backend-url URL] [--token-file PATH]
 *   stdio [--spec PATH --tools PATH | --compiled FILE] [--backend-url URL] [--token-file PATH]
 *
 * With --spec/--tools the tool surface is compiled at start with exactly the checks of
 * `generate`, and Deputy refuses to start on any error; with --compiled it serves what `compile`
 * wrote, refusing a stale file (src/compiledSurface.ts), and never loads the code generator;
 * without either it serves the committed src/generated/ tools. --backend-url and --token-file
 * override DEPUTY_BACKEND_URL and DEPUTY_TOKEN_PROVIDER=static + DEPUTY_TOKEN_FILE.
 */
import { parseArgs } from 'node:util';
import { CompiledSurfaceError, readCompiledSurface } from './compiledSurface.ts';
import { ConfigError, loadConfig } from './config.ts';
import { profile as generatedProfile, tools as generatedTools } from './generated/tools.ts';
import { StartupError, type ServeDependencies } from './serveCommon.ts';

const err = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The tools and the server profile compiled with them: the committed ones, the --compiled file
 * (checked against --spec/--tools when given too), or --spec/--tools compiled now.
 */
async function toolsFrom(spec: string | undefined, tools: string | undefined, compiled: string | undefined): Promise<Pick<ServeDependencies, 'tools' | 'profile'> | null> {
  if (compiled !== undefined) {
    try {
      const surface = await readCompiledSurface(compiled, { spec, manifest: tools });
      return { tools: surface.tools, profile: surface.profile };
    } catch (error) {
      if (!(error instanceof CompiledSurfaceError)) throw error;
      err(`deputy: refusing to start: ${error.message}`);
      return null;
    }
  }
  if (spec === undefined && tools === undefined) return { tools: generatedTools, profile: generatedProfile };
  // Loaded only when asked for: the code generator (and its YAML/spec stack) is not needed to
  // serve the committed tools, and importing it cost a sizeable share of cold start.
  const { DEFAULTS, loadAndCompile } = await import('./codegen/cli.ts');
  const loaded = await loadAndCompile(spec ?? DEFAULTS.spec, tools ?? DEFAULTS.tools, { out: err, err });
  if (!loaded || loaded.result.errors.length > 0) {
    err('deputy: refusing to start: the tool surface does not compile (errors above)');
    return null;
  }
  return { tools: loaded.result.tools, profile: loaded.result.profile };
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
}

async function run(argv: string[], transport: 'http' | 'stdio'): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      spec: { type: 'string' },
      tools: { type: 'string' },
      compiled: { type: 'string' },
      'backend-url': { type: 'string' },
      'token-file': { type: 'string' },
    },
    strict: true,
  });
  const env: Record<string, string | undefined> = { ...process.env };
  if (values['backend-url']) env.DEPUTY_BACKEND_URL = values['backend-url'];
  if (values['token-file']) {
    env.DEPUTY_TOKEN_PROVIDER = 'static';
    env.DEPUTY_TOKEN_FILE = values['token-file'];
  }
  try {
    const config = loadConfig(env, transport);
    const compiled = await toolsFrom(values.spec, values.tools, values.compiled);
    if (!compiled) return 1;
    // The manifest's surfaces travel in its server profile (src/README.md D42).
    const surface: ServeDependencies = { ...compiled, ...(compiled.profile?.surfaces ? { surfaces: compiled.profile.surfaces } : {}) };
    if (transport === 'stdio') {
      // Each transport's module is loaded for its own command only: `stdio` loads nothing of the
      // HTTP side (src/README.md D45).
      const { serveStdio } = await import('./serveStdio.ts');
      const running = await serveStdio(config, surface);
      await Promise.race([untilSignal(), new Promise((resolve) => process.stdin.once('close', resolve))]);
      await running.close();
      return 0;
    }
    const { serveHttp } = await import('./serve.ts');
    const deputy = await serveHttp(config, surface);
    // Listen for the signals before saying so: a SIGTERM sent the moment the line appears would
    // otherwise meet Node's default action and end the process without flushing the audit trail.
    const stopped = untilSignal();
    // One line, read by `npm start` and the tests: the first URL, then each further surface's.
    const endpoints = deputy.surfaces.map((s) => `${s.url}${s.name === null ? '' : ` (surface ${s.name}${s.readOnly ? ', read-only' : ''})`}`);
    process.stdout.write(`deputy listening on ${endpoints.join(', ')}\n`);
    await stopped;
    await deputy.close();
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      err(`deputy: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export const runServe = (argv: string[]) => run(argv, 'http');
export const runStdio = (argv: string[]) => run(argv, 'stdio');
