import { describe, expect, it } from 'vitest';
import { compilePick, projectOutput } from '../../src/tools/projectOutput.ts';

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

  it('ignores a shape that does not match the pick (array where an object was expected)', () => {
    const { value } = projectOutput({ items: { filename: 'x' } }, compilePick(['items[].filename']), {});
    expect(value).toEqual({});
  });

  it('does not alias the input', () => {
    const input = { tags: ['a'] };
    const { value } = projectOutput(input, compilePick(['tags']), {});
    (value as { tags: string[] }).tags.push('b');
    expect(input.tags).toEqual(['a']);
  });
});
