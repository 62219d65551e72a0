/**
 * Client ID Metadata Documents (the MCP 2025-11-25 authorization spec; OAuth draft
 * "Client ID Metadata Document"): a client whose `client_id` is an https URL publishes its
 * metadata at that URL, so it can log in without registering first. This server fetches the
 * document with a timeout, a size cap and no redirects, and the registry caches it briefly.
 */
import { OAuthError } from './oauthErrors.ts';
import { isLoopbackHost } from './urls.ts';

export interface ClientMetadataDocumentOptions {
  /** Development: also accept `http` URLs on a loopback host (127.0.0.0/8, `localhost`, `[::1]`). */
  allowLoopbackHttp: boolean;
  timeoutMs: number;
  maxBytes: number;
  /** How long a fetched document is reused. */
  cacheSeconds: number;
}

export const DEFAULT_DOCUMENT_OPTIONS: ClientMetadataDocumentOptions = {
  // This is the development authorization server: local test clients serve their document over http.
  allowLoopbackHttp: true,
  timeoutMs: 5_000,
  maxBytes: 5 * 1024,
  cacheSeconds: 60,
};

/** An https URL with a path (the draft's requirement), or loopback http when allowed. */
export function isUrlClientId(clientId: string, allowLoopbackHttp: boolean): boolean {
  if (!/^https?:\/\//i.test(clientId)) return false;
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return false;
  }
  if (url.username || url.password || url.hash) return false;
  if (url.protocol === 'http:' && !(allowLoopbackHttp && isLoopbackHost(url.hostname))) return false;
  return url.pathname !== '/' && url.pathname !== '';
}

export async function fetchClientMetadataDocument(clientId: string, opts: ClientMetadataDocumentOptions): Promise<unknown> {
  const refuse = (why: string) => new OAuthError('invalid_client', `cannot use the client metadata document at the client_id URL: ${why}`);
  let response: Response;
  try {
    response = await fetch(clientId, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch {
    throw refuse('it could not be fetched');
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw refuse(`it answered HTTP ${response.status}`);
  }
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = reader ? await reader.read() : { done: true as const, value: undefined };
    if (next.done) break;
    const chunk: Uint8Array = next.value as Uint8Array;
    size += chunk.byteLength;
    if (size > opts.maxBytes) {
      await reader?.cancel();
      throw refuse(`it is larger than ${opts.maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    const document: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new Error('not an object');
    return document;
  } catch {
    throw refuse('it is not a JSON object');
  }
}
