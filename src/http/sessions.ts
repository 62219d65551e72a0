/**
 * Live MCP sessions, each bound to the subject and tenant that opened it (src/README.md D41). A session id is a random
 * 256-bit value (MCP transport spec: "globally unique and cryptographically secure"), but it
 * is never a credential: a request with another subject's or tenant's session id gets 404, exactly as if
 * the session did not exist, so ids cannot be probed.
 */
import { randomBytes } from 'node:crypto';
import type { Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';

export interface Session {
  id: string;
  subject: string;
  /** The opener's tenant; null with tenants off. */
  tenant: string | null;
  /** The user the per-user session quota counts this session for (subject, or subject and client). */
  user: string;
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  lastSeenAt: number;
  /** The manifest surface it was opened on (src/README.md D42); absent: the single `/mcp`. */
  surface?: string;
}

export interface SessionLimits {
  maxSessions: number;
  /**
   * Open sessions one user may hold here (DEPUTY_QUOTA_SESSIONS), well below `maxSessions` so no
   * user can take every slot. Counted where the sessions live, like the global cap.
   */
  maxPerUser: number;
  idleTimeoutMs: number;
  /**
   * This replica's name (DEPUTY_REPLICA_ID), put in front of every session id it issues
   * (`r1.<random>`) so a load balancer can route a session's requests to the replica that
   * holds it (.deploy/README.md, "Session affinity with open-source nginx"). Not a secret and not a credential.
   */
  replicaId?: string;
}

export function newSessionId(replicaId?: string): string {
  const random = randomBytes(32).toString('base64url');
  return replicaId ? `${replicaId}.${random}` : random;
}

/** A user at their session quota, and when their soonest idle session expires. */
export interface SessionQuotaRefusal {
  limit: number;
  retryAfterSeconds: number;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly perUser = new Map<string, number>();
  /** Slots held by initialize requests under way, per user and in all (see `hold`). */
  private readonly heldPerUser = new Map<string, number>();
  private held = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
    private readonly onClosed: (session: Session) => void = () => {},
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, limits.idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  /** A fresh session id, tagged with this replica's id when it has one. */
  newId(): string {
    return newSessionId(this.limits.replicaId);
  }

  get size(): number {
    return this.sessions.size;
  }

  hasRoom(): boolean {
    return this.sessions.size + this.held < this.limits.maxSessions;
  }

  /**
   * Holds one slot of the cap and of `user`'s quota while an initialize is under way: the session
   * is added only inside the SDK's handling of it, after awaits, and without the hold, initializes
   * interleaving there would all pass the checks first. The returned function gives the slot back (once).
   */
  hold(user: string): () => void {
    this.heldPerUser.set(user, (this.heldPerUser.get(user) ?? 0) + 1);
    this.held += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= 1;
      const left = (this.heldPerUser.get(user) ?? 1) - 1;
      if (left > 0) this.heldPerUser.set(user, left);
      else this.heldPerUser.delete(user);
    };
  }

  /** Null when `user` may open another session; otherwise the refusal with its Retry-After. */
  userQuota(user: string): SessionQuotaRefusal | null {
    if ((this.perUser.get(user) ?? 0) + (this.heldPerUser.get(user) ?? 0) < this.limits.maxPerUser) return null;
    let soonest = Number.POSITIVE_INFINITY;
    for (const session of this.sessions.values()) if (session.user === user) soonest = Math.min(soonest, session.lastSeenAt + this.limits.idleTimeoutMs);
    // Only initializes under way: one of them may fail and free its slot in a moment.
    const waitMs = Number.isFinite(soonest) ? soonest - this.now() : 1_000;
    return { limit: this.limits.maxPerUser, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  add(session: Session): void {
    this.sessions.set(session.id, session);
    this.perUser.set(session.user, (this.perUser.get(session.user) ?? 0) + 1);
  }

  /**
   * The session, only for the subject of the tenant that opened it and on the surface it was
   * opened on; the idle clock restarts. One registry for every surface keeps the cap and the
   * per-user quota whole.
   */
  find(id: string, who: { subject: string; tenant: string | null }, surface?: string): Session | undefined {
    const session = this.sessions.get(id);
    if (!session || session.subject !== who.subject || session.tenant !== who.tenant || session.surface !== surface) return undefined;
    session.lastSeenAt = this.now();
    return session;
  }

  /** Forget a session the transport already closed (DELETE or error). */
  forget(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    const left = (this.perUser.get(session.user) ?? 1) - 1;
    if (left > 0) this.perUser.set(session.user, left);
    else this.perUser.delete(session.user);
    this.onClosed(session);
  }

  async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.forget(id);
    await session.transport.close().catch(() => {});
    await session.server.close().catch(() => {});
  }

  sweep(): void {
    const cutoff = this.now() - this.limits.idleTimeoutMs;
    for (const session of [...this.sessions.values()]) {
      if (session.lastSeenAt < cutoff) void this.close(session.id);
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }
}
