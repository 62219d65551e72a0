/**
 * The approval page when its store of approvals fails (src/README.md, "Approval out of band"):
 * a 503 page that says nothing was decided, with the page's headers, and the error handed to
 * the log hook — never a stack trace; and an approval shown and decided only within its tenant
 * (D41). Real HTTP on 127.0.0.1.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalPageRoutes, type PageSession } from '../../src/http/approvalPage.ts';
import type { SignIn } from '../../src/http/approvalSignIn.ts';
import { InMemoryPendingApprovals } from '../../src/state/pendingApprovals.ts';
import type { Caller } from '../../src/tools/caller.ts';
import { createSealer, randomStateKey } from '../../src/server/requestState.ts';
import { createOutOfBandApprovals, type OutOfBandApprovals } from '../../src/tools/outOfBand.ts';

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

describe('approval page across tenants (src/README.md D41)', () => {
  it('shows and decides an approval only for a person of its tenant; to anyone else it does not exist', async () => {
    const store = new InMemoryPendingApprovals();
    const outOfBand = createOutOfBandApprovals({ store, pageUrl: (id) => `/approvals/${id}`, ttlMs: 60_000, record: () => {} });
    const requester: Caller = { subject: 'dev', clientId: 'agent', scopes: ['drafts:publish'], tenant: 'north', expiresAt: 0 };
    const opened = await outOfBand.approver({ mode: 'link', caller: requester }).decide({
      tool: 'publishDraft',
      args: { filename: 'q3.md' },
      form: () => Promise.reject(new Error('no form')),
      page: async () => ({ toolTitle: 'Publish a draft', message: 'Publish?', args: { filename: 'q3.md' }, fixed: {}, bodyTemplate: null, lookup: null }),
      policy: { count: 1, approvers: ['drafts:publish'], link: true },
      correlationId: 'c1',
      signal: new AbortController().signal,
    });
    const { approvalId } = opened as { approvalId: string };
    const keys = [randomStateKey()];
    const sessions = createSealer<PageSession>(keys, 60_000);
    const signIn = { metadataDocument: null, begin: async () => ({ transaction: {}, location: 'https://auth.example/authorize' }) } as unknown as SignIn;
    const app = express().use(approvalPageRoutes({ outOfBand, signIn, sessions, logins: createSealer(keys, 60_000), secure: false }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closers.push(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/approvals/${approvalId}`;
    const as = async (tenant: string | null) => `deputy_approval_session=${await sessions.seal({ subject: 'alice', scopes: ['drafts:publish'], roles: [], tenant, csrf: 'c'.repeat(43) })}`;
    const approve = async (tenant: string | null) =>
      fetch(url, { method: 'POST', headers: { cookie: await as(tenant), 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${'c'.repeat(43)}&decision=approve` });

    for (const other of ['south', null]) {
      const view = await fetch(url, { headers: { cookie: await as(other) } });
      expect(view.status).toBe(404);
      expect(await view.text()).not.toContain('q3.md');
      const decided = await approve(other);
      expect(decided.status).toBe(404);
      expect(await decided.text()).not.toContain('q3.md');
    }
    expect((await store.get(approvalId))?.status).toBe('pending');

    expect((await fetch(url, { headers: { cookie: await as('north') } })).status).toBe(200);
    expect((await approve('north')).status).toBe(200);
    expect((await store.get(approvalId))?.status).toBe('approved');
  });
});
