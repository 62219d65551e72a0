/** Tickets: listCustomerTickets, addTicketNote, validateTicketNote. */
import { conflict, json, notFound, type ProblemReply } from '../reply.ts';
import type { OperationResolvers } from '../pipeline.ts';
import type { MockStore } from '../store.ts';
import type { TicketNote, TicketNoteCheck } from '../apiTypes.ts';
import { customerNotFound } from './customers.ts';
import { isReply, paginate } from './pagination.ts';

export const ticketOperations = {
  listCustomerTickets({ store, params, query }) {
    const customerId = params.customerId;
    if (!store.customers.has(customerId)) return customerNotFound(customerId);
    const { status, limit, cursor } = query;
    const tickets = [...store.tickets.values()].filter((t) => t.customerId === customerId && (status === undefined || t.status === status));
    // Most recently updated first.
    const page = paginate(tickets, (t) => [t.updatedAt, t.id], [-1, 1], limit, cursor);
    if (isReply(page)) return page;
    return json(200, page);
  },

  addTicketNote({ store, params, body, now, principal }) {
    const ticketId = params.ticketId;
    const refused = noteRefusal(store, ticketId);
    if (refused) return refused;
    const ticket = store.tickets.get(ticketId)!;
    const notes = store.notes.get(ticketId) ?? [];
    const note: TicketNote = {
      id: store.newId('note_', 10, (id) => notes.some((n) => n.id === id)),
      ticketId,
      author: principal?.subject ?? 'anonymous',
      body: body.body,
      visibility: body.visibility,
      createdAt: now.toISOString(),
    };
    notes.push(note);
    store.notes.set(ticketId, notes);
    ticket.updatedAt = note.createdAt;
    return json(201, note);
  },

  // The same checks as addTicketNote, and nothing stored or sent.
  validateTicketNote({ store, params, body }) {
    const ticketId = params.ticketId;
    const refused = noteRefusal(store, ticketId);
    if (refused) return refused;
    const check: TicketNoteCheck = { ticketId, ticketStatus: store.tickets.get(ticketId)!.status, visibility: body.visibility, emailsCustomer: body.visibility === 'public' };
    return json(200, check);
  },
} satisfies OperationResolvers;

/** Why a ticket cannot take a note (missing, closed), or null. */
function noteRefusal(store: MockStore, ticketId: string): ProblemReply | null {
  const ticket = store.tickets.get(ticketId);
  if (!ticket) return notFound(`ticket '${ticketId}' not found; call listCustomerTickets for a customer's tickets`);
  if (ticket.status === 'closed') return conflict(`ticket '${ticketId}' is closed and cannot take notes`);
  return null;
}
