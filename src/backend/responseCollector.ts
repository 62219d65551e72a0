/**
 * The response collector: undici's dispatch handler for one attempt, which gathers status,
 * headers and body under a size cap and settles once, with the response or one BackendError.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { backendError } from './backendError.ts';
import { networkError } from './networkErrors.ts';
import { headerValue } from './responseHeaders.ts';

/** Error bodies are read only for problem details; no need to take more than this. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** null when the body was skipped (an error body over the error-body cap). */
  body: Buffer | null;
}

/**
 * Collects one response. Never buffers past the cap: a `content-length` over it fails before
 * any byte is read, and a streamed body is aborted at the first chunk that crosses it.
 */
export class ResponseCollector implements Dispatcher.DispatchHandler {
  readonly promise: Promise<RawResponse>;
  /** True once a response reached us; a retry after that would replay a half-read body. */
  responded = false;
  settled = false;
  #resolve!: (r: RawResponse) => void;
  #reject!: (e: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #failure: Error | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #limit = 0;
  #skipBody = false;

  constructor(
    private readonly operationId: string,
    private readonly maxBytes: number,
    private readonly isSuccess: (status: number) => boolean,
    private readonly attempts: () => number,
  ) {
    this.promise = new Promise<RawResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Settle with `err` now and abort whatever is in flight. */
  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.#failure = err;
    this.#reject(err);
    this.#controller?.abort(err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#failure) controller.abort(this.#failure); // the deadline passed while the request was queued
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.settled) return;
    this.responded = true;
    this.#status = status;
    this.#headers = headers;
    const success = this.isSuccess(status);
    this.#limit = success ? this.maxBytes : Math.min(this.maxBytes, MAX_ERROR_BODY_BYTES);
    const declared = Number(headerValue(headers, 'content-length'));
    if (Number.isFinite(declared) && declared > this.#limit) {
      if (success) this.#tooLarge();
      else {
        // Skip the error body (we only wanted problem details) and keep the status.
        this.#skipBody = true;
        this.#finish(null);
        controller.abort(new Error('error body skipped'));
      }
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled || this.#skipBody) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      if (this.isSuccess(this.#status)) return this.#tooLarge();
      this.#skipBody = true;
      this.#chunks = [];
      this.#finish(null);
      this.#controller?.abort(new Error('error body skipped'));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.#finish(this.#skipBody ? null : this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.fail(networkError(this.operationId, err, this.attempts()));
  }

  #finish(body: Buffer | null): void {
    this.settled = true;
    this.#chunks = [];
    this.#resolve({ status: this.#status, headers: this.#headers, body });
  }

  #tooLarge(): void {
    this.fail(
      backendError('BACKEND_RESPONSE_TOO_LARGE', this.operationId, {
        status: this.#status,
        attempts: this.attempts(),
        reason: `over ${this.#limit} bytes`,
      }),
    );
  }
}
