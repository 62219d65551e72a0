// Emits openapi-typescript types in a worker thread, so that loading openapi-typescript and the
// TypeScript compiler (~1 s, the largest single cost of `generate` with `apiTypes: exposed`)
// overlaps with loading the spec and compiling the tools on the main thread. The worker runs
// plain JavaScript (openapiTypes.mjs) without tsx's loader, which also makes that import faster.

import { Worker } from 'node:worker_threads';
import type { JsonObject } from './schemaView.ts';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const loading = import(workerData.module);
loading.catch(() => {}); // reported with the first request
parentPort.on('message', async (json) => {
  try {
    const { openapiTypes } = await loading;
    parentPort.postMessage({ text: openapiTypes(JSON.parse(json)) });
  } catch (err) {
    parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
});
`;

export interface TypesEmitter {
  /** openapi-typescript's text for this (bundled) spec. */
  emit(spec: JsonObject): Promise<string>;
  /** Stops the worker; safe to call more than once. */
  close(): Promise<void>;
}

/** Starts the worker now; it begins loading openapi-typescript at once. */
export function startTypesWorker(): TypesEmitter {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { module: new URL('./openapiTypes.mjs', import.meta.url).href },
  });
  let failure: Error | null = null;
  const waiting = new Set<(r: { text?: string; error?: string }) => void>();
  const fail = (err: Error) => {
    failure = err;
    for (const w of waiting) w({ error: err.message });
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the types worker exited (code ${code})`)));
  worker.on('message', (m: { text?: string; error?: string }) => {
    const [first] = waiting;
    if (first !== undefined) {
      waiting.delete(first);
      first(m);
    }
  });
  let closed = false;
  return {
    async emit(spec) {
      if (failure !== null) throw failure;
      const json = JSON.stringify(spec);
      const reply = await new Promise<{ text?: string; error?: string }>((resolve) => {
        waiting.add(resolve);
        worker.postMessage(json);
      });
      if (reply.text === undefined) throw new Error(`openapi-typescript failed: ${reply.error ?? 'no output'}`);
      return reply.text;
    },
    async close() {
      if (closed) return;
      closed = true;
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
