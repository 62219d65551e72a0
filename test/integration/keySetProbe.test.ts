/**
 * The start-up check of the authorization server reads its JWKS and keeps the key set for the
 * callers' verifiers (src/README.md D51): what it keeps, and what it refuses to.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeKeySet, type KeySetCache } from '../../src/http/callerAuth.ts';

const KEYS = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }] };
const answers: Record<string, [number, string]> = {
  '/ok': [200, JSON.stringify(KEYS)],
  '/not-found': [404, 'no'],
  '/overloaded': [503, JSON.stringify(KEYS)],
  '/not-json': [200, '<html>'],
  '/no-keys': [200, JSON.stringify({ keys: 'none' })],
  '/huge': [200, JSON.stringify({ keys: [{ kty: 'oct', k: 'x'.repeat(1024 * 1024) }] })],
  '/redirect': [302, ''],
};
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const [status, body] = answers[req.url ?? ''] ?? [404, ''];
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 302 ? { location: '/ok' } : {}) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('probeKeySet', () => {
  it('keeps the key set of a 200 answer, with when it was read', async () => {
    const cache: KeySetCache = {};
    const before = Date.now();
    expect(await probeKeySet(`${base}/ok`, cache)).toBe(true);
    expect(cache.jwks).toEqual(KEYS);
    expect(cache.uat).toBeGreaterThanOrEqual(before);
  });

  it('never replaces a key set already kept', async () => {
    const cache: KeySetCache = { jwks: { keys: [] }, uat: 1 };
    expect(await probeKeySet(`${base}/ok`, cache)).toBe(true);
    expect(cache).toEqual({ jwks: { keys: [] }, uat: 1 });
  });

  it.each([
    ['a 404 (reachable, nothing kept)', '/not-found', true],
    ['a redirect (not followed)', '/redirect', true],
    ['a 503 (not reachable)', '/overloaded', false],
    ['a body that is not JSON', '/not-json', true],
    ['JSON without a keys array', '/no-keys', true],
    ['a key set over 1 MiB', '/huge', true],
  ])('keeps nothing from %s', async (_name, path, reachable) => {
    const cache: KeySetCache = {};
    expect(await probeKeySet(`${base}${path}`, cache)).toBe(reachable);
    expect(cache).toEqual({});
  });

  it('rejects when nothing answers, as the readiness checks expect', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(probeKeySet(`http://127.0.0.1:${port}/`, {})).rejects.toThrow();
  });
});
