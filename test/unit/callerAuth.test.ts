/**
 * The caller verifier remembers tokens that verified (bench: signature checks were a tenth of
 * Deputy's CPU per call) — but never past their expiry, never for more than 60 s, and never a
 * failure.
 */
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCallerVerifier } from '../../src/http/callerAuth.ts';

const ISSUER = 'http://as.test';
const AUDIENCE = 'http://deputy.test/mcp';

describe('caller verifier: verified-token cache', () => {
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  beforeAll(async () => {
    ({ privateKey, publicKey } = await generateKeyPair('ES256'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const token = (expiresInSeconds: number, scope = 'customers:read') =>
    new SignJWT({ scope, client_id: 'agent' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('dev')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
      .sign(privateKey);

  const verifier = () => {
    const keyLookups = { count: 0 };
    const verify = createCallerVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: `${ISSUER}/jwks`,
      algorithms: ['ES256'],
      keySet: async () => {
        keyLookups.count++;
        return publicKey;
      },
    });
    return { verify, keyLookups };
  };

  it('checks the signature of a token once, then answers from memory with a fresh copy', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verify, keyLookups } = verifier();
    const jwt = await token(600);
    const first = await verify(jwt);
    const second = await verify(jwt);
    expect(first).toMatchObject({ ok: true, caller: { subject: 'dev', clientId: 'agent', scopes: ['customers:read'] } });
    expect(second).toEqual(first);
    expect(keyLookups.count).toBe(1);
    if (first.ok && second.ok) expect(second.caller.scopes).not.toBe(first.caller.scopes);
  });

  it('verifies again after 60 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verify, keyLookups } = verifier();
    const jwt = await token(600);
    await verify(jwt);
    vi.setSystemTime(Date.now() + 61_000);
    expect((await verify(jwt)).ok).toBe(true);
    expect(keyLookups.count).toBe(2);
  });

  it('never accepts a remembered token past its expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verify } = verifier();
    const jwt = await token(10);
    expect((await verify(jwt)).ok).toBe(true);
    vi.setSystemTime(Date.now() + 45_000); // past exp + the 30 s clock tolerance
    expect(await verify(jwt)).toEqual({ ok: false, description: 'The access token has expired' });
  });

  it('never remembers a failure', async () => {
    const { verify, keyLookups } = verifier();
    const jwt = await token(600);
    const [header, payload, signature] = jwt.split('.');
    const tampered = `${header}.${payload}.${signature!.slice(0, -4)}AAAA`;
    expect((await verify(tampered)).ok).toBe(false);
    expect((await verify(tampered)).ok).toBe(false);
    expect(keyLookups.count).toBe(2);
    expect((await verify(jwt)).ok).toBe(true);
  });
});

describe('caller verifier: authorization server keys unavailable', () => {
  it('says the keys could not be loaded, and does not call the token invalid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const jwt = await new SignJWT({ scope: 'drafts:read' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('dev')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    // Port 9 on loopback: nothing listens, so fetching the JWKS fails.
    const verify = createCallerVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'http://127.0.0.1:9/jwks', algorithms: ['ES256'] });
    expect(await verify(jwt)).toEqual({ ok: false, unavailable: true, description: 'The authorization server keys could not be loaded' });
  });
});
