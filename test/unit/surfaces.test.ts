// The manifest's `surfaces:` (openapi/README.md, "Surfaces"; src/README.md D42): every
// SURFACE_INVALID case names the surface's manifest path and a fix, and a good section compiles
// into the server profile, which is what `generate` and `compile` write.
import { describe, expect, it } from 'vitest';
import { blastRadiusReport } from '../../src/codegen/blastRadius.ts';
import { compileTools } from '../../src/codegen/compile.ts';
import { parseManifestText } from '../../src/codegen/manifest.ts';
import { compileSurfaces } from '../../src/codegen/surfaces.ts';
import { StaticTokenProvider } from '../../src/backend/staticTokens.ts';
import { profile as committed, tools as committedTools } from '../../src/generated/tools.ts';
import { loadItemsSpec, manifest, readTool, writeTool } from '../fixtures/codegen/fixture.ts';

const TOOLS = [
  { name: 'listItems', risk: 'read' as const },
  { name: 'createItem', risk: 'write' as const },
  { name: 'deleteItem', risk: 'destructive' as const },
];

describe('surfaces: SURFACE_INVALID', () => {
  it.each([
    ['a section that is not a map', [{ path: '/mcp/a', tools: ['listItems'] }], 'surfaces', /at least one surface/],
    ['an empty section', {}, 'surfaces', /at least one surface/],
    ['a name with capitals', { Support: { path: '/mcp/support', tools: ['listItems'] } }, 'surfaces.Support', /not a lowercase name/],
    ['a name over 32 characters', { [`s${'x'.repeat(32)}`]: { path: '/mcp/s', tools: ['listItems'] } }, `surfaces.s${'x'.repeat(32)}`, /not a lowercase name/],
    ['an unknown key', { a: { path: '/mcp/a', tools: ['listItems'], readonly: true } }, 'surfaces.a', /unknown key 'readonly'/],
    ['a missing path', { a: { tools: ['listItems'] } }, 'surfaces.a.path', /expected string/],
    ['a path outside /mcp', { a: { path: '/support', tools: ['listItems'] } }, 'surfaces.a.path', /not \/mcp or \/mcp\/<segment>/],
    ['a path of two segments', { a: { path: '/mcp/a/b', tools: ['listItems'] } }, 'surfaces.a.path', /not \/mcp or \/mcp\/<segment>/],
    ['a path with a trailing slash', { a: { path: '/mcp/a/', tools: ['listItems'] } }, 'surfaces.a.path', /not \/mcp or \/mcp\/<segment>/],
    ['a path another surface has', { a: { path: '/mcp/x', tools: ['listItems'] }, b: { path: '/mcp/x', tools: ['listItems'] } }, 'surfaces.b.path', /already served by surface 'a'/],
    ['an empty tool list', { a: { path: '/mcp/a', tools: [] } }, 'surfaces.a.tools', /serves no tool/],
    ['an unknown tool', { a: { path: '/mcp/a', tools: ['listItems', 'listItem'] } }, 'surfaces.a.tools[1]', /unknown tool 'listItem'/],
    ['a tool listed twice', { a: { path: '/mcp/a', tools: ['listItems', 'listItems'] } }, 'surfaces.a.tools[1]', /listed twice/],
    ['a write tool on a read-only surface', { ro: { path: '/mcp/ro', readOnly: true, tools: ['listItems', 'createItem'] } }, 'surfaces.ro.tools[1]', /read-only surface 'ro' lists write tool 'createItem'/],
    ['a destructive tool on a read-only surface', { ro: { path: '/mcp/ro', readOnly: true, tools: ['deleteItem'] } }, 'surfaces.ro.tools[0]', /lists destructive tool 'deleteItem'/],
  ])('refuses %s', (_name, section, path, why) => {
    const { errors, surfaces } = compileSurfaces(section, TOOLS);
    expect(errors.length, JSON.stringify(errors)).toBeGreaterThan(0);
    const error = errors.find((e) => e.manifestPath === path);
    expect(error, JSON.stringify(errors)).toBeDefined();
    expect(error).toMatchObject({ code: 'SURFACE_INVALID', tool: null, specPath: null });
    expect(error!.message).toMatch(why);
    expect(error!.fix.length).toBeGreaterThan(10);
    if (!Array.isArray(section) && Object.keys(section).length > 0) expect(surfaces).not.toBeNull();
  });

  it('a duplicate surface name is refused by the YAML parser before anything is compiled', () => {
    const parsed = parseManifestText('version: 1\nsurfaces:\n  a: { path: /mcp/a, tools: [x] }\n  a: { path: /mcp/b, tools: [x] }\ntools: []\n');
    expect(parsed.errors[0]).toMatchObject({ code: 'MANIFEST_INVALID', message: expect.stringMatching(/not valid YAML: Map keys must be unique at line 4/) });
  });

  it('accepts exactly /mcp as a path, and a write tool on a surface that is not read-only', () => {
    const { errors, surfaces } = compileSurfaces({ all: { path: '/mcp', tools: ['createItem', 'listItems'] }, ro: { path: '/mcp/ro', readOnly: true, tools: ['listItems'] } }, TOOLS);
    expect(errors).toEqual([]);
    expect(surfaces!.map((s) => s.path)).toEqual(['/mcp', '/mcp/ro']);
  });

  it('warns about a tool that no surface serves', () => {
    const { errors, warnings } = compileSurfaces({ ro: { path: '/mcp/ro', readOnly: true, tools: ['listItems'] } }, TOOLS);
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.tool)).toEqual(['createItem', 'deleteItem']);
    expect(warnings[0]!.message).toMatch(/no surface/);
  });
});

