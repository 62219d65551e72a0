import type { IncomingMessage } from 'node:http';

/**
 * node:http or node:https for a URL, taken as the built-in's CommonJS exports. Not `import()`:
 * an ES import builds the module's namespace, which reads every export, and on Node ≥ 22 `http`
 * exports `WebSocket`, whose first read loads Node's bundled undici (~9 MiB, ~110 ms of CPU) —
 * into every start, stdio included, for nothing the caller uses (src/README.md D45).
 */
export function httpModuleFor(url: string): typeof import('node:http') | typeof import('node:https') {
  return url.startsWith('https:') ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
}

/**
 * A start-up or readiness GET of `url` (2 s, no redirect followed): the answer, and whether it says
 * the server is up — any answer but a gateway or overload status (a backend's root is often 404
 * or 501). Rejects when nothing answers. The caller reads or discards the answer's body.
 */
export function probe(url: string, headers: Record<string, string> = {}): Promise<{ up: boolean; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const request = httpModuleFor(url).get(url, { headers, signal: AbortSignal.timeout(2_000) }, (response) => {
      resolve({ up: ![502, 503, 504].includes(response.statusCode ?? 0), response });
    });
    request.on('error', reject);
  });
}
