/**
 * Prints the markdown table of operations → method and path → required scopes, read from the
 * spec, for mock-backend/README.md (`npx tsx mock-backend/scopeTable.ts`); a test keeps that
 * copy equal to this output.
 */
import { pathToFileURL } from 'node:url';
import { loadSpec, type ApiSpec } from './spec.ts';

export function operationTable(spec: ApiSpec = loadSpec()): string {
  const rows = spec.operations.map(
    (op) => `| \`${op.operationId}\` | \`${op.method.toUpperCase()} ${op.path}\` | ${op.requiredScopes === null ? 'none (public)' : op.requiredScopes.map((s) => `\`${s}\``).join(' + ')} | ${op.idempotent ? 'yes' : ''} |`,
  );
  return ['| Operation | Method and path | Scope | Idempotency-Key |', '|---|---|---|---|', ...rows].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${operationTable()}\n`);
}