describe('surfaces: compile output', () => {
  it('compiles into the server profile, sorted by name, tools sorted, readOnly and title defaulted', async () => {
    const spec = await loadItemsSpec();
    const result = compileTools({
      spec,
      manifest: {
        ...manifest(readTool(), writeTool()),
        surfaces: {
          writer: { path: '/mcp/writer', tools: ['listItems', 'createItem'], title: 'Writes' },
          reader: { path: '/mcp/reader', readOnly: true, tools: ['listItems'] },
        },
      },
    });
    expect(result.errors).toEqual([]);
    expect(result.profile.surfaces).toEqual([
      { name: 'reader', path: '/mcp/reader', title: null, readOnly: true, tools: ['listItems'] },
      { name: 'writer', path: '/mcp/writer', title: 'Writes', readOnly: false, tools: ['createItem', 'listItems'] },
    ]);
  });

  it('lint:tools names each tool\'s surfaces, and a tool served nowhere', async () => {
    const result = compileTools({ spec: await loadItemsSpec(), manifest: { ...manifest(readTool(), writeTool()), surfaces: { reader: { path: '/mcp/reader', readOnly: true, tools: ['listItems'] } } } });
    const report = blastRadiusReport(result, 'report');
    expect(report).toContain('  surfaces       reader (/mcp/reader, read-only)');
    expect(report).toContain('  surfaces       — (served nowhere)');
    const without = blastRadiusReport(compileTools({ spec: await loadItemsSpec(), manifest: manifest(readTool()) }), 'report');
    expect(without).not.toContain('surfaces');
  });

  it('a manifest without surfaces compiles without the key (the single /mcp, generated exactly as before)', async () => {
    const result = compileTools({ spec: await loadItemsSpec(), manifest: manifest(readTool()) });
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.profile)).not.toContain('surfaces');
  });

  it('a surface error fails compilation, though every tool compiled', async () => {
    const result = compileTools({ spec: await loadItemsSpec(), manifest: { ...manifest(readTool(), writeTool()), surfaces: { ro: { path: '/mcp/ro', readOnly: true, tools: ['createItem'] } } } });
    expect(result.tools.map((t) => t.name)).toEqual(['createItem', 'listItems']);
    expect(result.errors.map((e) => e.code)).toEqual(['SURFACE_INVALID']);
  });

  it('the shipped manifest: a read-only support surface and a content surface, every tool on one', () => {
    const surfaces = committed.surfaces!;
    expect(surfaces.map((s) => [s.name, s.path, s.readOnly])).toEqual([
      ['content', '/mcp/content', false],
      ['support', '/mcp/support', true],
    ]);
    const risk = new Map(committedTools.map((t) => [t.name, t.risk]));
    const support = surfaces.find((s) => s.name === 'support')!;
    expect(support.tools.every((name) => risk.get(name) === 'read')).toBe(true);
    expect(surfaces.find((s) => s.name === 'content')!.tools).toContain('publishDraft');
    expect(new Set(surfaces.flatMap((s) => s.tools))).toEqual(new Set(risk.keys()));
  });
});

describe('token file entries per surface', () => {
  const file = (entries: string) => StaticTokenProvider.fromYaml(`tokens:\n${entries}`, { source: 'tokens.yaml', env: {} });
  const read = { operationId: 'listDrafts', scopes: ['drafts:read'] };

  it('entries for one scope set on different surfaces do not clash; each surface sees its own', async () => {
    const provider = file(
      [
        '  - { id: support-read, scopes: [drafts:read], surfaces: [support], token: tok_support_read }',
        '  - { id: content-read, scopes: [drafts:read], surfaces: [content, other], token: tok_content_read }',
        '  - { id: customers, scopes: [customers:read], token: tok_customers }',
      ].join('\n'),
    );
    expect(await provider.forSurface('support').getToken(read)).toBe('tok_support_read');
    expect(await provider.forSurface('content').getToken(read)).toBe('tok_content_read');
    // An entry naming no surface serves every surface.
    expect(await provider.forSurface('support').getToken({ operationId: 'getCustomer', scopes: ['customers:read'] })).toBe('tok_customers');
    // The single /mcp (no surface) uses only entries that name none.
    await expect(provider.getToken(read)).rejects.toMatchObject({ code: 'BACKEND_TOKEN_UNAVAILABLE' });
    expect(provider.forSurface('support').describe()).toBe('tokens.yaml (2 entries for surface support)');
    expect(provider.surfaceNames()).toEqual([
      { tokenId: 'support-read', surface: 'support' },
      { tokenId: 'content-read', surface: 'content' },
      { tokenId: 'content-read', surface: 'other' },
    ]);
  });

  it.each([
    ['an entry for every surface and one for a surface', '  - { id: a, scopes: [drafts:read], token: tok_aaaaaaaa }\n  - { id: b, scopes: [drafts:read], surfaces: [support], token: tok_bbbbbbbb }'],
    ['two entries sharing a surface', '  - { id: a, scopes: [drafts:read], surfaces: [x, support], token: tok_aaaaaaaa }\n  - { id: b, scopes: [drafts:read], surfaces: [support], token: tok_bbbbbbbb }'],
  ])('refuses %s serving one scope set', (_name, entries) => {
    expect(() => file(entries)).toThrow("tokens.yaml: 'a' and 'b' both serve scopes [drafts:read]");
  });

  it('refuses a surface name that is not one', () => {
    expect(() => file('  - { id: a, scopes: [drafts:read], surfaces: [Support], token: tok_aaaaaaaa }')).toThrow(/surfaces\.0: must be a surface name/);
  });
});
