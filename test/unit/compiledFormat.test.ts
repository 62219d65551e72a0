/**
 * A compiled surface (src/compiledSurface.ts) is plain data of the shape toolDefinition.ts
 * declares. When that shape changes, files compiled before no longer fit it: COMPILED_FORMAT must
 * be bumped so `serve --compiled` refuses them. This test fails until both move together.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMPILED_FORMAT } from '../../src/compiledSurface.ts';

/** sha256 of the declarations below toolDefinition.ts's emit marker, for each COMPILED_FORMAT. */
const SHAPES: Record<number, string> = {
  1: '7ec14b7752882f06ece4ff09b2a0a943d75465116be89c3132cfabe66336ebb7',
  // approval.approvers, approval.count and approval.link (the approval page).
  2: '6ce804f166a618371d453b351e8c26c36d362a1fbd91755d5e84d40596f468bf',
  // A write's optional `dryRun` (openapi/README.md, "Dry run").
  3: '76e30c384842c5bfac963f7a773f1006c335080497ec8374a62a37e6af5cd56a',
  // The server profile's optional `surfaces` (openapi/README.md, "Surfaces").
  4: '6ba80c5a6b7c413c4139a1cc871e01c1a0482af0cec34cd6e3b5d3c8ccb679bf',
};

describe('the compiled surface format', () => {
  it('follows the tool definition shape', () => {
    const source = readFileSync(new URL('../../src/codegen/toolDefinition.ts', import.meta.url), 'utf8');
    const marker = '// --- emitted verbatim below this line ---\n';
    const shape = createHash('sha256').update(source.slice(source.indexOf(marker) + marker.length).trim()).digest('hex');
    expect(
      SHAPES[COMPILED_FORMAT],
      'toolDefinition.ts changed: bump COMPILED_FORMAT in src/compiledSurface.ts and record the new shape here',
    ).toBe(shape);
  });
});
