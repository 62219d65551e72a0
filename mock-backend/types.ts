/**
 * Record types of the mock backend, mirroring `components.schemas` of `openapi/admin-api.yaml`
 * by hand. (A later step generates `src/generated/` types with openapi-typescript; the mock must
 * never import `src/`, so it keeps its own copy. The response validator in the test suite keeps
 * the two honest: every record the mock serves is checked against the spec.)
 */

export type DraftStatus = 'draft' | 'in_review' | 'scheduled' | 'published';
export type CustomerStatus = 'trial' | 'active' | 'past_due' | 'cancelled';
export type Plan = 'free' | 'starter' | 'pro' | 'enterprise';
export type TicketStatus = 'open' | 'pending' | 'solved' | 'closed';
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';
export type RiskFlag = 'chargeback' | 'fraud_review' | 'abuse_report' | 'payment_failed' | 'vip';

export interface DraftSummary {
  filename: string;
  title: string;
  author: string;
  status: DraftStatus;
  wordCount: number;
  updatedAt: string;
}

export interface Draft extends DraftSummary {
  excerpt: string;
  body: string;
  tags: string[];
  createdAt: string;
  publishedPostId: string | null;
}

export interface Post {
  id: string;
  slug: string;
  title: string;
  author: string;
  status: 'live' | 'unpublished';
  url: string;
  sourceDraft: string;
  publishedAt: string;
}

export interface CustomerSummary {
  id: string;
  name: string;
  status: CustomerStatus;
  plan: Plan;
  seats: number;
  renewalDate: string | null;
}

export interface Address {
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string;
  country: string;
}

export type PaymentMethod =
  | { type: 'card'; brand: 'visa' | 'mastercard' | 'amex'; last4: string; expMonth: number; expYear: number }
  | { type: 'sepa_debit'; bankName: string; ibanLast4: string }
  | null;

export interface ApiKeyMetadata {
  id: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  scopes: string[];
}

export interface Customer extends CustomerSummary {
  createdAt: string;
  contact: { name: string; email: string; phone: string };
  billingAddress: Address;
  paymentMethod: PaymentMethod;
  internalNotes: string;
  riskFlags: RiskFlag[];
  apiKeys: ApiKeyMetadata[];
}

export interface Ticket {
  id: string;
  customerId: string;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  createdAt: string;
  updatedAt: string;
  lastMessage: string;
}

export interface TicketNote {
  id: string;
  ticketId: string;
  author: string;
  body: string;
  visibility: 'internal' | 'public';
  createdAt: string;
}

/** What adding a note would do (validateTicketNote). */
export interface TicketNoteCheck {
  ticketId: string;
  ticketStatus: TicketStatus;
  visibility: 'internal' | 'public';
  emailsCustomer: boolean;
}

export interface Impersonation {
  id: string;
  customerId: string;
  userEmail: string;
  sessionUrl: string;
  expiresAt: string;
}

export interface SqlReport {
  columns: string[];
  rows: unknown[][];
  rowCount: number;
}

export interface RotateApiKeysResult {
  customerId: string;
  revoked: number;
  keys: ApiKeyMetadata[];
}

// Request bodies (after validation and defaults).
export interface PublishDraftRequest {
  notifySubscribers?: boolean;
}
export interface UnpublishPostRequest {
  reason: string;
}
export interface UpdateCustomerPlanRequest {
  plan: Plan;
  seats: number;
}
export interface AddTicketNoteRequest {
  body: string;
  visibility?: 'internal' | 'public';
}
export interface SqlReportRequest {
  sql: string;
  maxRows?: number;
}
export interface ImpersonationRequest {
  customerId: string;
  userEmail: string;
  reason: string;
}
export interface RotateApiKeysRequest {
  customerId: string;
  revokeExisting?: boolean;
}
