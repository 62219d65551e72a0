/** Operation bindings shared by the backend client tests, shaped like the generated ones. */
import type { CredentialPlacement, OperationBinding } from '../../src/backend/index.ts';

/** The Acme spec's one scheme: an oauth2 bearer token holding `scopes`. */
export function adminAuth(...scopes: string[]): CredentialPlacement[] {
  return [{ scheme: 'adminAuth', kind: 'bearer', name: null, scopes }];
}

export const getDraftBinding: OperationBinding = {
  operationId: 'getDraft',
  method: 'GET',
  path: '/drafts/{filename}',
  args: [{ arg: 'filename', in: 'path', name: 'filename' }],
  fixed: [],
  body: null,
  successStatuses: [200],
  idempotencyKeyHeader: null,
  credentials: adminAuth('drafts:read'),
};
