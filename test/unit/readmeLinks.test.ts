/**
 * The READMEs hold together: the root README stays a short front door (≤ 15 KB; depth lives in
 * the folder READMEs), and every relative link in every README points at a file that exists and,
 * for `#anchor` links into markdown, at a heading that exists (GitHub's slugs, github-slugger).
 * No network: external links are not followed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIP = new Set(['node_modules', '.git', '.cache', 'dist', 'coverage']);

function readmes(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return readmes(path);
    return entry.name === 'README.md' ? [path] : [];
  });
}

/** Markdown lines outside fenced code blocks. */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

function headingSlugs(text: string): Set<string> {
  const slugger = new GithubSlugger();
  return new Set(
    proseLines(text)
      .map((line) => /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1])
      .filter((heading) => heading !== undefined)
      .map((heading) => slugger.slug(heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'))),
  );
}

/** Link targets of `[text](target)`, leaving out inline code spans. */
function linkTargets(text: string): string[] {
  const prose = proseLines(text).join('\n').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

function brokenLinks(file: string, text = readFileSync(file, 'utf8')): string[] {
  const broken: string[] = [];
  for (const target of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — not followed
    const [pathPart = '', anchor] = target.split('#', 2);
    const path = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
    if (!existsSync(path)) {
      broken.push(`${target}: no such file`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (statSync(path).isDirectory() || !path.endsWith('.md')) {
      broken.push(`${target}: an anchor into something that is not a markdown file`);
      continue;
    }
    if (!headingSlugs(readFileSync(path, 'utf8')).has(decodeURIComponent(anchor))) broken.push(`${target}: no such heading`);
  }
  return broken;
}

/** Files whose comments may cite the docs: the code, its tests and its deployment files. */
function citingFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name) || entry.name === 'generated') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return citingFiles(path);
    return /\.(ts|mjs|js|ya?ml)$|^Dockerfile$|^run$/.test(entry.name) ? [path] : [];
  });
}

/** Citations such as `src/README.md, "Configuration"` or `src/README.md D4, D5` that do not resolve. */
function brokenCitations(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const m of text.matchAll(/([\w./-]*README\.md), "([^"]+)"/g)) {
    const doc = join(root, m[1]!);
    if (!existsSync(doc)) broken.push(`${m[0]}: no such file`);
    else if (!headingSlugs(readFileSync(doc, 'utf8')).has(new GithubSlugger().slug(m[2]!))) broken.push(`${m[0]}: no such heading`);
  }
  const decisions = [...readFileSync(join(root, 'src/README.md'), 'utf8').matchAll(/^### (D\d+) /gm)].map((m) => m[1]);
  for (const m of text.matchAll(/src\/README\.md (D\d+(?:, D\d+)*)/g)) {
    for (const id of m[1]!.split(', ')) if (!decisions.includes(id)) broken.push(`${m[0]}: no decision ${id}`);
  }
  return broken;
}

/**
 * Comments cite the repository's own docs, never a design brief or an issue tracker a reader
 * cannot open. These files still do and are being rewritten; the list may only shrink.
 */
const STILL_CITING_OUTSIDE: string[] = [];
const OUTSIDE_CITATION = /\bDESIGN\b|\bissue \d+/;

describe('the READMEs', () => {
  const files = readmes(root);

  it('include the root README and one per documented folder', () => {
    const names = files.map((f) => relative(root, f)).sort();
    expect(names).toEqual(expect.arrayContaining(['README.md', '.deploy/README.md', 'bench/README.md', 'mock-backend/README.md', 'openapi/README.md', 'src/README.md', 'test/README.md']));
  });

  it('keep the root README at most 15 KB (15,000 bytes)', () => {
    expect(statSync(join(root, 'README.md')).size).toBeLessThanOrEqual(15_000);
  });

  it.each(files.map((f) => [relative(root, f), f]))('%s: every relative link resolves', (_name, file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it('are cited from code by headings and decision ids that exist', () => {
    const files = ['src', 'mock-backend', 'test', 'bench', '.deploy', '.ci', 'openapi'].flatMap((dir) => citingFiles(join(root, dir)));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((f) => brokenCitations(f).map((b) => `${relative(root, f)}: ${b}`))).toEqual([]);
  });

  it('are what code cites, never text outside the repository', () => {
    const self = fileURLToPath(import.meta.url);
    const files = ['src', 'mock-backend', 'test', 'bench', '.deploy', '.ci', 'openapi'].flatMap((dir) => citingFiles(join(root, dir)));
    const citing = files.filter((f) => f !== self && OUTSIDE_CITATION.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(citing.sort(), 'cite src/README.md (a decision id or a heading) or another README instead').toEqual(STILL_CITING_OUTSIDE);
  });

  it('catch a link to a missing file and to a missing heading', () => {
    const readme = join(root, 'README.md');
    expect(brokenLinks(readme, '[a](nope.md) [b](src/README.md#nope) [c](src/README.md#decisions) [d](#quickstart) [e](https://example.com/x.md)')).toEqual([
      'nope.md: no such file',
      'src/README.md#nope: no such heading',
    ]);
    expect(linkTargets('see [a](x.md#y) and `[b](not-a-link)`\n```\n[c](fenced)\n```')).toEqual(['x.md#y']);
    expect(headingSlugs('# The backend client (`src/backend/`)\n```\n# not a heading\n```')).toEqual(new Set(['the-backend-client-srcbackend']));
  });
});
