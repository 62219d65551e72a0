/**
 * node:http or node:https for a URL, taken as the built-in's CommonJS exports. Not `import()`:
 * an ES import builds the module's namespace, which reads every export, and on Node ≥ 22 `http`
 * exports `WebSocket`, whose first read loads Node's bundled undici (~9 MiB, ~110 ms of CPU) —
 * into every start, stdio included, for nothing the caller uses (src/README.md D45).
 */
export function httpModuleFor(url: string): typeof import('node:http') | typeof import('node:https') {
  return url.startsWith('https:') ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
}
