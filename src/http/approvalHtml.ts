/**
 * The approval page's HTML: server-rendered, no script, no third-party asset, one same-origin
 * stylesheet. Every value is escaped, and every value from the action (arguments, looked-up
 * record) passes through `showInvisible` first, so invisible, bidi and separator characters
 * appear as `⟨U+XXXX⟩`; the message arrives already rendered that way (renderApprovalMessage),
 * and a second pass would label its `⟨` again. Long values are folded in `<details>`, never cut.
 */
import type { PendingApproval } from '../state/pendingApprovals.ts';
import { showInvisible } from '../tools/displayText.ts';

const esc = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Escaped, with hidden characters made visible: for anything that came from the action. */
const shown = (value: string): string => esc(showInvisible(value));

/** Values longer than this, or of more lines, are folded (shown in full when opened). */
const FOLD_CHARACTERS = 240;
const FOLD_LINES = 6;

export const STYLESHEET = `body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.35rem}h2{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{width:11rem;background:#f6f6f6;font-weight:600}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font:13px/1.45 ui-monospace,monospace}
summary{cursor:pointer}.len{color:#555;font-size:.85rem}
.status{padding:.5rem .75rem;border-radius:4px;font-weight:600}
.pending{background:#fff4d6}.approved,.executed{background:#dff5e1}.rejected,.expired,.closed{background:#fde2e2}
.notice{background:#e8f0fe;padding:.5rem .75rem}.error{background:#fde2e2;padding:.5rem .75rem;font-weight:600}
.message{font-size:1.05rem;border-left:4px solid #888;padding:.25rem .75rem}
button{margin:1rem .75rem 0 0;padding:.45rem 1.25rem;font-size:1rem}.approve{background:#1a7f37;color:#fff;border:0}.reject{background:#fff;border:1px solid #b42318;color:#b42318}
footer{margin-top:2rem;color:#555;font-size:.85rem}footer form{display:inline}
button.signout{margin:0;padding:0 .25rem;font-size:.85rem;background:none;border:0;color:#0b57d0;text-decoration:underline;cursor:pointer}`;

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${esc(title)}</title><link rel="stylesheet" href="/approvals/style.css"></head>
<body>
${body}
</body></html>
`;
}

export function messagePage(title: string, message: string, kind: 'error' | 'notice' = 'error'): string {
  return htmlPage(title, `<h1>${esc(title)}</h1>\n<p class="${kind}" role="alert">${esc(message)}</p>`);
}

/** A value in full: text as it is, anything else as indented JSON; long ones folded. */
function valueHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? 'null');
  const lines = text.split('\n').length;
  const body = `<pre>${shown(text)}</pre>`;
  if (text.length <= FOLD_CHARACTERS && lines <= FOLD_LINES) return body;
  const preview = showInvisible(text.split('\n')[0]!.slice(0, 80));
  return `<details><summary><span class="preview">${esc(preview)}…</span> <span class="len">(${text.length} characters, ${lines} line${lines === 1 ? '' : 's'}: open to read all of it)</span></summary>${body}</details>`;
}

function table(rows: Record<string, unknown>, empty: string): string {
  const keys = Object.keys(rows).sort();
  if (keys.length === 0) return `<p>${esc(empty)}</p>`;
  return `<table><tbody>\n${keys.map((key) => `<tr><th scope="row">${shown(key)}</th><td>${valueHtml(rows[key])}</td></tr>`).join('\n')}\n</tbody></table>`;
}

const STATUS_TEXT: Record<PendingApproval['status'], string> = {
  pending: 'Waiting for a decision.',
  approved: 'Approved. The agent will carry it out when it calls again.',
  executed: 'Approved and carried out.',
  rejected: 'Rejected. Nothing was done.',
  closed: 'Rejected. Nothing was done.',
  expired: 'Expired before it was decided or used. Nothing was done.',
};

export interface ApprovalPageState {
  record: PendingApproval;
  viewer: string;
  /** Whether the viewer holds one of the approvers' scopes or roles. */
  mayApprove: boolean;
  csrfToken: string;
  /** A line about what just happened (after a decision), or null. */
  notice: { kind: 'notice' | 'error'; text: string } | null;
  now: number;
}

export function approvalPage(state: ApprovalPageState): string {
  const { record } = state;
  const view = record.view;
  const minutes = Math.max(0, Math.round((record.expiresAt - state.now) / 60_000));
  const approvedBy = record.approvals.map((a) => `<strong>${shown(a.subject)}</strong>`).join(', ');
  const decidable = record.status === 'pending' && record.expiresAt > state.now;
  const form = !decidable
    ? ''
    : state.mayApprove
      ? `<form id="decide" method="post" action="/approvals/${esc(record.id)}">
<input type="hidden" name="csrf" value="${esc(state.csrfToken)}">
<button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="reject" type="submit" name="decision" value="reject">Reject</button>
</form>`
      : `<p class="error">You are signed in as ${shown(state.viewer)}, who holds none of the scopes or roles needed to approve this: ${record.approvers.map((a) => `<code>${shown(a)}</code>`).join(', ')}.</p>`;
  const body = `<h1>Approve: ${shown(view.toolTitle)}</h1>
${state.notice ? `<p class="${state.notice.kind}" role="alert">${esc(state.notice.text)}</p>\n` : ''}<p class="status ${record.status}" id="status">${esc(STATUS_TEXT[record.status])}</p>
<p class="message">${esc(view.message)}</p>
<table><tbody>
<tr><th scope="row">Tool</th><td><code>${shown(record.tool)}</code></td></tr>
<tr><th scope="row">Asked by</th><td>an AI agent for <strong>${shown(record.subject)}</strong>, through the client <code>${shown(record.clientId)}</code></td></tr>
<tr><th scope="row">Approvals</th><td>${record.approvals.length} of ${record.required}${approvedBy ? ` (${approvedBy})` : ''}${record.required > 1 ? '; each approver must be a different person, and the one who asked cannot be the last' : ''}</td></tr>
${record.rejection ? `<tr><th scope="row">Rejected by</th><td><strong>${shown(record.rejection.subject)}</strong></td></tr>\n` : ''}<tr><th scope="row">Expires</th><td>${esc(new Date(record.expiresAt).toISOString())}${decidable ? ` (in about ${minutes} minute${minutes === 1 ? '' : 's'})` : ''}</td></tr>
<tr><th scope="row">Correlation id</th><td><code>${esc(record.correlationId)}</code></td></tr>
</tbody></table>
<h2>Arguments the call sends</h2>
${table(view.args, 'None.')}
<h2>Always sent by Deputy</h2>
${table(view.fixed, 'Nothing besides the arguments.')}
${view.bodyTemplate !== null ? `<h2>Body built by Deputy</h2>\n${valueHtml(view.bodyTemplate)}\n` : ''}${view.lookup !== null ? `<h2>The record as the backend has it now</h2>\n${table(view.lookup, 'The lookup found nothing to show.')}\n` : ''}${form}
<footer><form id="sign-out" method="post" action="/approvals/${esc(record.id)}/sign-out"><input type="hidden" name="csrf" value="${esc(state.csrfToken)}">Signed in as ${shown(state.viewer)}. <button class="signout" type="submit">Sign out</button></form>
Invisible and direction-changing characters are shown as ⟨U+XXXX⟩.</footer>`;
  return htmlPage(`Approve: ${view.toolTitle}`, body);
}
