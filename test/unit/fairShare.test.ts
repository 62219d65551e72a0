/**
 * The fair share of the backend's rate limit (src/README.md, "Backend rate limits"): the rule
 * as a property, what the client records per credential (BackendLimits), and the gate that
 * counts each caller's calls through a LimiterFactory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendLimits, credentialKey } from '../../src/backend/index.ts';
import { tools } from '../../src/generated/tools.ts';
import { memoryLimiters } from '../../src/state/limiters.ts';
import { callCredentials, FairShareGate, fairShareAllows } from '../../src/tools/fairShare.ts';

/** Shares that guard a newcomer: ≤ 0.5, as small as 0.01, and often the default 0.5 itself (the edge). */
const shares = fc.oneof(fc.constant(0.5), fc.double({ min: 0.01, max: 0.5, noNaN: true }));

describe('the rule: used < share × (used + remaining)', () => {
  it('with any number of heavy users in any order, what is left never reaches 0 through them', () => {
    fc.assert(
      fc.property(
        shares,
        // Every heavy user has already made at least one call in this window; small numbers
        // reach the window's last requests, where the rule is tested hardest.
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.nat(), { maxLength: 1_000 }),
        (share, used, start, order) => {
          let remaining = start;
          const heavy = [...used];
          for (const pick of order) {
            const user = pick % heavy.length;
            if (!fairShareAllows(heavy[user]!, remaining, share)) continue;
            heavy[user]!++;
            remaining--;
            expect(remaining).toBeGreaterThanOrEqual(1);
          }
          // And a newcomer always gets a call.
          expect(fairShareAllows(0, remaining, share)).toBe(true);
        },
      ),
    );
  });

  it('one heavy user alone takes about `share` of what was left, then is held back', () => {
    fc.assert(
      fc.property(shares, fc.integer({ min: 10, max: 1_000 }), (share, start) => {
        let used = 0;
        let remaining = start;
        while (fairShareAllows(used, remaining, share)) {
          used++;
          remaining--;
        }
        expect(used).toBeLessThanOrEqual(Math.ceil(share * start));
        expect(used).toBeGreaterThanOrEqual(Math.floor(share * start));
      }),
    );
  });

  it('nothing left: nobody is let through, newcomers included', () => {
    expect(fairShareAllows(0, 0, 0.5)).toBe(false);
    expect(fairShareAllows(0, 1, 0.5)).toBe(true);
    expect(fairShareAllows(1, 1, 0.5)).toBe(false);
    expect(fairShareAllows(1, 2, 0.5)).toBe(true);
  });
});

