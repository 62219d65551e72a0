import { describe, expect, it } from 'vitest';
import { mayUse, missingScopes, visibleTools } from '../../src/tools/policy.ts';
import { SessionBudget } from '../../src/tools/sessionBudget.ts';

const tools = [
  { name: 'listDrafts', callerScopes: ['drafts:read'] },
  { name: 'publishDraft', callerScopes: ['drafts:publish'] },
  { name: 'both', callerScopes: ['drafts:read', 'tickets:write'] },
];

describe('policy', () => {
  it('shows only the tools every needed scope allows', () => {
    expect(visibleTools(tools, { scopes: ['drafts:read'] }).map((t) => t.name)).toEqual(['listDrafts']);
    expect(visibleTools(tools, { scopes: ['drafts:read', 'tickets:write'] }).map((t) => t.name)).toEqual(['listDrafts', 'both']);
    expect(visibleTools(tools, { scopes: [] })).toEqual([]);
  });

  it('names what is missing', () => {
    expect(missingScopes(tools[2]!, { scopes: ['drafts:read'] })).toEqual(['tickets:write']);
    expect(mayUse(tools[1]!, { scopes: ['drafts:read'] })).toBe(false);
  });
});

describe('SessionBudget', () => {
  it('limits calls in flight and frees a slot on release (once)', () => {
    const budget = new SessionBudget({ maxInFlight: 2, maxPerMinute: 100 });
    const a = budget.tryStart();
    const b = budget.tryStart();
    expect(a.ok && b.ok).toBe(true);
    expect(budget.tryStart()).toMatchObject({ ok: false, reason: 'in_flight' });
    if (a.ok) {
      a.release();
      a.release();
    }
    expect(budget.tryStart().ok).toBe(true);
    expect(budget.tryStart()).toMatchObject({ ok: false, reason: 'in_flight' });
  });

  it('limits calls per minute with a sliding window', () => {
    let now = 1_000_000;
    const budget = new SessionBudget({ maxInFlight: 100, maxPerMinute: 3 }, () => now);
    for (let i = 0; i < 3; i++) {
      const started = budget.tryStart();
      expect(started.ok).toBe(true);
      if (started.ok) started.release();
      now += 10_000;
    }
    expect(budget.tryStart()).toEqual({ ok: false, reason: 'per_minute', retryAfterSeconds: 30 });
    now += 30_000;
    expect(budget.tryStart().ok).toBe(true);
  });
});
