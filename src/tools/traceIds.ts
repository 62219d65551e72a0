/**
 * Random W3C trace-context ids (a call's correlation id and traceparent) from a pool of random
 * bytes filled 4 KiB at a time, as Node's own `randomUUID` does: one `randomBytes` per id was a
 * measurable share of a call's CPU (src/README.md D46). The bytes come from the same CSPRNG.
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.allocUnsafe(4096);
let at = pool.length;

/** `bytes` fresh random bytes as lower-case hex. */
export function randomHex(bytes: number): string {
  if (at + bytes > pool.length) {
    randomFillSync(pool);
    at = 0;
  }
  const hex = pool.toString('hex', at, at + bytes);
  at += bytes;
  return hex;
}

/** A trace id (16 random bytes, 32 hex digits) and a traceparent naming it with a fresh span id. */
export function newTrace(): { traceId: string; traceparent: string } {
  const traceId = randomHex(16);
  return { traceId, traceparent: `00-${traceId}-${randomHex(8)}-01` };
}
