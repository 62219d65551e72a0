/**
 * The session registry's per-user share and global cap (src/README.md D35): an initialize under
 * way holds its slot, so initializes that interleave before their sessions are added cannot all
 * pass the checks together.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SessionRegistry, type Session } from '../../src/http/sessions.ts';

let registry: SessionRegistry | undefined;
afterEach(async () => {
  await registry?.closeAll();
});

const session = (id: string, user: string, lastSeenAt: number, tenant: string | null = null) =>
  ({ id, subject: user, tenant, user, lastSeenAt, transport: { close: async () => {} }, server: { close: async () => {} } }) as unknown as Session;

describe('SessionRegistry', () => {
  it('counts a held slot against the user’s share and the cap until released, once', () => {
    registry = new SessionRegistry({ maxSessions: 3, maxPerUser: 2, idleTimeoutMs: 60_000 }, () => 0);
    const first = registry.hold('alice');
    const second = registry.hold('alice');
    expect(registry.userQuota('alice')).toEqual({ limit: 2, retryAfterSeconds: 1 }); // only initializes under way
    expect(registry.userQuota('bob')).toBeNull();
    const bobs = registry.hold('bob');
    expect(registry.hasRoom()).toBe(false);

    first();
    first(); // a second release gives nothing back
    expect(registry.userQuota('alice')).toBeNull();
    expect(registry.hasRoom()).toBe(true);
    const third = registry.hold('alice');
    expect(registry.userQuota('alice')).not.toBeNull();
    expect(registry.hasRoom()).toBe(false);
    for (const release of [second, third, bobs]) release();
    expect(registry.hasRoom()).toBe(true);
  });

  it('refuses a user at their share with the wait until their soonest session idles out', () => {
    let now = 0;
    registry = new SessionRegistry({ maxSessions: 10, maxPerUser: 2, idleTimeoutMs: 60_000 }, () => now);
    registry.add(session('a1', 'alice', 0));
    now = 20_000;
    registry.add(session('a2', 'alice', now));
    now = 30_500;
    expect(registry.userQuota('alice')).toEqual({ limit: 2, retryAfterSeconds: 30 });
    registry.forget('a1');
    expect(registry.userQuota('alice')).toBeNull();
  });

  it('finds a session only for the subject and tenant that opened it (src/README.md D41)', () => {
    registry = new SessionRegistry({ maxSessions: 10, maxPerUser: 5, idleTimeoutMs: 60_000 }, () => 0);
    registry.add(session('acme-1', 'alice', 0, 'acme'));
    registry.add(session('plain-1', 'alice', 0));
    expect(registry.find('acme-1', { subject: 'alice', tenant: 'acme' })?.id).toBe('acme-1');
    // The same subject name in another tenant, or without one, is someone else: as if there were no session.
    expect(registry.find('acme-1', { subject: 'alice', tenant: 'globex' })).toBeUndefined();
    expect(registry.find('acme-1', { subject: 'alice', tenant: null })).toBeUndefined();
    expect(registry.find('acme-1', { subject: 'bob', tenant: 'acme' })).toBeUndefined();
    expect(registry.find('plain-1', { subject: 'alice', tenant: 'acme' })).toBeUndefined();
    expect(registry.find('plain-1', { subject: 'alice', tenant: null })?.id).toBe('plain-1');
  });
});
