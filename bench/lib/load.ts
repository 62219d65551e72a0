/**
 * The throughput core: workers that each keep one customer id and call until a deadline,
 * counting every answer as ok, mismatch (someone else's customer) or error. Used by
 * bench/throughput.ts, bench/memory.ts and the isolation smoke test.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallOutcome, Customer } from './agents.ts';

export interface Worker {
  /** What this worker asks for, every time. */
  customer: Customer;
  call(): Promise<CallOutcome>;
}

export interface LoadResult {
  workers: number;
  durationMs: number;
  calls: number;
  ok: number;
  mismatches: number;
  errors: number;
  /** Exceptions thrown by a call (transport failures), counted in `errors`; the first few messages. */
  exceptions: string[];
  callsPerSecond: number;
}

/** What both SDK clients (v1, 2025 era; v2, 2026-07-28) offer for a tool call. */
export interface ToolCaller {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
}

/** `getCustomerSummary` for `customer` through Deputy; 'mismatch' when the answer is another customer's. */
export async function callSummary(client: ToolCaller, customer: Customer): Promise<CallOutcome> {
  const result = (await client.callTool({ name: 'getCustomerSummary', arguments: { customerId: customer.id } })) as CallToolResult;
  if (result.isError) return 'error';
  const data = result.structuredContent as { id?: unknown; name?: unknown } | undefined;
  return data?.id === customer.id && data.name === customer.name ? 'ok' : 'mismatch';
}

/**
 * Deputy workers: `inFlight` concurrent callers on each client (session); every worker asks
 * for a different customer, so any cross-talk between sessions or between calls in flight on
 * one session shows up as a mismatch.
 */
export function deputyWorkers(clients: readonly ToolCaller[], inFlight: number, customers: readonly Customer[]): Worker[] {
  const workers: Worker[] = [];
  for (const client of clients) {
    for (let j = 0; j < inFlight; j++) {
      const customer = customers[workers.length % customers.length]!;
      workers.push({ customer, call: () => callSummary(client, customer) });
    }
  }
  if (workers.length > customers.length) throw new Error(`${workers.length} workers but only ${customers.length} distinct customers`);
  return workers;
}

/** Runs every worker in a loop for `durationMs`, or until `maxCalls` calls have started. */
export async function runLoad(workers: readonly Worker[], opts: { durationMs?: number; maxCalls?: number }): Promise<LoadResult> {
  const deadline = performance.now() + (opts.durationMs ?? Number.POSITIVE_INFINITY);
  const maxCalls = opts.maxCalls ?? Number.POSITIVE_INFINITY;
  let started = 0;
  const counts = { ok: 0, mismatch: 0, error: 0 };
  const exceptions: string[] = [];
  const t0 = performance.now();
  await Promise.all(
    workers.map(async (worker) => {
      while (performance.now() < deadline && started < maxCalls) {
        started++;
        try {
          counts[await worker.call()]++;
        } catch (error) {
          counts.error++;
          if (exceptions.length < 5) exceptions.push((error as Error).message);
        }
      }
    }),
  );
  const durationMs = performance.now() - t0;
  const calls = counts.ok + counts.mismatch + counts.error;
  return {
    workers: workers.length,
    durationMs,
    calls,
    ok: counts.ok,
    mismatches: counts.mismatch,
    errors: counts.error,
    exceptions,
    callsPerSecond: (calls * 1000) / durationMs,
  };
}
