/**
 * The operation binding the backend client executes: how one tool's arguments become one HTTP
 * request. Emitted per tool by `generate` into `src/generated/tools.ts`.
 *
 * TODO(backend): switch to `import type { OperationBinding, ... } from '../generated/tools.ts'`
 * once the generated module lands; these declarations are structurally identical to it.
 */
export type ArgLocation = 'path' | 'query' | 'header' | 'body';

export interface ArgBinding {
  /** Property in the tool's input. */
  arg: string;
  in: ArgLocation;
  /** Spec parameter name, or top-level body property. */
  name: string;
}

export interface FixedValue {
  in: ArgLocation;
  name: string;
  value: string | number | boolean | null;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface OperationBinding {
  operationId: string;
  method: HttpMethod;
  /** Path template relative to the backend base URL, e.g. `/drafts/{filename}/publish`. */
  path: string;
  args: ArgBinding[];
  fixed: FixedValue[];
  body: null | { contentType: 'application/json' | 'application/x-www-form-urlencoded'; required: boolean };
  successStatuses: number[];
  idempotencyKeyHeader: string | null;
}
