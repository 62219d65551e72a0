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
  1: '6b441f040a118663aa762606a805071bb1441690a50e158c0ecf2188ff64a85c',
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
