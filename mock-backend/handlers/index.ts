/** Every operation's resolver, by operationId; pipeline.ts turns them into msw handlers. */
import type { OperationResolvers } from '../pipeline.ts';
import { adminOperations } from './admin.ts';
import { customerOperations } from './customers.ts';
import { draftOperations } from './drafts.ts';
import { postOperations } from './posts.ts';
import { ticketOperations } from './tickets.ts';

export const operationResolvers: OperationResolvers = {
  ...draftOperations,
  ...postOperations,
  ...customerOperations,
  ...ticketOperations,
  ...adminOperations,
};
