/**
 * Sealing of the 2026-07-28 `requestState` Deputy hands out with an approval form. The state
 * round-trips through the client, so it comes back as attacker-controlled input; the spec
 * requires integrity protection for state that influences authorization (MCP 2026-07-28,
 * "Multi round-trip requests", server requirements). The SDK's HMAC-SHA256 codec seals it with
 * an expiry; a list of keys allows rotation: the first key seals, every key is tried to verify.
 * Every replica that may receive the resumed call must hold the same keys (DEPUTY_STATE_KEYS).
 */
import { randomBytes } from 'node:crypto';
import { createRequestStateCodec, type RequestStateCodec } from '@modelcontextprotocol/server';
import type { ApprovalClaim } from '../tools/approvalRounds.ts';

export interface RequestStateSeal {
  seal(claim: ApprovalClaim): Promise<string>;
  /** The claim of a state Deputy sealed and that has not expired; throws otherwise. */
  open(state: string): Promise<ApprovalClaim>;
  ttlMs: number;
}

/** Bytes the codec requires of a key (HMAC-SHA256, 256 bits). */
export const MIN_STATE_KEY_BYTES = 32;

/** A per-process key for development: approvals then work only when one process serves both rounds. */
export function randomStateKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Why a resumed call's state was refused: past its expiry, or not one Deputy sealed (forged, changed, another key). */
export type RejectedStateReason = 'expired' | 'invalid';

/** `onRejected` hears every refused state: approvals left to expire, and forgeries, are worth counting. */
export function createRequestStateSeal(keys: readonly string[], ttlMs: number, onRejected?: (reason: RejectedStateReason) => void): RequestStateSeal {
  return createSealer<ApprovalClaim>(keys, ttlMs, onRejected);
}

/** Seals any small record with the same keys and rotation (the approval page's cookies use it too). */
export interface Sealer<T> {
  seal(value: T): Promise<string>;
  /** The value of a string Deputy sealed and that has not expired; throws otherwise. */
  open(sealed: string): Promise<T>;
  ttlMs: number;
}

export function createSealer<T>(keys: readonly string[], ttlMs: number, onRejected?: (reason: RejectedStateReason) => void): Sealer<T> {
  if (keys.length === 0) throw new Error('at least one request-state key is needed');
  const ttlSeconds = Math.max(1, Math.round(ttlMs / 1000));
  const codecs: RequestStateCodec<T>[] = keys.map((key) => createRequestStateCodec<T>({ key, ttlSeconds }));
  return {
    ttlMs: ttlSeconds * 1000,
    seal: (value) => codecs[0]!.mint(value),
    async open(state) {
      let failure: unknown = new Error('malformed');
      for (const codec of codecs) {
        try {
          // The codec takes a handler context only for its optional binding, which Deputy does
          // not use: the sealed value itself names whom it is for.
          return await codec.verify(state, undefined as never);
        } catch (error) {
          failure = error;
          // A state sealed by another key fails its MAC here: try the next key. Any other
          // reason (expired, malformed) is final.
          if (!(error instanceof Error) || error.message !== 'mac') break;
        }
      }
      onRejected?.(failure instanceof Error && failure.message === 'expired' ? 'expired' : 'invalid');
      throw failure;
    },
  };
}
