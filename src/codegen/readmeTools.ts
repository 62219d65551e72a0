/**
 * The tool list in README.md, between `<!-- tools:start -->` and `<!-- tools:end -->`, written by
 * `generate` from the compiled tools so the documentation of the surface cannot drift from it
 * (`generate --check` fails when it has).
 */
import type { ToolDefinition } from './toolDefinition.ts';

export const TOOLS_START = '<!-- tools:start -->';
export const TOOLS_END = '<!-- tools:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

/** The first sentence of a description: what the tool does. */
function summary(description: string): string {
  const match = /^(.+?[.!?])(\s|$)/.exec(description);
  return match ? match[1]! : description;
}

function inputs(tool: ToolDefinition): string {
  const properties = (tool.inputSchema.properties ?? {}) as Record<string, unknown>;
  const required = new Set((tool.inputSchema.required ?? []) as string[]);
  const names = Object.keys(properties).map((name) => (required.has(name) ? `\`${name}\`` : `\`${name}\`?`));
  return names.length ? names.join(', ') : '—';
}

export function toolsMarkdown(tools: readonly ToolDefinition[]): string {
  const rows = [...tools]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((tool) =>
      [
        `\`${tool.name}\``,
        tool.risk + (tool.approval ? ' (human approval)' : '') + (tool.dryRun ? ', dry run' : ''),
        tool.callerScopes.map((s) => `\`${s}\``).join(' '),
        `${tool.operation.method} \`${tool.operation.path}\``,
        inputs(tool),
        cell(summary(tool.description)),
      ].join(' | '),
    );
  return [
    '| Tool | Risk | Caller scope | Backend operation | Inputs (`?` optional) | What it does |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** README text with the block replaced, or null when the markers are missing. */
export function withToolsSection(readme: string, tools: readonly ToolDefinition[]): string | null {
  const start = readme.indexOf(TOOLS_START);
  const end = readme.indexOf(TOOLS_END);
  if (start === -1 || end === -1 || end < start) return null;
  return `${readme.slice(0, start + TOOLS_START.length)}\n${toolsMarkdown(tools)}\n${readme.slice(end)}`;
}
