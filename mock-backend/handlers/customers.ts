/** Customers: searchCustomers, getCustomer, updateCustomerPlan, deleteCustomer. */
import { conflict, json, noContent, notFound, unprocessable } from '../reply.ts';
import type { OperationResolvers } from '../pipeline.ts';
import type { Customer, CustomerSummary, Plan } from '../apiTypes.ts';
import { isReply, paginate } from './pagination.ts';

/** Seats each plan allows (the spec's updateCustomerPlan description; enterprise up to the schema maximum). */
export const PLAN_SEATS: Record<Plan, { min: number; max: number }> = {
  free: { min: 1, max: 1 },
  starter: { min: 1, max: 10 },
  pro: { min: 1, max: 100 },
  enterprise: { min: 1, max: 10_000 },
};

export const toCustomerSummary = (c: Customer): CustomerSummary => ({
  id: c.id,
  name: c.name,
  status: c.status,
  plan: c.plan,
  seats: c.seats,
  renewalDate: c.renewalDate,
});

export const customerNotFound = (id: string) => notFound(`customer '${id}' not found; call searchCustomers for valid ids`);

/** "An active paid plan": the customer is being billed (active or past due) for a plan that costs money. */
export const hasActivePaidPlan = (c: Customer): boolean => (c.status === 'active' || c.status === 'past_due') && c.plan !== 'free';

export const customerOperations = {
  searchCustomers({ store, query }) {
    const { q, status, plan, limit, cursor } = query;
    const needle = q?.toLowerCase();
    const matching = [...store.customers.values()].filter(
      (c) =>
        (needle === undefined || c.name.toLowerCase().includes(needle) || c.id.toLowerCase().includes(needle)) &&
        (status === undefined || c.status === status) &&
        (plan === undefined || c.plan === plan),
    );
    const page = paginate(matching, (c) => [c.name.toLowerCase(), c.id], [1, 1], limit, cursor);
    if (isReply(page)) return page;
    return json(200, { items: page.items.map(toCustomerSummary), nextCursor: page.nextCursor });
  },

  getCustomer({ store, params }) {
    const customer = store.customers.get(params.customerId);
    return customer ? json(200, customer) : customerNotFound(params.customerId);
  },

  updateCustomerPlan({ store, params, body, now }) {
    const id = params.customerId;
    const customer = store.customers.get(id);
    if (!customer) return customerNotFound(id);
    const { plan, seats } = body;
    // State conflict (409) vs a request that can never succeed as sent (422).
    if (customer.status === 'cancelled') return conflict(`customer '${id}' is cancelled; reactivate the account before changing its plan`);
    const allowed = PLAN_SEATS[plan];
    if (seats < allowed.min || seats > allowed.max) {
      return unprocessable(`the ${plan} plan allows ${allowed.min === allowed.max ? `exactly ${allowed.max} seat` : `${allowed.min} to ${allowed.max} seats`}, not ${seats}`);
    }
    customer.plan = plan;
    customer.seats = seats;
    if (plan === 'free') customer.renewalDate = null;
    else if (customer.renewalDate === null) customer.renewalDate = new Date(now.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
    return json(200, toCustomerSummary(customer));
  },

  deleteCustomer({ store, params }) {
    const id = params.customerId;
    const customer = store.customers.get(id);
    if (!customer) return customerNotFound(id);
    if (hasActivePaidPlan(customer)) return conflict(`customer '${id}' has an active ${customer.plan} plan; cancel it before deleting the account`);
    store.deleteCustomer(id);
    return noContent();
  },
} satisfies OperationResolvers;