describe('BackendLimits: what the backend said, per credential', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('knows nothing before an answer, and forgets the window once it has reset', () => {
    const time = clock();
    const limits = new BackendLimits(time.now);
    expect(limits.window('a')).toBeUndefined();
    limits.observe('a', { limit: 60, remaining: 40, resetSeconds: 10 });
    expect(limits.window('a')).toEqual({ limit: 60, remaining: 40, resetSeconds: 10 });
    expect(limits.window('b')).toBeUndefined();
    time.advance(9_500);
    expect(limits.window('a')?.resetSeconds).toBe(1);
    time.advance(500);
    expect(limits.window('a')).toBeUndefined();
  });

  it('ignores an answer without remaining or reset', () => {
    const limits = new BackendLimits();
    limits.observe('a', { limit: 60 });
    limits.observe('a', { remaining: 3 });
    limits.observe('a', undefined);
    expect(limits.window('a')).toBeUndefined();
  });

  it('takes calls in flight off what is left, until each ends (once)', () => {
    const limits = new BackendLimits();
    limits.observe('a', { remaining: 5, resetSeconds: 10 });
    const first = limits.started('a');
    const second = limits.started('a');
    limits.started('b');
    expect(limits.window('a')?.remaining).toBe(3);
    first();
    first();
    expect(limits.window('a')?.remaining).toBe(4);
    second();
    expect(limits.window('a')?.remaining).toBe(5);
    for (let i = 0; i < 9; i++) limits.started('a');
    expect(limits.window('a')?.remaining).toBe(0);
  });

  it('within one window what is left only goes down, whatever order answers arrive in', () => {
    const time = clock();
    const limits = new BackendLimits(time.now);
    limits.observe('a', { limit: 60, remaining: 20, resetSeconds: 8 });
    time.advance(300);
    limits.observe('a', { remaining: 25, resetSeconds: 8 }); // an older answer, arriving late
    expect(limits.window('a')).toMatchObject({ limit: 60, remaining: 20 });
    limits.observe('a', { remaining: 19, resetSeconds: 7 });
    expect(limits.window('a')?.remaining).toBe(19);
  });

  it('an answer from a window already over is ignored; one from the next window replaces it', () => {
    const time = clock();
    const limits = new BackendLimits(time.now);
    limits.observe('a', { remaining: 50, resetSeconds: 10 });
    limits.observe('a', { remaining: 2, resetSeconds: 1 });
    expect(limits.window('a')).toMatchObject({ remaining: 50, resetSeconds: 10 });
    time.advance(10_000);
    limits.observe('a', { remaining: 59, resetSeconds: 10 });
    expect(limits.window('a')).toMatchObject({ remaining: 59, resetSeconds: 10 });
  });

  it("a 429's Retry-After: nothing is left until then", () => {
    const limits = new BackendLimits();
    limits.observe('a', { remaining: 30, resetSeconds: 9 });
    limits.observe('a', undefined, 4);
    expect(limits.window('a')).toMatchObject({ remaining: 0, resetSeconds: 4 });
    expect(limits.lastRemaining()).toEqual([{ credential: 'a', remaining: 0 }]);
  });

  it('names credentials by scheme and scopes, never by a token', () => {
    const listDrafts = tools.find((t) => t.name === 'listDrafts')!;
    const getDraft = tools.find((t) => t.name === 'getDraft')!;
    const publishDraft = tools.find((t) => t.name === 'publishDraft')!;
    expect(credentialKey(listDrafts.operation)).toBe('adminAuth(drafts:read)');
    expect(credentialKey(getDraft.operation)).toBe(credentialKey(listDrafts.operation));
    expect(credentialKey({ credentials: [] })).toBe('(none)');
    // A write with an approval lookup uses the lookup's credential too.
    expect(callCredentials(publishDraft)).toEqual(['adminAuth(drafts:publish)', 'adminAuth(drafts:read)']);
    expect(callCredentials(listDrafts)).toEqual(['adminAuth(drafts:read)']);
  });

  it('with tenants, names each tenant’s credential apart: one tenant’s window never holds back another’s (D41)', () => {
    const publishDraft = tools.find((t) => t.name === 'publishDraft')!;
    expect(credentialKey(publishDraft.operation, 'north')).toBe('north:adminAuth(drafts:publish)');
    expect(callCredentials(publishDraft, 'south')).toEqual(['south:adminAuth(drafts:publish)', 'south:adminAuth(drafts:read)']);
    expect(callCredentials(publishDraft, null)).toEqual(callCredentials(publishDraft));
  });
});

