/**
 * Deputy's approval page (src/README.md, "Approval out of band"):
 *
 *   GET  /approvals/<id>                 the whole action, for a signed-in person; else off to sign in
 *   POST /approvals/<id>                 approve or reject (CSRF token, same-origin, signed in)
 *   POST /approvals/<id>/sign-out        forget the session, so another person can sign in here
 *   GET  /approvals/callback             back from the authorization server (code + PKCE)
 *   GET  /approvals/style.css            the page's one stylesheet
 *   GET  /approvals/oauth-client.json    Deputy's Client ID Metadata Document (when it names itself by URL)
 *
 * No state of its own: the sign-in transaction and the signed-in session are sealed cookies
 * (the keys of DEPUTY_STATE_KEYS), `HttpOnly`, `SameSite=Strict`, `Secure` on https, scoped to
 * /approvals. The pending approvals live in the store behind outOfBand.ts.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Sealer } from '../server/requestState.ts';
import { mayApprove, sameTenant } from '../tools/approvalPolicy.ts';
import { decisionRefusals, type OutOfBandApprovals } from '../tools/outOfBand.ts';
import { approvalPage, messagePage, STYLESHEET } from './approvalHtml.ts';
import { CLIENT_METADATA_PATH, type LoginTransaction, type PageIdentity, type SignIn } from './approvalSignIn.ts';

/** The signed-in person, sealed into the session cookie with the CSRF token of their forms. */
export interface PageSession extends PageIdentity {
  csrf: string;
}

export interface ApprovalPageOptions {
  outOfBand: OutOfBandApprovals;
  signIn: SignIn;
  sessions: Sealer<PageSession>;
  logins: Sealer<LoginTransaction>;
  /** Cookies get `Secure` when the public URL is https. */
  secure: boolean;
  /** Hears of a request the page could not serve (the store of approvals failed); the person sees a 503 page. */
  onError?: (error: unknown) => void;
  now?: () => number;
}

const SESSION_COOKIE = 'deputy_approval_session';
const LOGIN_COOKIE = 'deputy_approval_login';
/** Approval ids are 128 random bits, base64url: anything else is refused before any lookup. */
const APPROVAL_ID = /^[A-Za-z0-9_-]{22}$/;

const PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  // No script at all, styles only from this origin, forms only to it, never framed.
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Never sent to another origin (the URL names the approval); same-origin keeps the Origin header
  // of the page's own form posts, which no-referrer would turn into `null` (refused by originGuard).
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function cookiesOf(req: Request): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) jar.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return jar;
}

