/** The mock backend's README lists the operations, scopes and seed sizes exactly as the code has them. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { operationTable } from '../../mock-backend/scopeTable.ts';
import { createSeed } from '../../mock-backend/seed.ts';

const section = readFileSync(fileURLToPath(new URL('../../mock-backend/README.md', import.meta.url)), 'utf8');

describe('mock-backend/README.md', () => {
  it('has the operation → scope table generated from the spec', () => {
    const m = /<!-- operation-table:start -->\n([\s\S]*?)\n<!-- operation-table:end -->/.exec(section);
    expect(m, 'operation-table markers').not.toBeNull();
    expect(m![1]).toBe(operationTable());
  });

  it('states the seed sizes the seed really has', () => {
    const seed = createSeed();
    const live = seed.posts.filter((p) => p.status === 'live').length;
    expect(section).toContain(`${seed.drafts.length} drafts by ${new Set(seed.drafts.map((d) => d.author)).size} authors`);
    expect(section).toContain(`${live} live posts and ${seed.posts.length - live} unpublished one`);
    expect(section).toContain(`${seed.customers.length} customers`);
    expect(section).toContain(`${seed.tickets.length} support tickets (${seed.notes.length} notes) across ${new Set(seed.tickets.map((t) => t.customerId)).size} customers`);
  });
});
