/** Drafts: listDrafts, getDraft, publishDraft, deleteDraft. */
import { conflict, json, noContent, notFound } from '../reply.ts';
import type { OperationResolvers } from '../pipeline.ts';
import type { Draft, DraftSummary, Post } from '../apiTypes.ts';
import { isReply, paginate } from './pagination.ts';

export const PUBLIC_SITE = 'https://acme-press.example/blog/';

export const toDraftSummary = (d: Draft): DraftSummary => ({
  filename: d.filename,
  title: d.title,
  author: d.author,
  status: d.status,
  wordCount: d.wordCount,
  updatedAt: d.updatedAt,
});

const draftNotFound = (filename: string) => notFound(`draft '${filename}' not found; call listDrafts for valid filenames`);

export const draftOperations = {
  listDrafts({ store, query }) {
    const { status, author, limit, cursor } = query;
    const matching = [...store.drafts.values()].filter((d) => (status === undefined || d.status === status) && (author === undefined || d.author === author));
    // Most recently updated first.
    const page = paginate(matching, (d) => [d.updatedAt, d.filename], [-1, 1], limit, cursor);
    if (isReply(page)) return page;
    return json(200, { items: page.items.map(toDraftSummary), nextCursor: page.nextCursor });
  },

  getDraft({ store, params }) {
    const draft = store.drafts.get(params.filename);
    return draft ? json(200, draft) : draftNotFound(params.filename);
  },

  publishDraft({ store, params, body, now, principal, dryRun }) {
    const filename = params.filename;
    const draft = store.drafts.get(filename);
    if (!draft) return draftNotFound(filename);
    if (draft.status === 'published') return conflict(`draft '${filename}' is already published as ${draft.publishedPostId}`);
    const slug = filename.replace(/\.md$/, '');
    const at = now.toISOString();
    const post: Post = {
      id: store.newId('post_', 10, (id) => store.posts.has(id)),
      slug,
      title: draft.title,
      author: draft.author,
      status: 'live',
      url: `${PUBLIC_SITE}${slug}`,
      sourceDraft: filename,
      publishedAt: at,
    };
    if (dryRun) return { ...json(200, post), headers: { 'Preference-Applied': 'dry-run' } };
    store.posts.set(post.id, post);
    Object.assign(draft, { status: 'published', publishedPostId: post.id, updatedAt: at });
    const notifySubscribers = body?.notifySubscribers ?? false;
    store.events.publications.push({ postId: post.id, filename, notifySubscribers, at, by: principal?.subject ?? 'anonymous' });
    return json(200, post);
  },

  deleteDraft({ store, params }) {
    const filename = params.filename;
    const draft = store.drafts.get(filename);
    if (!draft) return draftNotFound(filename);
    if (draft.status === 'published') return conflict(`draft '${filename}' is published as ${draft.publishedPostId}; unpublish the post first`);
    store.drafts.delete(filename);
    return noContent();
  },
} satisfies OperationResolvers;
