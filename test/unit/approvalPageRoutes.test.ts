/**
 * The approval page when its store of approvals fails (src/README.md, "Approval out of band"):
 * a 503 page that says nothing was decided, with the page's headers, and the error handed to
 * the log hook — never a stack trace. Real HTTP on 127.0.0.1.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalPageRoutes } from '../../src/http/approvalPage.ts';
import type { SignIn } from '../../src/http/approvalSignIn.ts';
import { createSealer, randomStateKey } from '../../src/server/requestState.ts';
import type { OutOfBandApprovals } from '../../src/tools/outOfBand.ts';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function pageWithBrokenStore(): Promise<{ url: string; errors: unknown[]; signIns: () => number }> {
  const errors: unknown[] = [];
  let signIns = 0;
  const broken = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379 at /srv/deputy/node_modules/x.js'), { name: 'SharedStateUnavailable' });
  };
  const outOfBand = { get: broken, decide: broken } as unknown as OutOfBandApprovals;
  const signIn = {
    metadataDocument: null,
    begin: async () => {
      signIns += 1;
      return { transaction: {}, location: 'https://auth.example/authorize' };
    },
  } as unknown as SignIn;
  const keys = [randomStateKey()];
  const app = express().use(
    approvalPageRoutes({ outOfBand, signIn, sessions: createSealer(keys, 60_000), logins: createSealer(keys, 60_000), secure: false, onError: (e) => errors.push(e) }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  closers.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, errors, signIns: () => signIns };
}

describe('approval page with its store down', () => {
  it('answers 503 with a page that says nothing was decided, and reports the error', async () => {
    const page = await pageWithBrokenStore();
    const response = await fetch(`${page.url}/approvals/AAAAAAAAAAAAAAAAAAAAAA`, { redirect: 'manual' });
    const html = await response.text();
    expect(response.status).toBe(503);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('Nothing was decided');
    expect(html).not.toMatch(/ECONNREFUSED|node_modules|6379/);
    expect(page.errors).toHaveLength(1);
    expect(page.signIns()).toBe(0);
  });
});
