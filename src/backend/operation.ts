/**
 * The operation binding the backend client executes: how one tool's arguments become one HTTP
 * request. Emitted per tool by `generate` into `src/generated/tools.ts`; re-exported here so
 * the rest of backend/ names it from one place.
 */
export type { ArgBinding, ArgLocation, CredentialKind, CredentialPlacement, FixedValue, HttpMethod, JsonValue, OperationBinding } from '../generated/tools.ts';
export { TEMPLATE_PLACEHOLDER } from '../generated/tools.ts';
import type { OperationBinding } from '../generated/tools.ts';

/**
 * Whether `status` is a success of this operation: one of the 2xx its spec declares, or any 2xx
 * when it declares none. Anything else is an error, including an undeclared 2xx.
 */
export function isSuccessStatus(binding: Pick<OperationBinding, 'successStatuses'>, status: number): boolean {
  return binding.successStatuses.length > 0 ? binding.successStatuses.includes(status) : status >= 200 && status < 300;
}
