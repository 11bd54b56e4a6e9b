import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { AppBus } from '../../events.ts';
import { toCard } from '../models/models.service.ts';
import type { UsersRepository } from '../users/users.repository.ts';
import { decodeCursor, pageSize, toPage } from './cursor.ts';
import type {
  PostRow,
  PostScope,
  PostsRepository,
  SharedModelRow,
  SharedSessionRow,
  CommentRow,
} from './posts.repository.ts';
import type { SharesRepository } from './shares.repository.ts';
import {
  COMMENT_MAX_CHARS,
  POST_MAX_CHARS,
  type CommentView,
  type ModelCardView,
  type PostView,
  type SessionSummary,
} from './social.schemas.ts';

export interface PageInput {
  limit?: number;
  cursor?: string;
}

export interface PostsServiceDeps {
  posts: PostsRepository;
  shares: SharesRepository;
  users: UsersRepository;
  bus: AppBus;
  clock: Clock;
}

/** Trims and checks text the way the HTTP schema does, so every caller (HTTP, sockets, CLI) gets the same rule. */
function plainText(raw: string, max: number, field: string): string {
  const text = raw.trim();
  const length = [...text].length;
  if (length === 0 || length > max) {
    throw new AppError('validation-failed', `${field} must be 1–${max} characters after trimming.`, {
      details: [
        { path: `/${field}`, message: `must be 1–${max} characters after trimming`, keyword: 'length' },
      ],
    });
  }
  return text;
}

/** Shared models are shown as the models module's card. */
export const toModelCardView: (m: SharedModelRow) => ModelCardView = toCard;

const asInt = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
const asNum = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The session's stored `final_analysis`, completed from the session's counters where a field is missing. */
export function toSessionSummary(s: SharedSessionRow): SessionSummary {
  let stored: Record<string, unknown> = {};
  try {
    const parsed: unknown = s.finalAnalysis ? JSON.parse(s.finalAnalysis) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      stored = parsed as Record<string, unknown>;
  } catch {
    // A malformed summary is rebuilt from the counters below.
  }
  const total = asInt(stored.total_predictions) ?? s.totalPredictions;
  const anomalies = asInt(stored.anomaly_count) ?? s.anomalyCount;
  const percentage =
    asNum(stored.anomaly_percentage) ?? (total > 0 ? Math.round((1000 * anomalies) / total) / 10 : 0);
  return {
    id: s.id,
    model_id: s.modelId,
    started_at: fromDbTime(s.startedAt),
    ended_at: s.endedAt === null ? null : fromDbTime(s.endedAt),
    final_analysis: {
      is_anomalous: typeof stored.is_anomalous === 'boolean' ? stored.is_anomalous : anomalies > 0,
      summary:
        typeof stored.summary === 'string'
          ? stored.summary
          : `${anomalies} of ${total} readings were anomalous (${percentage}%).`,
      total_predictions: total,
      anomaly_count: anomalies,
      anomaly_percentage: percentage,
      confidence: asNum(stored.confidence) ?? 0,
    },
  };
}

export function toPostView(p: PostRow): PostView {
  return {
    id: p.id,
    content: p.content,
    author: { id: p.userId, username: p.username },
    created_at: fromDbTime(p.createdAt),
    updated_at: fromDbTime(p.updatedAt),
    like_count: p.likeCount,
    liked_by_me: p.likedByMe,
    comment_count: p.commentCount,
    session_id: p.sessionId,
    model_id: p.modelId,
    session: p.session && toSessionSummary(p.session),
    model: p.model && toModelCardView(p.model),
  };
}

export function toCommentView(c: CommentRow): CommentView {
  return {
    id: c.id,
    post_id: c.postId,
    author: { id: c.userId, username: c.username },
    content: c.content,
    created_at: fromDbTime(c.createdAt),
  };
}

const postKey = (p: PostRow) => ({ at: p.createdAt, id: p.id });

