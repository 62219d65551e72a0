import { describe, expect, it } from 'vitest';
import { compilePick, ContractViolation, projectOutput } from '../../src/tools/projectOutput.ts';
import { compileOutputCheck } from '../../src/tools/checkOutput.ts';

const draftList = {
  items: [
    { filename: 'a.md', title: 'A', body: 'secret body', author: 'mchen' },
    { filename: 'b.md', title: 'B', body: 'secret body', author: 'jdoe' },
    { filename: 'c.md', title: 'C', body: 'secret body', author: 'jdoe' },
  ],
  nextCursor: 'abc',
  internal: { token: 'never' },
};

describe('projectOutput', () => {
  it('keeps only picked paths, through arrays', () => {
    const { value } = projectOutput(draftList, compilePick(['items[].filename', 'items[].title', 'nextCursor']), {});
    expect(value).toEqual({
      items: [
        { filename: 'a.md', title: 'A' },
        { filename: 'b.md', title: 'B' },
        { filename: 'c.md', title: 'C' },
      ],
      nextCursor: 'abc',
    });
  });

  it('drops fields the backend adds later', () => {
    const { value } = projectOutput({ id: 'x', plan: 'pro', newSecretField: 's' }, compilePick(['id', 'plan']), {});
    expect(value).toEqual({ id: 'x', plan: 'pro' });
  });

  it('caps lists and reports how many there were', () => {
    const { value, truncated } = projectOutput(draftList, compilePick(['items[].filename']), { items: 2 });
    expect(value).toEqual({ items: [{ filename: 'a.md' }, { filename: 'b.md' }] });
    expect(truncated).toEqual({ items: 3 });
  });

  it('walks nested objects and keeps nulls', () => {
    const tree = compilePick(['contact.name', 'renewalDate', 'missing.deep']);
    const { value } = projectOutput({ contact: { name: 'Ann', email: 'ann@x.example' }, renewalDate: null }, tree, {});
    expect(value).toEqual({ contact: { name: 'Ann' }, renewalDate: null });
  });

  it('projects lists of lists level by level, each level capped under its own path', () => {
    const { value, truncated } = projectOutput({ rows: [[1, 2, 3], [4], [5]] }, compilePick(['rows[][]']), { rows: 2, 'rows[]': 2 });
    expect(value).toEqual({ rows: [[1, 2], [4]] });
    expect(truncated).toEqual({ rows: 3, 'rows[]': 3 });
  });

  // An answer whose shape contradicts the pick (and so the spec) is never projected into {} or a
  // smaller value and called a success.
  it.each([
    ['an object where a list is picked', { items: { filename: 'x' } }, ['items[].filename'], 'items', 'a list', 'an object'],
    ['a list at the root where an object is declared', [{ id: 1 }], ['id'], '(the answer)', 'an object', 'a list'],
    ['a list where a nested object is picked', { contact: ['Ann'] }, ['contact.name'], 'contact', 'an object', 'a list'],
    ['none of the picked fields', { unrelated: 1 }, ['id', 'plan'], '(the answer)', "at least one of 'id', 'plan'", 'none of them'],
    ['a list where the inner list is picked', { rows: [1] }, ['rows[][]'], 'rows[]', 'a list', 'a number'],
  ])('reports %s as a contract violation', (_name, body, pick, at, expected, got) => {
    let thrown: unknown;
    try {
      projectOutput(body, compilePick(pick), {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ContractViolation);
    expect(thrown).toMatchObject({ at, expected, got });
  });

  it('does not alias the input', () => {
    const input = { tags: ['a'] };
    const { value } = projectOutput(input, compilePick(['tags']), {});
    (value as { tags: string[] }).tags.push('b');
    expect(input.tags).toEqual(['a']);
  });
});

describe('compileOutputCheck (structuredContent against the advertised outputSchema)', () => {
  const schema = {
    type: 'object',
    properties: {
      items: { type: 'array', maxItems: 5, items: { type: 'object', properties: { id: { type: 'string' }, due: { type: ['string', 'null'] }, n: { anyOf: [{ type: 'integer' }, { type: 'string' }] } } } },
      title: { type: 'string' },
    },
  };
  const check = compileOutputCheck(schema);

  it.each([
    ['an empty object (nothing is required)', {}],
    ['off-spec values of the right type (a date-time where a date was declared, an unknown status)', { items: [{ id: 'x', due: '2026-01-01T00:00:00Z' }], title: 'status: frobnicated' }],
    ['null where the spec allows it', { items: [{ due: null }] }],
    ['either branch of an anyOf', { items: [{ n: 1 }, { n: 'one' }] }],
  ])('accepts %s', (_name, value) => {
    expect(check(value)).toBeNull();
  });

  it.each([
    ['an object where a string was promised (it could carry unreviewed fields)', { title: { secret: 'x' } }, 'title', 'a string', 'an object'],
    ['a number inside a list item', { items: [{ id: 'a' }, { id: 7 }] }, 'items[].id', 'a string', 'a number'],
    ['null where the spec does not allow it', { title: null }, 'title', 'a string', 'null'],
    // Projection passes a scalar where fields are picked (it carries no unreviewed fields); the
    // schema decides whether the spec allows one there.
    ['a string inside a list of objects', { items: [{ id: 'a' }, 'b'] }, 'items[]', 'an object', 'a string'],
    ['a list over its cap', { items: [{}, {}, {}, {}, {}, {}] }, 'items', 'at most 5 items', '6'],
    ['a boolean where neither anyOf branch fits', { items: [{ n: true }] }, 'items[].n', 'an integer or a string', 'a boolean'],
  ])('refuses %s', (_name, value, at, expected, got) => {
    expect(check(value)).toMatchObject({ at, expected, got });
  });
});

