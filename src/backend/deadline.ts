/**
 * The deadline of one backend call: its total time budget (token fetch, every attempt, every
 * backoff) and the caller's cancellation, as one signal (src/README.md, "Limits").
 */
import { backendError, type BackendError } from './backendError.ts';

export type StopReason = 'timeout' | 'aborted';

/** The total time budget of one call, and the caller's cancellation, as one signal. */
export class Deadline {
  readonly #controller = new AbortController();
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

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return this.#end - Date.now();
  }

  #stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.#controller.abort();
  }

  /** Settle with `promise`, or reject when the deadline passes first. */
  race<T>(promise: Promise<T>, onStop: () => Error): Promise<T> {
    if (this.reason) return Promise.reject(onStop());
    return new Promise<T>((resolve, reject) => {
      const stop = () => reject(onStop());
      this.signal.addEventListener('abort', stop, { once: true });
      promise.then(
        (v) => {
          this.signal.removeEventListener('abort', stop);
          resolve(v);
        },
        (e: unknown) => {
          this.signal.removeEventListener('abort', stop);
          reject(e);
        },
      );
    });
  }

  /** Wait `ms`, unless the deadline passes first. */
  sleep(ms: number, done: () => void, stopped: () => void): void {
    if (this.reason) return stopped();
    const onAbort = () => {
      clearTimeout(timer);
      stopped();
    };
    const timer = setTimeout(() => {
      this.signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    this.signal.addEventListener('abort', onAbort, { once: true });
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
