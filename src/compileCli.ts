/**
 * `main.ts compile [--spec PATH] [--tools PATH] --out FILE`: compiles the tool surface with exactly
 * the checks of `generate` and writes it as JSON for `serve --compiled FILE`
 * (src/compiledSurface.ts), so a server over another backend does not run the code generator at
 * every start. Writes nothing when any check fails.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS, loadAndCompile } from './codegen/cli.ts';
import { compiledSurface } from './compiledSurface.ts';

const err = (line: string) => process.stderr.write(`${line}\n`);

export async function runCompile(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      spec: { type: 'string', default: DEFAULTS.spec },
      tools: { type: 'string', default: DEFAULTS.tools },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (values.out === undefined) {
    err('error: compile needs --out FILE (where to write the compiled surface)');
    return 2;
  }
  const loaded = await loadAndCompile(values.spec, values.tools, { out: err, err });
  if (loaded === null) return 1;
  if (loaded.result.errors.length > 0) {
    err(`${loaded.result.errors.length} error(s): nothing compiled`);
    return 1;
  }
  const surface = await compiledSurface({ spec: values.spec, manifest: values.tools, specParts: loaded.specFiles }, loaded.result.tools, loaded.result.profile);
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(surface)}\n`);
  process.stdout.write(`compiled ${surface.tools.length} tools → ${values.out} (serve it with \`serve --compiled ${values.out}\`)\n`);
  return 0;
}
