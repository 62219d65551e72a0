/** Operation bindings shared by the backend client tests, shaped like the generated ones. */
import type { OperationBinding } from '../../src/backend/index.ts';

export const getDraftBinding: OperationBinding = {
  operationId: 'getDraft',
  method: 'GET',
  path: '/drafts/{filename}',
  args: [{ arg: 'filename', in: 'path', name: 'filename' }],
  fixed: [],
  body: null,
  successStatuses: [200],
  idempotencyKeyHeader: null,
};
