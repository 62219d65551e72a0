/** Posts: listPosts, unpublishPost. */
import { conflict, json, notFound } from '../reply.ts';
import type { OperationResolvers } from '../pipeline.ts';
import { isReply, paginate } from './pagination.ts';

export const postOperations = {
  listPosts({ store, query }) {
    const { author, limit, cursor } = query;
    const live = [...store.posts.values()].filter((p) => p.status === 'live' && (author === undefined || p.author === author));
    // Most recently published first.
    const page = paginate(live, (p) => [p.publishedAt, p.id], [-1, 1], limit, cursor);
    if (isReply(page)) return page;
    return json(200, page);
  },

  unpublishPost({ store, params, body, now, principal }) {
    const postId = params.postId;
    const post = store.posts.get(postId);
    if (!post) return notFound(`post '${postId}' not found; call listPosts for live posts`);
    if (post.status === 'unpublished') return conflict(`post '${postId}' is already unpublished`);
    const at = now.toISOString();
    post.status = 'unpublished';
    const draft = store.drafts.get(post.sourceDraft);
    if (draft && draft.publishedPostId === post.id) Object.assign(draft, { status: 'draft', publishedPostId: null, updatedAt: at });
    store.events.unpublications.push({ postId, reason: body.reason, at, by: principal?.subject ?? 'anonymous' });
    return json(200, post);
  },
} satisfies OperationResolvers;
