/**
 * The admin API's types as the mock backend names them: records from `components.schemas`, and
 * each operation's path parameters, query, JSON body and success replies from `operations`. All
 * of it comes from `src/generated/api-types.ts` (openapi-typescript over `openapi/admin-api.yaml`,
 * written by `npm run generate`), so a spec change the store or a handler does not follow fails
 * `tsc`.
 *
 * This is the mock's only import from `src/`, and it is type-only: it is erased before anything
 * runs, so no code of Deputy's runs in the mock (src/README.md D33).
 */
import type { components, operations } from '../src/generated/api-types.ts';

type Schemas = components['schemas'];

export type Draft = Schemas['Draft'];
export type DraftSummary = Schemas['DraftSummary'];
export type DraftStatus = Schemas['DraftStatus'];
export type Post = Schemas['Post'];
export type Customer = Schemas['Customer'];
export type CustomerSummary = Schemas['CustomerSummary'];
export type CustomerStatus = Schemas['CustomerStatus'];
export type Plan = Schemas['Plan'];
export type PaymentMethod = Customer['paymentMethod'];
export type RiskFlag = Customer['riskFlags'][number];
export type ApiKeyMetadata = Schemas['ApiKeyMetadata'];
export type Ticket = Schemas['Ticket'];
export type TicketStatus = Schemas['TicketStatus'];
export type TicketPriority = Ticket['priority'];
export type TicketNote = Schemas['TicketNote'];
export type TicketNoteCheck = Schemas['TicketNoteCheck'];
export type Impersonation = Schemas['Impersonation'];

/** Every operationId of the spec. */
export type OperationId = keyof operations;

/** `{}` for an operation that has none of a kind of parameter (openapi-typescript says `never`). */
type Present<T> = [NonNullable<T>] extends [never] ? Record<string, never> : NonNullable<T>;

/** The operation's path parameters, by name. */
export type PathParams<Id extends OperationId> = Present<operations[Id]['parameters']['path']>;

/**
 * The operation's query parameters. A parameter the spec gives a default is still optional here
 * (openapi-typescript types the request a client may send); the mock applies the default.
 */
export type QueryParams<Id extends OperationId> = Present<operations[Id]['parameters']['query']>;

/** A request body's JSON schema type, undefined where there is no body (distributes over `| undefined`). */
type JsonBody<R> = R extends { content: { 'application/json': infer B } } ? B : undefined;

/**
 * The operation's JSON request body; `| undefined` when the body is optional, undefined when the
 * operation takes none. Properties with a spec default are required here, as they are once the
 * mock has applied the defaults.
 */
export type RequestBody<Id extends OperationId> = JsonBody<operations[Id]['requestBody']>;

/** The statuses the spec declares for the operation. */
type Statuses<Id extends OperationId> = keyof operations[Id]['responses'] & number;

/**
 * What the operation may answer with success: for each 2xx the spec declares, that status with its
 * JSON body, or no body where the spec declares none (204).
 */
export type SuccessReply<Id extends OperationId> = {
  [S in Statuses<Id>]: `${S}` extends `2${string}`
    ? operations[Id]['responses'][S] extends { content: { 'application/json': infer B } }
      ? { status: S; body: B; contentType: 'application/json' }
      : { status: S; body?: undefined }
    : never;
}[Statuses<Id>];