export function createPostsService(deps: PostsServiceDeps) {
  const { posts, shares, users, bus, clock } = deps;
  const now = () => toDbTime(clock.now());

  /** Only the owner's own finished session may be shared. */
  async function checkSession(userId: number, sessionId: number): Promise<void> {
    const s = await shares.findSession(sessionId);
    if (!s) throw new AppError('session-not-found');
    if (s.userId !== userId)
      throw new AppError('not-owner', 'You can only share your own detection sessions.');
    if (s.endedAt === null) throw new AppError('session-not-finished');
  }

  /** Presets, or the owner's own models (private ones too: a post shows the card, never the artifact). */
  async function checkModel(userId: number, modelId: number): Promise<void> {
    const m = await shares.findModel(modelId);
    if (!m) throw new AppError('model-not-found');
    if (!m.isPreset && m.userId !== userId)
      throw new AppError('not-owner', 'You can only share your own models or presets.');
  }

  async function requirePost(id: number, viewerId: number | null): Promise<PostRow> {
    const p = await posts.findById(id, viewerId);
    if (!p) throw new AppError('post-not-found');
    return p;
  }

  async function requireOwnPost(userId: number, id: number): Promise<void> {
    const authorId = await posts.findAuthorId(id);
    if (authorId === undefined) throw new AppError('post-not-found');
    if (authorId !== userId)
      throw new AppError('not-owner', 'Only the author can change or delete this post.');
  }

  async function requirePostExists(id: number): Promise<void> {
    if ((await posts.findAuthorId(id)) === undefined) throw new AppError('post-not-found');
  }

  async function page(scope: PostScope, viewerId: number | null, input: PageInput) {
    const cursor = decodeCursor(input.cursor);
    const limit = pageSize(input.limit);
    const rows = await posts.list(scope, viewerId, limit + 1, cursor);
    const { items, next_cursor } = toPage(rows, limit, postKey, toPostView);
    return { posts: items, next_cursor };
  }

  return {
    async create(
      userId: number,
      input: { content: string; session_id?: number; model_id?: number },
    ): Promise<PostView> {
      const content = plainText(input.content, POST_MAX_CHARS, 'content');
      if (input.session_id !== undefined) await checkSession(userId, input.session_id);
      if (input.model_id !== undefined) await checkModel(userId, input.model_id);
      const id = await posts.insert({
        userId,
        content,
        sessionId: input.session_id ?? null,
        modelId: input.model_id ?? null,
        now: now(),
      });
      const post = toPostView(await requirePost(id, userId));
      bus.emit('post.created', { postId: id, authorId: userId, post });
      return post;
    },

    async get(id: number, viewerId: number | null): Promise<PostView> {
      return toPostView(await requirePost(id, viewerId));
    },

    /** Everyone's posts, newest first. */
    list: (viewerId: number | null, input: PageInput) => page({ kind: 'all' }, viewerId, input),

    /** Posts by the people `userId` follows and by `userId`, newest first. */
    feed: (userId: number, input: PageInput) => page({ kind: 'feed', userId }, userId, input),

    async listByUsername(username: string, viewerId: number | null, input: PageInput) {
      const user = await users.findByUsername(username);
      if (!user) throw new AppError('user-not-found');
      return page({ kind: 'author', userId: user.id }, viewerId, input);
    },

    async update(
      userId: number,
      id: number,
      patch: { content?: string; session_id?: number | null; model_id?: number | null },
    ): Promise<PostView> {
      await requireOwnPost(userId, id);
      const content =
        patch.content === undefined ? undefined : plainText(patch.content, POST_MAX_CHARS, 'content');
      if (patch.session_id != null) await checkSession(userId, patch.session_id);
      if (patch.model_id != null) await checkModel(userId, patch.model_id);
      await posts.update(id, { content, sessionId: patch.session_id, modelId: patch.model_id }, now());
      return toPostView(await requirePost(id, userId));
    },

    async remove(userId: number, id: number): Promise<void> {
      await requireOwnPost(userId, id);
      await posts.delete(id);
    },

    async like(userId: number, id: number) {
      await requirePostExists(id);
      await posts.like(id, userId, now());
      return { post_id: id, liked: true, like_count: await posts.likeCount(id) };
    },

    async unlike(userId: number, id: number) {
      await requirePostExists(id);
      await posts.unlike(id, userId);
      return { post_id: id, liked: false, like_count: await posts.likeCount(id) };
    },

    /** A post's comments, oldest first. */
    async comments(postId: number, input: PageInput) {
      const cursor = decodeCursor(input.cursor);
      const limit = pageSize(input.limit);
      await requirePostExists(postId);
      const rows = await posts.listComments(postId, limit + 1, cursor);
      const { items, next_cursor } = toPage(
        rows,
        limit,
        (c) => ({ at: c.createdAt, id: c.id }),
        toCommentView,
      );
      return { comments: items, next_cursor };
    },

    async addComment(userId: number, postId: number, rawContent: string): Promise<CommentView> {
      const content = plainText(rawContent, COMMENT_MAX_CHARS, 'content');
      await requirePostExists(postId);
      const id = await posts.insertComment({ postId, userId, content, now: now() });
      const c = await posts.findComment(id);
      if (!c) throw new AppError('comment-not-found');
      return toCommentView(c);
    },

    /** Authors delete their own comments only. */
    async removeComment(userId: number, postId: number, commentId: number): Promise<void> {
      await requirePostExists(postId);
      const c = await posts.findComment(commentId);
      if (!c || c.postId !== postId) throw new AppError('comment-not-found');
      if (c.userId !== userId) throw new AppError('not-owner', 'Only its author can delete this comment.');
      await posts.deleteComment(commentId);
    },
  };
}

export type PostsService = ReturnType<typeof createPostsService>;
