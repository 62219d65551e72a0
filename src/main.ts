// Composition root: `tsx src/main.ts <command> [flags]`. A thin dispatcher — each command lives in
// its own module, loaded only when asked for, and owns its flags. Add commands to COMMANDS.

import module from 'node:module';
import { mapStackTracesOnDemand } from './stackTraces.ts';

// Node ≥ 22.1 keeps V8's compiled code of every module on disk and reuses it on the next start
// (bench/README.md, "Cold start"); on Node 20 the function is absent and nothing happens.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; an unwritable cache directory only costs the gain.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
// Stack traces name the TypeScript sources, reading a map only when a trace is printed (D45).
mapStackTracesOnDemand();

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { about: string; load: () => Promise<Command> }> = {
  serve: {
    about: 'serve [--spec PATH --tools PATH | --compiled FILE] [--backend-url URL] [--token-file PATH]   serve MCP over Streamable HTTP',
    load: async () => (await import('./serveCli.ts')).runServe,
  },
  stdio: {
    about: 'stdio [--spec PATH --tools PATH | --compiled FILE] [--backend-url URL] [--token-file PATH]   serve MCP over stdio (local use)',
    load: async () => (await import('./serveCli.ts')).runStdio,
  },
  generate: {
    about: 'generate [--spec PATH] [--tools PATH] [--out DIR] [--check]   write src/generated/ from the spec + manifest',
    load: async () => (await import('./codegen/cli.ts')).runGenerate,
  },
  compile: {
    about: 'compile [--spec PATH] [--tools PATH] --out FILE                 compile the tool surface to JSON for `serve --compiled FILE`',
    load: async () => (await import('./compileCli.ts')).runCompile,
  },
  lint: {
    about: 'lint [--spec PATH] [--tools PATH]                              print the tools\' blast-radius report',
    load: async () => (await import('./codegen/cli.ts')).runLint,
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`usage: main.ts <command>\n${Object.values(COMMANDS).map((c) => `  ${c.about}`).join('\n')}\n`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    // Bad flags and the like: one line, no stack trace.
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