describe('FairShareGate', () => {
  const gate = (share = 0.5) => {
    const limits = new BackendLimits();
    return { limits, gate: new FairShareGate({ limits, limiters: memoryLimiters, share }) };
  };

  it("lets everything through before the window's first answer, and counts it in that window once it comes", async () => {
    const { limits, gate: g } = gate();
    for (let i = 0; i < 3; i++) expect(await g.tryStart(['a'], 'alice')).toEqual({ ok: true });
    limits.observe('a', { remaining: 4, resetSeconds: 10 });
    // alice has 3 in this window: 3 < 0.5 × (3 + 4), then 4 < 0.5 × (4 + 4) no. Uncounted, she
    // would have had four more (0 < 2, 1 < 2.5, 2 < 3, 3 < 3.5).
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await g.tryStart(['a'], 'alice')).ok);
    expect(decisions).toEqual([true, false, false]);
    expect(await g.tryStart(['a'], 'bob')).toEqual({ ok: true });
  });

  it('remembers uncounted calls once, and only calls it let through', async () => {
    const { limits, gate: g } = gate();
    limits.observe('known', undefined, 5); // nothing left on 'known' until it resets
    expect((await g.tryStart(['unknown', 'known'], 'alice')).ok).toBe(false);
    expect(await g.tryStart(['unknown'], 'alice')).toEqual({ ok: true });
    limits.observe('unknown', { remaining: 10, resetSeconds: 10 });
    // One call remembered (the refused one was not), counted once even when two calls ask
    // concurrently: used n may start while n < 0.5 × (n + 10), i.e. n = 1..9, so 7 after those
    // two (remembering none gives 8; the refused one too, or twice, gives 6).
    const first = await Promise.all([g.tryStart(['unknown'], 'alice'), g.tryStart(['unknown'], 'alice')]);
    expect(first.map((d) => d.ok)).toEqual([true, true]);
    let more = 0;
    while ((await g.tryStart(['unknown'], 'alice')).ok) more++;
    expect(more).toBe(7);
  });

  it('holds back a heavy caller while another caller still gets through, and says when to retry', async () => {
    const { limits, gate: g } = gate();
    let remaining = 60;
    limits.observe('a', { limit: 60, remaining, resetSeconds: 10 });
    let alice = 0;
    for (;;) {
      const decision = await g.tryStart(['a'], 'alice');
      if (!decision.ok) {
        expect(decision).toEqual({ ok: false, reason: 'share', retryAfterSeconds: 10, credential: 'a' });
        break;
      }
      alice++;
      limits.observe('a', { limit: 60, remaining: --remaining, resetSeconds: 10 });
    }
    expect(alice).toBe(30);
    expect(await g.tryStart(['a'], 'bob')).toEqual({ ok: true });
    // A refusal counts nothing: alice stays at 30 and is refused again, not further behind.
    expect((await g.tryStart(['a'], 'alice')).ok).toBe(false);
  });

  it('refuses everyone, as used up, when nothing is left', async () => {
    const { limits, gate: g } = gate();
    limits.observe('a', undefined, 7);
    expect(await g.tryStart(['a'], 'carol')).toEqual({ ok: false, reason: 'exhausted', retryAfterSeconds: 7, credential: 'a' });
  });

  it('checks every credential of the call, and a refusal on one counts none', async () => {
    const { limits, gate: g } = gate();
    limits.observe('read', { remaining: 10, resetSeconds: 10 });
    limits.observe('write', { remaining: 2, resetSeconds: 10 });
    expect((await g.tryStart(['write', 'read'], 'dave')).ok).toBe(true); // write 0 < 1, read 0 < 5
    expect((await g.tryStart(['read', 'write'], 'dave')).ok).toBe(true); // read 1 < 5.5, write 1 < 1.5
    expect(await g.tryStart(['read', 'write'], 'dave')).toMatchObject({ ok: false, credential: 'write' }); // write 2 < 2: no
    // read counted two calls, not three: from 2 used, dave may start 8 more (9 < 0.5 × (9 + 10)).
    let more = 0;
    while ((await g.tryStart(['read'], 'dave')).ok) more++;
    expect(more).toBe(8);
  });

  it('share 1 turns the gate off; a share outside (0, 1] is refused', async () => {
    const { limits, gate: g } = gate(1);
    limits.observe('a', undefined, 30);
    expect(await g.tryStart(['a'], 'erin')).toEqual({ ok: true });
    expect(() => new FairShareGate({ limits, limiters: memoryLimiters, share: 0 })).toThrow(RangeError);
    expect(() => new FairShareGate({ limits, limiters: memoryLimiters, share: 1.5 })).toThrow(RangeError);
  });

  it('heavy users hammering through the gate never leave a newcomer with nothing (simulated backend)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 20, max: 120 }), fc.array(fc.nat(), { minLength: 50, maxLength: 400 }), async (k, limit, order) => {
        const { limits, gate: g } = gate();
        let remaining = limit;
        limits.observe('a', { limit, remaining, resetSeconds: 30 });
        const users = Array.from({ length: k }, (_, i) => `heavy-${i}`);
        // Each heavy user's first call, then any order.
        for (const pick of [...users.keys(), ...order]) {
          if (!(await g.tryStart(['a'], users[pick % k]!)).ok) continue;
          remaining--;
          limits.observe('a', { limit, remaining, resetSeconds: 30 });
        }
        if (remaining > 0) expect(await g.tryStart(['a'], 'newcomer')).toEqual({ ok: true });
        // Only first calls can use up the window, so with fewer heavy users than half the limit something is left.
        if (2 * k < limit) expect(remaining).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });
});
