/**
 * What can be checked of .deploy/Dockerfile without a container engine: that the production-only
 * install it makes (`npm ci --omit=dev`) holds every package `serve` loads, that it runs the
 * production build on Node 24 as a non-root user with the documented command, that it copies
 * what exists, and that its HEALTHCHECK command, run as is, passes against a live Deputy and fails against a dead one.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup, type Harness } from '../helpers/deputy.ts';
import { freePort } from '../helpers/debianPackages.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, '.deploy/Dockerfile'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Instructions, continuation lines joined, comments dropped. */
const instructions = DOCKERFILE.replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const lastOf = (keyword: string) => instructions.filter((line) => line.startsWith(`${keyword} `)).at(-1);

/** Packages reached by static, non-type imports from `file`, following relative imports. */
function staticPackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...text.matchAll(/^(?:import|export)\s+(?!type\b)[^;'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/^import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      // `serve --spec/--tools` loads the code generator with a dynamic import.
      ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
    ];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:')) packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
  };
  visit(entry);
  return packages;
}

function runHealthcheck(env: Record<string, string>): Promise<number> {
  const command = JSON.parse(lastOf('HEALTHCHECK')!.replace(/^HEALTHCHECK .*?CMD /, '')) as string[];
  expect(command[0]).toBe('node');
  return new Promise((resolvePromise) => {
    execFile(process.execPath, command.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 }, (error) =>
      resolvePromise(error ? (typeof error.code === 'number' ? error.code : 1) : 0),
    );
  });
}

describe('.deploy/Dockerfile', () => {
  it('runs the documented command as the unprivileged user, on port 3000, writing nothing', () => {
    expect(lastOf('USER')).toBe('USER node');
    expect(lastOf('EXPOSE')).toBe('EXPOSE 3000');
    // node from the build's startup snapshot, or dist/src/main.js where Node would refuse it (src/README.md D47).
    expect(JSON.parse(lastOf('CMD')!.slice(4))).toEqual(['scripts/start.sh', 'serve']);
    expect(instructions.some((line) => /npm ci --omit=dev/.test(line))).toBe(true);
    // The production build is made in the image and copied in; Node 24 LTS runs it.
    expect(instructions).toContain('RUN npm run build');
    expect(instructions).toContain('COPY --from=build /app/dist ./dist');
    expect(instructions.find((line) => line.startsWith('ARG NODE_IMAGE='))).toMatch(/^ARG NODE_IMAGE=node:24[.-]/);
    expect(DOCKERFILE).toMatch(/DEPUTY_AUDIT_LOG=stderr/);
    for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
      for (const source of line.split(/\s+/).slice(1, -1)) expect(existsSync(join(ROOT, source)), source).toBe(true);
    }
  });

  it('the production install holds every package `serve` loads, and no tsx', () => {
    expect(PACKAGE.dependencies.tsx, 'the image runs the build; tsx is for development').toBeUndefined();
    const needed = staticPackages(join(ROOT, 'src/serveCli.ts'));
    expect(needed.size).toBeGreaterThan(5);
    // Lazily imported only by `generate`'s type emitter (src/codegen/emit.ts), which serve never calls.
    const generateOnly = new Set(['openapi-typescript']);
    const missing = [...needed].filter((name) => !PACKAGE.dependencies[name] && !generateOnly.has(name));
    expect(missing, 'imported by serve but only a devDependency (absent from the image)').toEqual([]);
  });

  describe('HEALTHCHECK', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.teardown();
    });

    it('passes against a live Deputy, with its Host allowlist in force', async () => {
      const url = new URL(h.deputy.url);
      expect(await runHealthcheck({ PORT: url.port, DEPUTY_PUBLIC_URL: url.origin })).toBe(0);
    });

    it('fails when nothing answers', async () => {
      const port = await freePort();
      expect(await runHealthcheck({ PORT: String(port), DEPUTY_PUBLIC_URL: `http://127.0.0.1:${port}` })).not.toBe(0);
    });
  });
});
