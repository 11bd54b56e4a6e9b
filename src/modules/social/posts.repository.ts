import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import { fromDbBool } from '../../db/time.ts';
import type { ModelCardRow } from '../models/models.repository.ts';
import type { Cursor } from './cursor.ts';

export interface SharedSessionRow {
  id: number;
  modelId: number | null;
  startedAt: string;
  endedAt: string | null;
  totalPredictions: number;
  anomalyCount: number;
  finalAnalysis: string | null;
}

/** A shared model's card, as the models module reads it. */
export type SharedModelRow = ModelCardRow;

export interface PostRow {
  id: number;
  userId: number;
  username: string;
  content: string;
  sessionId: number | null;
  modelId: number | null;
  createdAt: string;
  updatedAt: string;
  likeCount: number;
  commentCount: number;
  likedByMe: boolean;
  session: SharedSessionRow | null;
  model: SharedModelRow | null;
}

export interface CommentRow {
  id: number;
  postId: number;
  userId: number;
  username: string;
  content: string;
  createdAt: string;
}

/** Which posts a page lists: everyone's, one author's, or a viewer's feed (followed authors and their own). */
export type PostScope =
  { kind: 'all' } | { kind: 'author'; userId: number } | { kind: 'feed'; userId: number };

type PostsEb = ExpressionBuilder<DB, 'posts'>;

/** Newest first: strictly after `c` in (created_at desc, id desc) order. */
const beforeCursor = (eb: PostsEb, c: Cursor) =>
  eb.or([
    eb('posts.created_at', '<', c.at),
    eb.and([eb('posts.created_at', '=', c.at), eb('posts.id', '<', c.id)]),
  ]);