export function approvalPageRoutes(options: ApprovalPageOptions): Router {
  const { outOfBand, signIn } = options;
  const now = options.now ?? Date.now;
  const router = express.Router();

  const cookie = (res: Response, name: string, value: string, maxAgeMs: number) =>
    res.cookie(name, value, { httpOnly: true, sameSite: 'strict', secure: options.secure, path: '/approvals', maxAge: maxAgeMs });
  const send = (res: Response, status: number, html: string) => res.status(status).set(PAGE_HEADERS).send(html);

  async function sessionOf(req: Request): Promise<PageSession | null> {
    const sealed = cookiesOf(req).get(SESSION_COOKIE);
    if (!sealed) return null;
    return options.sessions.open(sealed).catch(() => null);
  }

  router.get('/approvals/style.css', (_req, res) => {
    res.set({ 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=3600', 'X-Content-Type-Options': 'nosniff' }).send(STYLESHEET);
  });

  if (signIn.metadataDocument) {
    const document = signIn.metadataDocument;
    router.get(CLIENT_METADATA_PATH, (_req, res) => {
      res.set('Cache-Control', 'max-age=300').json(document);
    });
  }

  router.get('/approvals/callback', async (req, res) => {
    const code = typeof req.query.code === 'string' ? req.query.code : null;
    const state = typeof req.query.state === 'string' ? req.query.state : null;
    const sealed = cookiesOf(req).get(LOGIN_COOKIE);
    if (!sealed && req.query.hop === undefined && code && state) {
      // Coming back from an authorization server on another site, the browser withholds
      // SameSite=Strict cookies; a same-origin reload of this URL carries them.
      const again = new URL(req.originalUrl, 'http://deputy.invalid');
      again.searchParams.set('hop', '1');
      const target = `${again.pathname}${again.search}`.replace(/"/g, '%22');
      send(res, 200, messagePage('Signing you in', 'Finishing the sign-in…', 'notice').replace('</head>', `<meta http-equiv="refresh" content="0;url=${target.replace(/&/g, '&amp;')}"></head>`));
      return;
    }
    const transaction = sealed ? await options.logins.open(sealed).catch(() => null) : null;
    res.clearCookie(LOGIN_COOKIE, { path: '/approvals' });
    if (!transaction || !code || !state || !equal(state, transaction.state)) {
      send(res, 400, messagePage('Sign-in failed', 'This sign-in did not start here, or took too long. Open the approval link again to sign in.'));
      return;
    }
    const identity = await signIn.finish(transaction, code).catch(() => null);
    if (!identity) {
      send(res, 401, messagePage('Sign-in failed', 'The authorization server did not confirm who you are. Open the approval link again to sign in.'));
      return;
    }
    const session: PageSession = { ...identity, csrf: randomBytes(32).toString('base64url') };
    cookie(res, SESSION_COOKIE, await options.sessions.seal(session), options.sessions.ttlMs);
    res.redirect(303, `/approvals/${transaction.approvalId}`);
  });

  router.get('/approvals/:id', async (req, res) => {
    const id = req.params.id;
    if (!APPROVAL_ID.test(id)) {
      send(res, 404, messagePage('No such approval', decisionRefusals.unknown));
      return;
    }
    const session = await sessionOf(req);
    if (!session) {
      // Sign in first; the scopes asked for are those that may approve this one, when it exists.
      const record = await outOfBand.get(id);
      try {
        const { transaction, location } = await signIn.begin(id, record?.approvers ?? []);
        cookie(res, LOGIN_COOKIE, await options.logins.seal(transaction), options.logins.ttlMs);
        res.redirect(303, location);
      } catch {
        send(res, 503, messagePage('Sign-in unavailable', 'The authorization server cannot be reached right now. Try again in a minute.'));
      }
      return;
    }
    const found = await outOfBand.get(id);
    // Another tenant's approval is not shown, as if it did not exist (src/README.md D41).
    const record = found && sameTenant(found, session) ? found : undefined;
    if (!record) {
      send(res, 404, messagePage('No such approval', decisionRefusals.unknown));
      return;
    }
    outOfBand.viewed(record, session.subject);
    send(res, 200, approvalPage({ record, viewer: session.subject, mayApprove: mayApprove(session, record.approvers), csrfToken: session.csrf, notice: null, now: now() }));
  });

  router.post('/approvals/:id/sign-out', express.urlencoded({ extended: false, limit: '1kb' }), async (req, res) => {
    const session = await sessionOf(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    // A forged sign-out is a nuisance, not harmless: it needs the token too.
    if (session && (typeof body.csrf !== 'string' || !equal(body.csrf, session.csrf))) {
      send(res, 403, messagePage('Form refused', 'This form was not sent from the approval page. You are still signed in.'));
      return;
    }
    res.clearCookie(SESSION_COOKIE, { path: '/approvals' });
    send(res, 200, messagePage('Signed out', 'You are signed out. Open the approval link again to sign in, as yourself or as someone else.', 'notice'));
  });

  router.post('/approvals/:id', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const id = req.params.id;
    const session = await sessionOf(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!session) {
      send(res, 401, messagePage('Not signed in', 'Your sign-in has expired or is missing. Open the approval link again to sign in; nothing was decided.'));
      return;
    }
    if (typeof body.csrf !== 'string' || !equal(body.csrf, session.csrf)) {
      send(res, 403, messagePage('Form refused', 'This form was not sent from the approval page (its security token is missing or wrong). Nothing was decided; reload the page and decide again.'));
      return;
    }
    if (!APPROVAL_ID.test(id) || (body.decision !== 'approve' && body.decision !== 'reject')) {
      send(res, 400, messagePage('Form refused', 'The form is incomplete. Nothing was decided.'));
      return;
    }
    const approve = body.decision === 'approve';
    const result = await outOfBand.decide(id, session, approve);
    const found = result.record ?? (await outOfBand.get(id));
    const record = found && sameTenant(found, session) ? found : undefined;
    if (!record) {
      send(res, 404, messagePage('No such approval', decisionRefusals.unknown));
      return;
    }
    const notice = result.ok
      ? { kind: 'notice' as const, text: approve ? (result.record.status === 'approved' ? 'You approved it.' : 'You approved it; another person must approve it too.') : 'You rejected it.' }
      : { kind: 'error' as const, text: decisionRefusals[result.reason] };
    send(res, result.ok ? 200 : 409, approvalPage({ record, viewer: session.subject, mayApprove: mayApprove(session, record.approvers), csrfToken: session.csrf, notice, now: now() }));
  });

  // The store of approvals (or sign-in) failed: a page that says so and that nothing was decided, never a stack trace.
  router.use((error: unknown, _req: Request, res: Response, next: (error: unknown) => void) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    options.onError?.(error);
    send(res, 503, messagePage('Approvals unavailable', 'Deputy cannot reach its store of approvals right now. Nothing was decided; try again in a minute.'));
  });

  return router;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
