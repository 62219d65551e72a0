/**
 * Static token file provider: fine-grained keys the backend team issued by hand, one per scope
 * set or per operation. Format (YAML, documented in src/README.md, "Token providers"):
 *
 *   tokens:
 *     - id: drafts-read            # non-secret name for logs
 *       scopes: [drafts:read]      # serves every operation needing exactly these scopes
 *       token: acme_...            # or tokenEnv: NAME_OF_ENV_VAR
 *     - id: publish-key
 *       operations: [publishDraft] # serves these operations, whatever their scopes
 *       tokenEnv: ACME_PUBLISH_KEY
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { backendError } from './backendError.ts';
import {
  RedactedSecretHolder,
  scopeKey,
  type OperationScopes,
  type TokenProvider,
  type TokenRequest,
} from './tokenProvider.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/; // RFC 6749 §3.3 scope-token
const TOKEN = /^[\x21-\x7e]{8,4096}$/; // visible ASCII, no spaces: what fits a Bearer header (RFC 6750 §2.1)

const Entry = z
  .strictObject({
    id: z.string().regex(NAME, 'must be a short name of letters, digits and _.:-'),
    scopes: z.array(z.string().regex(SCOPE, 'must be an OAuth scope token')).min(1).optional(),
    operations: z.array(z.string().regex(NAME, 'must be an operationId')).min(1).optional(),
    token: z.string().regex(TOKEN, 'must be 8+ visible ASCII characters without spaces').optional(),
    tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  })
  .refine((e) => e.scopes !== undefined || e.operations !== undefined, { message: 'needs `scopes`, `operations` or both' })
  .refine((e) => (e.token === undefined) !== (e.tokenEnv === undefined), { message: 'needs exactly one of `token` and `tokenEnv`' });

const TokenFile = z.strictObject({ tokens: z.array(Entry).min(1) });

export interface StaticTokenEntry {
  id: string;
  scopes?: readonly string[];
  operations?: readonly string[];
}

interface LoadedEntry extends StaticTokenEntry {
  token: string;
}

export interface StaticTokenCoverage {
  /** Each operation with the id of the entry that serves it. */
  covered: { operationId: string; tokenId: string }[];
  /** Operations with no credential: Deputy refuses to start while any is exposed. */
  missing: OperationScopes[];
  /**
   * Operations served by an `operations:` entry whose declared `scopes` differ from what the
   * operation needs (more or fewer) — worth a loud warning.
   */
  scopeMismatch: { operationId: string; tokenId: string; declared: readonly string[]; needed: readonly string[] }[];
}

export class StaticTokenFileError extends Error {
  override readonly name = 'StaticTokenFileError';
}

export class StaticTokenProvider extends RedactedSecretHolder implements TokenProvider {
  readonly #source: string;
  readonly #byOperation = new Map<string, LoadedEntry>();
  readonly #byScopes = new Map<string, LoadedEntry>();
  readonly #count: number;

  private constructor(source: string, entries: LoadedEntry[]) {
    super();
    this.#source = source;
    this.#count = entries.length;
    for (const entry of entries) {
      for (const op of entry.operations ?? []) this.#byOperation.set(op, entry);
      if (entry.scopes && !entry.operations) this.#byScopes.set(scopeKey(entry.scopes), entry);
    }
  }

  /** Parse a token file's YAML text. `source` names it in errors and `describe()`. */
  static fromYaml(text: string, opts: { source?: string; env?: NodeJS.ProcessEnv } = {}): StaticTokenProvider {
    const source = opts.source ?? 'static token file';
    const env = opts.env ?? process.env;
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (err) {
      // yaml's messages quote the offending line, which may hold a token: keep position only.
      const pos = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
      throw new StaticTokenFileError(`${source}: not valid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}`);
    }
    const parsed = TokenFile.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new StaticTokenFileError(`${source}: ${issues.join('; ')}`);
    }

    const ids = new Set<string>();
    const scopeSets = new Map<string, string>();
    const operations = new Map<string, string>();
    const entries: LoadedEntry[] = [];
    for (const e of parsed.data.tokens) {
      if (ids.has(e.id)) throw new StaticTokenFileError(`${source}: token id '${e.id}' appears twice`);
      ids.add(e.id);
      for (const op of e.operations ?? []) {
        const other = operations.get(op);
        if (other) throw new StaticTokenFileError(`${source}: operation '${op}' is claimed by both '${other}' and '${e.id}'`);
        operations.set(op, e.id);
      }
      if (e.scopes && !e.operations) {
        const key = scopeKey(e.scopes);
        const other = scopeSets.get(key);
        if (other) throw new StaticTokenFileError(`${source}: '${other}' and '${e.id}' both serve scopes [${key}]`);
        scopeSets.set(key, e.id);
      }
      let token = e.token;
      if (token === undefined) {
        const value = env[e.tokenEnv!];
        if (value === undefined || value === '') {
          throw new StaticTokenFileError(`${source}: '${e.id}' reads its token from $${e.tokenEnv}, which is not set`);
        }
        if (!TOKEN.test(value)) throw new StaticTokenFileError(`${source}: $${e.tokenEnv} (for '${e.id}') is not a usable bearer token`);
        token = value;
      }
      const entry: LoadedEntry = { id: e.id, token };
      if (e.scopes) entry.scopes = e.scopes;
      if (e.operations) entry.operations = e.operations;
      entries.push(entry);
    }
    return new StaticTokenProvider(source, entries);
  }

  static fromFile(path: string, opts: { env?: NodeJS.ProcessEnv } = {}): StaticTokenProvider {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new StaticTokenFileError(`static token file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return StaticTokenProvider.fromYaml(text, { source: `static token file ${path}`, env: opts.env ?? process.env });
  }

  /** The entry for an operation: its `operations:` entry, else the entry with exactly its scopes. */
  #lookup(operationId: string, scopes: readonly string[]): LoadedEntry | undefined {
    return this.#byOperation.get(operationId) ?? this.#byScopes.get(scopeKey(scopes));
  }

  async getToken(req: TokenRequest): Promise<string> {
    const entry = this.#lookup(req.operationId, req.scopes);
    if (!entry) {
      throw backendError('BACKEND_TOKEN_UNAVAILABLE', req.operationId, {
        reason: `the static token file has no entry for this operation or for scopes [${scopeKey(req.scopes)}]`,
      });
    }
    return entry.token;
  }

  /** Static tokens cannot be refreshed: a 401 means the operator must replace the key. */
  invalidate(): void {}

  /** Which operations have a credential, and which do not. */
  coverage(operations: readonly OperationScopes[]): StaticTokenCoverage {
    const result: StaticTokenCoverage = { covered: [], missing: [], scopeMismatch: [] };
    for (const op of operations) {
      const entry = this.#lookup(op.operationId, op.scopes);
      if (!entry) {
        result.missing.push({ operationId: op.operationId, scopes: op.scopes });
        continue;
      }
      result.covered.push({ operationId: op.operationId, tokenId: entry.id });
      if (entry.operations && entry.scopes && scopeKey(entry.scopes) !== scopeKey(op.scopes)) {
        result.scopeMismatch.push({ operationId: op.operationId, tokenId: entry.id, declared: entry.scopes, needed: op.scopes });
      }
    }
    return result;
  }

  /** The token id that serves an operation (non-secret), for logs. */
  tokenIdFor(operationId: string, scopes: readonly string[]): string | undefined {
    return this.#lookup(operationId, scopes)?.id;
  }

  describe(): string {
    return `${this.#source} (${this.#count} ${this.#count === 1 ? 'entry' : 'entries'})`;
  }
}