export function createPostsRepository(db: Kysely<DB>) {
  function selectPosts(viewerId: number | null) {
    return db
      .selectFrom('posts')
      .innerJoin('users', 'users.id', 'posts.user_id')
      .leftJoin('detection_sessions as s', 's.id', 'posts.session_id')
      .leftJoin('ml_models as m', 'm.id', 'posts.model_id')
      .select((eb) => [
        'posts.id',
        'posts.user_id',
        'users.username',
        'posts.content',
        'posts.session_id',
        'posts.model_id',
        'posts.created_at',
        'posts.updated_at',
        eb
          .selectFrom('likes')
          .select(eb.fn.countAll().as('n'))
          .whereRef('likes.post_id', '=', 'posts.id')
          .as('like_count'),
        eb
          .selectFrom('comments')
          .select(eb.fn.countAll().as('n'))
          .whereRef('comments.post_id', '=', 'posts.id')
          .as('comment_count'),
        viewerId === null
          ? sql<number>`0`.as('liked_by_me')
          : eb
              .exists(
                eb
                  .selectFrom('likes')
                  .select('likes.user_id')
                  .whereRef('likes.post_id', '=', 'posts.id')
                  .where('likes.user_id', '=', viewerId),
              )
              .as('liked_by_me'),
        's.id as s_id',
        's.model_id as s_model_id',
        's.started_at as s_started_at',
        's.ended_at as s_ended_at',
        's.total_predictions as s_total_predictions',
        's.anomaly_count as s_anomaly_count',
        's.final_analysis as s_final_analysis',
        'm.id as m_id',
        'm.name as m_name',
        'm.material_type as m_material_type',
        'm.is_preset as m_is_preset',
        'm.accuracy as m_accuracy',
        'm.description as m_description',
        'm.created_at as m_created_at',
      ]);
  }
  type Selected = Awaited<ReturnType<ReturnType<typeof selectPosts>['execute']>>[number];

  function toPost(r: Selected): PostRow {
    return {
      id: r.id,
      userId: r.user_id,
      username: r.username,
      content: r.content,
      sessionId: r.session_id,
      modelId: r.model_id,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      likeCount: Number(r.like_count ?? 0),
      commentCount: Number(r.comment_count ?? 0),
      likedByMe: Number(r.liked_by_me) === 1,
      session:
        r.s_id === null
          ? null
          : {
              id: r.s_id,
              modelId: r.s_model_id,
              startedAt: r.s_started_at!,
              endedAt: r.s_ended_at,
              totalPredictions: Number(r.s_total_predictions ?? 0),
              anomalyCount: Number(r.s_anomaly_count ?? 0),
              finalAnalysis: r.s_final_analysis,
            },
      model:
        r.m_id === null
          ? null
          : {
              id: r.m_id,
              name: r.m_name!,
              materialType: r.m_material_type!,
              isPreset: fromDbBool(r.m_is_preset),
              accuracy: r.m_accuracy,
              description: r.m_description,
              createdAt: r.m_created_at!,
            },
    };
  }

  return {
    async insert(p: {
      userId: number;
      content: string;
      sessionId: number | null;
      modelId: number | null;
      now: string;
    }): Promise<number> {
      const res = await db
        .insertInto('posts')
        .values({
          user_id: p.userId,
          content: p.content,
          session_id: p.sessionId,
          model_id: p.modelId,
          created_at: p.now,
          updated_at: p.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async findById(id: number, viewerId: number | null): Promise<PostRow | undefined> {
      const r = await selectPosts(viewerId).where('posts.id', '=', id).executeTakeFirst();
      return r && toPost(r);
    },

    async findAuthorId(id: number): Promise<number | undefined> {
      const r = await db.selectFrom('posts').select('user_id').where('id', '=', id).executeTakeFirst();
      return r?.user_id;
    },

    /** Up to `limit` posts of the scope, newest first, after the cursor. */
    async list(
      scope: PostScope,
      viewerId: number | null,
      limit: number,
      cursor?: Cursor,
    ): Promise<PostRow[]> {
      let q = selectPosts(viewerId);
      if (scope.kind === 'author') q = q.where('posts.user_id', '=', scope.userId);
      if (scope.kind === 'feed') {
        const me = scope.userId;
        q = q.where((eb) =>
          eb.or([
            eb('posts.user_id', '=', me),
            eb(
              'posts.user_id',
              'in',
              eb.selectFrom('follows').select('follows.followed_id').where('follows.follower_id', '=', me),
            ),
          ]),
        );
      }
      if (cursor) q = q.where((eb) => beforeCursor(eb, cursor));
      const rows = await q
        .orderBy('posts.created_at', 'desc')
        .orderBy('posts.id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toPost);
    },

    async update(
      id: number,
      patch: Partial<{ content: string; sessionId: number | null; modelId: number | null }>,
      now: string,
    ): Promise<void> {
      await db
        .updateTable('posts')
        .set({
          ...(patch.content !== undefined && { content: patch.content }),
          ...(patch.sessionId !== undefined && { session_id: patch.sessionId }),
          ...(patch.modelId !== undefined && { model_id: patch.modelId }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },

    async delete(id: number): Promise<boolean> {
      const r = await db.deleteFrom('posts').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    /** Idempotent: liking twice keeps one like. */
    async like(postId: number, userId: number, now: string): Promise<void> {
      await db
        .insertInto('likes')
        .orIgnore()
        .values({ post_id: postId, user_id: userId, created_at: now })
        .execute();
    },

    async unlike(postId: number, userId: number): Promise<void> {
      await db.deleteFrom('likes').where('post_id', '=', postId).where('user_id', '=', userId).execute();
    },

    async likeCount(postId: number): Promise<number> {
      const r = await db
        .selectFrom('likes')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('post_id', '=', postId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    async insertComment(c: {
      postId: number;
      userId: number;
      content: string;
      now: string;
    }): Promise<number> {
      const res = await db
        .insertInto('comments')
        .values({ post_id: c.postId, user_id: c.userId, content: c.content, created_at: c.now })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async findComment(id: number): Promise<CommentRow | undefined> {
      const r = await db
        .selectFrom('comments')
        .innerJoin('users', 'users.id', 'comments.user_id')
        .select([
          'comments.id',
          'comments.post_id',
          'comments.user_id',
          'users.username',
          'comments.content',
          'comments.created_at',
        ])
        .where('comments.id', '=', id)
        .executeTakeFirst();
      return r && toComment(r);
    },

    /** Up to `limit` comments of a post, oldest first, after the cursor. */
    async listComments(postId: number, limit: number, cursor?: Cursor): Promise<CommentRow[]> {
      let q = db
        .selectFrom('comments')
        .innerJoin('users', 'users.id', 'comments.user_id')
        .select([
          'comments.id',
          'comments.post_id',
          'comments.user_id',
          'users.username',
          'comments.content',
          'comments.created_at',
        ])
        .where('comments.post_id', '=', postId);
      if (cursor) {
        q = q.where((eb) =>
          eb.or([
            eb('comments.created_at', '>', cursor.at),
            eb.and([eb('comments.created_at', '=', cursor.at), eb('comments.id', '>', cursor.id)]),
          ]),
        );
      }
      const rows = await q
        .orderBy('comments.created_at', 'asc')
        .orderBy('comments.id', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toComment);
    },

    async deleteComment(id: number): Promise<void> {
      await db.deleteFrom('comments').where('id', '=', id).execute();
    },
  };
}

function toComment(r: {
  id: number;
  post_id: number;
  user_id: number;
  username: string;
  content: string;
  created_at: string;
}): CommentRow {
  return {
    id: r.id,
    postId: r.post_id,
    userId: r.user_id,
    username: r.username,
    content: r.content,
    createdAt: r.created_at,
  };
}

export type PostsRepository = ReturnType<typeof createPostsRepository>;
