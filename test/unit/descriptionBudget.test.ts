// The description budget (openapi/README.md, "The description budget"): spec-sourced descriptions
// of one tool share DEFAULT_DESCRIPTION_BUDGET characters in tools/list, each trimmed at a sentence
// or word boundary with "…"; the manifest's own descriptions are never trimmed; a tool can set
// its own `descriptionBudget`.
import { describe, expect, it } from 'vitest';
import { compileTools } from '../../src/codegen/compile.ts';
import { DEFAULT_DESCRIPTION_BUDGET, fairCap, trimDescription } from '../../src/codegen/descriptionBudget.ts';
import type { ToolDefinition } from '../../src/codegen/toolDefinition.ts';

const SENTENCE = 'Filters the records by the owner of the workspace they belong to. ';
/** A 1.8 KB spec parameter description, like the one that made a 4-tool list 8.3 KB. */
const LONG = SENTENCE.repeat(27).trim();

function spec(descriptions: { owner: string; tag: string; note: string }) {
  return {
    openapi: '3.1.0',
    info: { title: 'Records', version: '1' },
    paths: {
      '/records': {
        post: {
          operationId: 'tagRecords',
          parameters: [
            { name: 'owner', in: 'query', description: descriptions.owner, schema: { type: 'string', maxLength: 40 } },
            { name: 'tag', in: 'query', description: descriptions.tag, schema: { type: 'string', maxLength: 40 } },
          ],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { filter: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 80, description: descriptions.note } } } },
                },
              },
            },
          },
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { count: { type: 'integer' } } } } } } },
        },
      },
    },
  };
}

function compileOne(descriptions: { owner: string; tag: string; note: string }, tool: Record<string, unknown> = {}): ToolDefinition {
  const result = compileTools({
    spec: spec(descriptions),
    manifest: {
      version: 1,
      tools: [
        {
          name: 'tagRecords',
          operation: 'tagRecords',
          title: 'Tag records',
          risk: 'write',
          description: 'Tags matching records. WARNING: the tag is visible to everyone. Confirm with the user before calling.',
          input: { owner: {}, tag: {}, filter: {} },
          output: { pick: ['count'] },
          approval: { message: 'Tag the records of {owner} with {tag}?' },
          callerScopes: ['records:write'],
          ...tool,
        },
      ],
    },
  });
  expect(result.errors).toEqual([]);
  return result.tools[0]!;
}

type Props = Record<string, { description?: string; properties?: Props }>;
const props = (t: ToolDefinition) => t.inputSchema.properties as Props;
const specTexts = (t: ToolDefinition) => [props(t).owner?.description, props(t).tag?.description, props(t).filter?.properties?.note?.description];
const length = (texts: (string | undefined)[]) => texts.reduce((n, s) => n + [...(s ?? '')].length, 0);

describe('trimDescription', () => {
  it.each([
    ['fits: unchanged', 'Short text.', 20, 'Short text.'],
    ['at a sentence end in the second half', 'First part here. Second part is longer than the rest.', 30, 'First part here. …'],
    ['at a word boundary when no sentence ends late enough', 'One very long sentence without any stop at all in it', 30, 'One very long sentence…'],
    ['drops dangling punctuation before the ellipsis', 'Alpha beta gamma, delta epsilon zeta eta', 20, 'Alpha beta gamma…'],
    ['hard-cuts one word longer than the room', 'x'.repeat(50), 20, `${'x'.repeat(19)}…`],
    ['never splits a surrogate pair', `${'😀'.repeat(30)}`, 20, `${'😀'.repeat(19)}…`],
    ['dropped when too little room is left', 'Any description at all.', 5, null],
  ])('%s', (_name, text, max, want) => {
    const got = trimDescription(text, max);
    expect(got).toBe(want);
    if (got !== null) expect([...got].length).toBeLessThanOrEqual(max);
  });
});

describe('fairCap', () => {
  it.each([
    ['everything fits', [100, 200], 600, Number.POSITIVE_INFINITY],
    ['short ones stay whole, long ones share the rest', [50, 1800, 1800], 600, 275],
    ['equal shares', [400, 400, 400], 600, 200],
  ])('%s', (_name, lengths, budget, want) => {
    expect(fairCap(lengths, budget)).toBe(want);
  });
});

describe('spec descriptions in tools/list', () => {
  it('a long spec description is trimmed so the tool stays within the budget, short ones whole', () => {
    const tool = compileOne({ owner: LONG, tag: 'Tag name.', note: 'Free text to match.' });
    const [owner, tag, note] = specTexts(tool);
    expect(tag).toBe('Tag name.');
    expect(note).toBe('Free text to match.');
    expect(owner).toMatch(/^Filters the records by the owner of the workspace they belong to\. .*…$/);
    expect(length(specTexts(tool))).toBeLessThanOrEqual(DEFAULT_DESCRIPTION_BUDGET);
    expect(JSON.stringify(tool.inputSchema).length).toBeLessThan(1200);
  });

  it('several long ones, nested ones included, share the budget', () => {
    const tool = compileOne({ owner: LONG, tag: LONG, note: LONG });
    const texts = specTexts(tool);
    for (const text of texts) expect(text).toMatch(/…$/);
    expect(length(texts)).toBeLessThanOrEqual(DEFAULT_DESCRIPTION_BUDGET);
  });

  it('a description written in the manifest is never trimmed, and does not use the budget', () => {
    const reviewed = `${'Owner login, as shown on the workspace page. '.repeat(20).trim()}`;
    const tool = compileOne(
      { owner: LONG, tag: LONG, note: LONG },
      { input: { owner: { description: reviewed }, tag: {}, filter: { properties: { note: { description: 'Reviewed note text.' } } } } },
    );
    const [owner, tag, note] = specTexts(tool);
    expect(owner).toBe(reviewed);
    expect(note).toBe('Reviewed note text.');
    // The one spec description left has the whole budget.
    expect([...(tag ?? '')].length).toBeGreaterThan(DEFAULT_DESCRIPTION_BUDGET - 20);
    expect([...(tag ?? '')].length).toBeLessThanOrEqual(DEFAULT_DESCRIPTION_BUDGET);
  });

  it('the per-tool override: a larger budget keeps more, 0 drops every spec description', () => {
    const wide = compileOne({ owner: LONG, tag: 'Tag name.', note: 'Free text.' }, { descriptionBudget: 2000 });
    expect(specTexts(wide)[0]).toBe(LONG);
    const none = compileOne({ owner: LONG, tag: 'Tag name.', note: 'Free text.' }, { descriptionBudget: 0 });
    expect(specTexts(none)).toEqual([undefined, undefined, undefined]);
  });

  it('a budget that is not a whole non-negative number is a manifest error', () => {
    const result = compileTools({
      spec: spec({ owner: 'o', tag: 't', note: 'n' }),
      manifest: { version: 1, tools: [{ name: 'tagRecords', operation: 'tagRecords', title: 'Tag records', risk: 'read', description: 'Counts.', output: { pick: ['count'] }, descriptionBudget: -1 }] },
    });
    expect(result.errors[0]).toMatchObject({ code: 'MANIFEST_INVALID', manifestPath: 'tools[0].descriptionBudget' });
  });
});
