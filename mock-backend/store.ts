/**
 * The mock backend's in-memory state. Handlers read and change it; tests read it to check that
 * work was (or was not) done. `reset()` restores the deterministic seed, including the generator
 * of new ids, so a test sees the same ids whatever ran before it.
 */
import { LOWER_ALNUM, SEED, createRng, createSeed, type Rng, type SeedData } from './seed.ts';
import type { Customer, Draft, Impersonation, Post, Ticket, TicketNote } from './apiTypes.ts';

/** What happened besides the records themselves, for tests to assert on. */
export interface StoreEvents {
  /** One entry per publish that actually happened (replays do not add one). */
  publications: { postId: string; filename: string; notifySubscribers: boolean; at: string; by: string }[];
  unpublications: { postId: string; reason: string; at: string; by: string }[];
  impersonations: (Impersonation & { reason: string; by: string })[];
  keyRotations: { customerId: string; revoked: number; at: string; by: string }[];
}

export class MockStore {
  readonly drafts = new Map<string, Draft>();
  readonly posts = new Map<string, Post>();
  readonly customers = new Map<string, Customer>();
  readonly tickets = new Map<string, Ticket>();
  /** Ticket notes by ticket id, oldest first. */
  readonly notes = new Map<string, TicketNote[]>();
  events: StoreEvents = emptyEvents();
  private rng: Rng = createRng(SEED);
  private static seedData: SeedData | undefined;

  constructor() {
    this.reset();
  }

  /** Restores the seed: the same records, the same next ids. */
  reset(): void {
    MockStore.seedData ??= createSeed();
    const seed = structuredClone(MockStore.seedData);
    this.drafts.clear();
    this.posts.clear();
    this.customers.clear();
    this.tickets.clear();
    this.notes.clear();
    for (const d of seed.drafts) this.drafts.set(d.filename, d);
    for (const p of seed.posts) this.posts.set(p.id, p);
    for (const c of seed.customers) this.customers.set(c.id, c);
    for (const t of seed.tickets) {
      this.tickets.set(t.id, t);
      this.notes.set(t.id, []);
    }
    for (const n of seed.notes) this.notes.get(n.ticketId)?.push(n);
    this.events = emptyEvents();
    // A different stream from the seed's, so new ids never collide with seeded ones by accident.
    this.rng = createRng(SEED ^ 0x5eed);
  }

  /** A new id like `post_k3j9x0a1b2`, unique in `taken`. */
  newId(prefix: string, length: number, taken: (id: string) => boolean = () => false, alphabet: string = LOWER_ALNUM): string {
    for (;;) {
      const id = `${prefix}${this.rng.chars(alphabet, length)}`;
      if (!taken(id)) return id;
    }
  }

  /** Deletes a customer with everything that belongs to it. */
  deleteCustomer(id: string): void {
    this.customers.delete(id);
    for (const [ticketId, ticket] of this.tickets) {
      if (ticket.customerId === id) {
        this.tickets.delete(ticketId);
        this.notes.delete(ticketId);
      }
    }
  }
}

function emptyEvents(): StoreEvents {
  return { publications: [], unpublications: [], impersonations: [], keyRotations: [] };
}
