/**
 * The operation binding the backend client executes: how one tool's arguments become one HTTP
 * request. Emitted per tool by `generate` into `src/generated/tools.ts`; re-exported here so
 * the rest of backend/ names it from one place.
 */
export type { ArgBinding, ArgLocation, CredentialKind, CredentialPlacement, FixedValue, HttpMethod, JsonValue, OperationBinding } from '../generated/tools.ts';
export { TEMPLATE_PLACEHOLDER } from '../generated/tools.ts';
