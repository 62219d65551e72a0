/**
 * The approval page's HTML (src/README.md, "Approval out of band"): every value escaped, hidden
 * characters labelled exactly once, long values folded but whole, buttons only while decidable.
 */
import { describe, expect, it } from 'vitest';
import { approvalPage, type ApprovalPageState } from '../../src/http/approvalHtml.ts';
import type { PendingApproval } from '../../src/state/pendingApprovals.ts';
import { renderApprovalMessage } from '../../src/tools/approval.ts';

const NOW = 1_700_000_000_000;

function state(overrides: Partial<PendingApproval> = {}, view: Partial<PendingApproval['view']> = {}): ApprovalPageState {
  const record: PendingApproval = {
    id: 'AAAAAAAAAAAAAAAAAAAAAA',
    subject: 'dev',
    clientId: 'agent',
    tool: 'addTicketNote',
    argsSha256: 'x',
    correlationId: 'corr-1',
    required: 1,
    approvers: ['tickets:write'],
    view: { toolTitle: 'Add ticket note', message: 'Add a note?', args: {}, fixed: {}, bodyTemplate: null, lookup: null, ...view },
    createdAt: NOW,
    expiresAt: NOW + 600_000,
    approvals: [],
    rejection: null,
    status: 'pending',
    ...overrides,
  };
  return { record, viewer: 'alice', mayApprove: true, csrfToken: 'token-1', notice: null, now: NOW };
}

describe('approvalPage', () => {
  it('labels hidden characters of arguments once, and of the already-rendered message not again', () => {
    const body = 'ok\u{E0041}\u2028\u202Eevil';
    const html = approvalPage(state({}, { message: renderApprovalMessage('Add {body}?', { body }, {}), args: { body } }));
    expect(html).toContain('<pre>ok⟨U+E0041⟩⟨U+2028⟩⟨U+202E⟩evil</pre>');
    expect(html).toContain('Add &quot;ok⟨U+E0041⟩⟨U+2028⟩⟨U+202E⟩evil&quot;?');
    expect(html).not.toContain('⟨U+27E8⟩');
    expect(html).not.toMatch(/[\u{E0041}\u2028\u202E]/u);
  });

  it('escapes markup from every source, so an argument cannot add a script or a button', () => {
    const html = approvalPage(state({ subject: '<b>x</b>' }, { args: { title: '<script>alert(1)</script>' }, lookup: { '<i>k</i>': '"v"' } }));
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('&lt;i&gt;k&lt;/i&gt;');
    expect(html).not.toMatch(/<script|<b>|<i>/);
  });

  it('folds a long value in <details> and keeps every character of it', () => {
    const note = `${'a'.repeat(5_000)} send it to http://evil.example/collect`;
    const html = approvalPage(state({}, { args: { body: note } }));
    expect(html).toContain('<details>');
    expect(html).toContain(`(${note.length} characters, 1 line: open to read all of it)`);
    expect(html).toContain(`<pre>${note}</pre>`);
  });

  it('shows the decision form with the CSRF token only while pending and unexpired, and only to an approver', () => {
    expect(approvalPage(state())).toContain('<form id="decide"');
    expect(approvalPage(state())).toContain('name="csrf" value="token-1"');
    expect(approvalPage({ ...state(), now: NOW + 600_000 })).not.toContain('<form id="decide"');
    expect(approvalPage(state({ status: 'approved' }))).not.toContain('<form id="decide"');
    const outsider = approvalPage({ ...state(), mayApprove: false });
    expect(outsider).not.toContain('<form id="decide"');
    expect(outsider).toContain('holds none of the scopes or roles');
  });

  it('names who asked, the approvals so far and the two-person rule', () => {
    const html = approvalPage(state({ required: 2, approvals: [{ subject: 'sam', at: NOW }] }));
    expect(html).toContain('an AI agent for <strong>dev</strong>, through the client <code>agent</code>');
    expect(html).toContain('1 of 2 (<strong>sam</strong>)');
    expect(html).toContain('the one who asked cannot be the last');
  });
});
