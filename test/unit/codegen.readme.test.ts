import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOOLS_END, TOOLS_START, toolsMarkdown, withToolsSection } from '../../src/codegen/readmeTools.ts';
import { tools } from '../../src/generated/tools.ts';

describe('the README tool list', () => {
  it('is the table generate writes from the committed tools', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withToolsSection(readme, tools)).toBe(readme);
  });

  it('has one row per tool with its risk, scope and operation', () => {
    const table = toolsMarkdown(tools);
    expect(table.split('\n')).toHaveLength(2 + tools.length);
    expect(table).toContain('| `publishDraft` | write (human approval) | `drafts:publish` | POST `/drafts/{filename}/publish` | `filename` |');
  });

  it('replaces only what is between the markers, and refuses a README without them', () => {
    const text = `# x\n${TOOLS_START}\nold\n${TOOLS_END}\nafter\n`;
    const out = withToolsSection(text, tools)!;
    expect(out.startsWith(`# x\n${TOOLS_START}\n| Tool |`)).toBe(true);
    expect(out.endsWith(`${TOOLS_END}\nafter\n`)).toBe(true);
    expect(out).not.toContain('old');
    expect(withToolsSection('# no markers\n', tools)).toBeNull();
  });
});
