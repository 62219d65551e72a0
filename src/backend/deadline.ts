/**
 * The deadline of one backend call: its total time budget (token fetch, every attempt, every
 * backoff) and the caller's cancellation, as one stop (src/README.md, "Limits").
 *
 * Its listeners are a plain set, not an AbortController: every call makes one, and a signal with
 * its EventTarget was a measurable share of the call's CPU (src/README.md D46).
 */
import { backendError, type BackendError } from './backendError.ts';

export type StopReason = 'timeout' | 'aborted';

/** The total time budget of one call, and the caller's cancellation, as one stop. */
export class Deadline {
  readonly #listeners = new Set<() => void>();
  readonly #end: number;
  readonly #timer: NodeJS.Timeout;
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort = () => this.#stop('aborted');
  reason: StopReason | undefined;

  constructor(ms: number, parent?: AbortSignal) {
    this.#end = Date.now() + ms;
    this.#timer = setTimeout(() => this.#stop('timeout'), ms);
    this.#parent = parent;
    if (parent?.aborted) this.#stop('aborted');
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  remainingMs(): number {
    return this.#end - Date.now();
  }

  /** Calls `listener` once when the deadline stops (not if it has already); returns its removal. */
  onStop(listener: () => void): () => void {
    const once = () => {
      this.#listeners.delete(once);
      listener();
    };
    this.#listeners.add(once);
    return () => this.#listeners.delete(once);
  }

  #stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Settle with `promise`, or reject when the deadline passes first. */
  race<T>(promise: Promise<T>, onStop: () => Error): Promise<T> {
    if (this.reason) return Promise.reject(onStop());
    return new Promise<T>((resolve, reject) => {
      const remove = this.onStop(() => reject(onStop()));
      promise.then(
        (v) => {
          remove();
          resolve(v);
        },
        (e: unknown) => {
          remove();
          reject(e);
        },
      );
    });
  }

  /** Wait `ms`, unless the deadline passes first. */
  sleep(ms: number, done: () => void, stopped: () => void): void {
    if (this.reason) return stopped();
    const remove = this.onStop(() => {
      clearTimeout(timer);
      stopped();
    });
    const timer = setTimeout(() => {
      remove();
      done();
    }, ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
  }
}

/** The error of a call the deadline stopped: the caller aborted it, or its time ran out. */
export function stopError(operationId: string, deadline: Deadline, attempts: number): BackendError {
  return deadline.reason === 'aborted'
    ? backendError('BACKEND_ABORTED', operationId, { attempts })
    : backendError('BACKEND_TIMEOUT', operationId, { attempts, reason: 'the call deadline passed' });
}
