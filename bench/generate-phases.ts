// Where `generate`'s time goes: each phase once, in this one process, one after the other (the
// CLI overlaps openapi-typescript's import and, with `apiTypes: all`, the types with the compile
// in a worker thread; this does not). Also measures the tools/list size of the compiled surface
// and of the committed seven-tool surface. Run by bench/generate-github.ts; prints JSON.
//
//   tsx bench/generate-phases.ts <spec> <manifest>

const startedAt = performance.now(); // ms since this process started: node + tsx start-up
const lap = (() => {
  let t = startedAt;
  return () => {
    const now = performance.now();
    const ms = Math.round(now - t);
    t = now;
    return ms;
  };
})();

const { readFile } = await import('node:fs/promises');
const { parse } = await import('yaml');
const { loadSpec } = await import('../src/codegen/loadSpec.ts');
const { compileTools } = await import('../src/codegen/compile.ts');
const emit = await import('../src/codegen/emit.ts');
const importCodegen = lap();

const [specPath, manifestPath] = process.argv.slice(2);
if (specPath === undefined || manifestPath === undefined) throw new Error('usage: generate-phases.ts <spec> <manifest>');
const loaded = await loadSpec(specPath);
if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
const loadMs = lap();
const result = compileTools({ spec: loaded.document, manifest: parse(await readFile(manifestPath, 'utf8')) });
if (result.errors.length > 0) throw new Error(`${result.errors.length} errors`);
const compileMs = lap();
const typesSpec = result.apiTypes === 'all' ? loaded.document : emit.pruneToExposed(loaded.document, result.tools);
emit.typeBlockers(typesSpec);
const pruneMs = lap();
await import('openapi-typescript');
const importTypesMs = lap();
await emit.typesInProcess(typesSpec);
const typesMs = lap();
emit.emitToolsModule(result.tools, { spec: 'spec', manifest: 'manifest' }, result.profile);
const toolsMs = lap();

type Listed = { name: string; title: string; description: string; inputSchema: unknown; outputSchema: unknown; annotations: unknown };
/** The tools/list result body, as the surface test measures it. */
const listBytes = (tools: readonly Listed[]) =>
  Buffer.byteLength(
    JSON.stringify({ tools: tools.map((t) => ({ name: t.name, title: t.title, description: t.description, inputSchema: t.inputSchema, outputSchema: t.outputSchema, annotations: t.annotations })) }),
  );
const { tools: adminTools } = await import('../src/generated/tools.ts');

process.stdout.write(
  `${JSON.stringify({
    phasesMs: {
      'node+tsx start-up': Math.round(startedAt),
      'import codegen': importCodegen,
      'load+parse spec': loadMs,
      'compile 20 tools': compileMs,
      'prune+check refs': pruneMs,
      'import openapi-typescript': importTypesMs,
      'emit api types': typesMs,
      'emit tools.ts': toolsMs,
    },
    toolsListBytes: { github20: listBytes(result.tools), admin7: listBytes(adminTools) },
  })}\n`,
);
