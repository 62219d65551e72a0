// The one place that records what a tool sends to its operation: model-settable arguments and
// server-fixed values, each bound to exactly one spec parameter or body property. The tool's own
// inputs and its approval lookup both bind through here, and both ask it which required
// parameters are still unbound.

import { IDEMPOTENCY_HEADER, IGNORED_HEADERS, type Target } from './bindTargets.ts';
import type { Sink } from './sink.ts';
import type { SpecOperation } from './specIndex.ts';
import type { ArgBinding, ArgLocation, FixedValue, JsonValue } from './toolDefinition.ts';

export class ArgumentBinder {
  readonly args: ArgBinding[] = [];
  readonly fixed: FixedValue[] = [];
  readonly #bound = new Set<string>(); // `${in}:${name}`

  /** The model sets this target through argument `arg`. */
  bindArg(target: Target, arg: string, fallback?: JsonValue): void {
    this.args.push({ arg, in: target.in as ArgLocation, name: target.name, ...(fallback === undefined ? {} : { default: fallback }) });
    this.#bound.add(`${target.in}:${target.name}`);
  }

  /** The model sets a placeholder of the body template through argument `arg`. */
  bindTemplateArg(arg: string, fallback?: JsonValue): void {
    this.args.push({ arg, in: 'body', name: arg, ...(fallback === undefined ? {} : { default: fallback }) });
  }

  /** The server always sends `value` for this target. */
  bindFixed(target: Target, value: FixedValue['value']): void {
    this.fixed.push({ in: target.in as ArgLocation, name: target.name, value });
    this.#bound.add(`${target.in}:${target.name}`);
  }

  /** Deputy fills this target with a credential (src/codegen/security.ts); nothing else may bind it. */
  bindCredential(target: Target): void {
    this.#bound.add(`${target.in}:${target.name}`);
  }

  isBound(location: string, name: string): boolean {
    return this.#bound.has(`${location}:${name}`);
  }

  /** Something is sent in the request body. */
  get bindsBody(): boolean {
    return this.args.some((a) => a.in === 'body') || this.fixed.some((f) => f.in === 'body');
  }

  /**
   * Reports every required parameter of `op` left unbound. Headers the runtime owns
   * (Idempotency-Key, Accept, Content-Type, Authorization) never need binding.
   */
  reportUnboundParams(op: SpecOperation, sink: Sink, message: (p: SpecOperation['params'][number]) => string, fix: (name: string) => string, suffix: string): void {
    for (const p of op.params) {
      if (p.in === 'header' && (IDEMPOTENCY_HEADER.test(p.name) || IGNORED_HEADERS.test(p.name))) continue;
      if (p.required && !this.isBound(p.in, p.name)) sink.error('REQUIRED_PARAM_UNBOUND', message(p), p.loc, fix(p.name), suffix);
    }
  }
}

/** The spec's Idempotency-Key header parameter, which the runtime fills. */
export function idempotencyKeyHeader(op: SpecOperation): string | null {
  return op.params.find((p) => p.in === 'header' && IDEMPOTENCY_HEADER.test(p.name))?.name ?? null;
}
