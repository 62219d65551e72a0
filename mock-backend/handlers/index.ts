/**
 * Every operation's resolver, by operationId; pipeline.ts turns them into msw handlers. The type
 * asks for one per operation of the spec, so a new operation without a handler fails `tsc`.
 */
import type { OperationId } from '../apiTypes.ts';
import type { OperationResolver } from '../pipeline.ts';
import { adminOperations } from './admin.ts';
import { customerOperations } from './customers.ts';
import { draftOperations } from './drafts.ts';
import { postOperations } from './posts.ts';
import { ticketOperations } from './tickets.ts';

export const operationResolvers = {
  ...draftOperations,
  ...postOperations,
  ...customerOperations,
  ...ticketOperations,
  ...adminOperations,
} satisfies { readonly [Id in OperationId]: OperationResolver<Id> };
