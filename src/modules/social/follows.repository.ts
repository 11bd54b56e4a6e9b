import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import type { Cursor } from './cursor.ts';

export interface FollowListRow {
  id: number;
  username: string;
  displayName: string | null;
  followedAt: string;
}

export interface ProfileCounts {
  followers: number;
  following: number;
  posts: number;
  publicModels: number;
}

export function createFollowsRepository(db: Kysely<DB>) {
  /** Users on the other side of `userId`'s follows, newest follow first, after the cursor. */
  async function list(direction: 'followers' | 'following', userId: number, limit: number, cursor?: Cursor) {
    const [mine, other] =
      direction === 'followers'
        ? (['followed_id', 'follower_id'] as const)
        : (['follower_id', 'followed_id'] as const);
    let q = db
      .selectFrom('follows')
      .innerJoin('users', 'users.id', `follows.${other}`)
      .select(['users.id', 'users.username', 'users.display_name', 'follows.created_at'])
      .where(`follows.${mine}`, '=', userId);
    if (cursor) {
      q = q.where((eb) =>
        eb.or([
          eb('follows.created_at', '<', cursor.at),
          eb.and([eb('follows.created_at', '=', cursor.at), eb(`follows.${other}`, '<', cursor.id)]),
        ]),
      );
    }
    const rows = await q
      .orderBy('follows.created_at', 'desc')
      .orderBy(`follows.${other}`, 'desc')
      .limit(limit)
      .execute();
    return rows.map((r): FollowListRow => ({
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      followedAt: r.created_at,
    }));
  }

  return {
    /** Idempotent: following twice keeps the first follow (and its date). */
    async follow(followerId: number, followedId: number, now: string): Promise<void> {
      await db
        .insertInto('follows')
        .orIgnore()
        .values({ follower_id: followerId, followed_id: followedId, created_at: now })
        .execute();
    },

    async unfollow(followerId: number, followedId: number): Promise<void> {
      await db
        .deleteFrom('follows')
        .where('follower_id', '=', followerId)
        .where('followed_id', '=', followedId)
        .execute();
    },

    async isFollowing(followerId: number, followedId: number): Promise<boolean> {
      const r = await db
        .selectFrom('follows')
        .select('follower_id')
        .where('follower_id', '=', followerId)
        .where('followed_id', '=', followedId)
        .executeTakeFirst();
      return r !== undefined;
    },

    async followerCount(userId: number): Promise<number> {
      const r = await db
        .selectFrom('follows')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('followed_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    async followerIds(userId: number): Promise<number[]> {
      const rows = await db
        .selectFrom('follows')
        .select('follower_id')
        .where('followed_id', '=', userId)
        .execute();
      return rows.map((r) => r.follower_id);
    },

    followers: (userId: number, limit: number, cursor?: Cursor) => list('followers', userId, limit, cursor),
    following: (userId: number, limit: number, cursor?: Cursor) => list('following', userId, limit, cursor),

    async profileCounts(userId: number): Promise<ProfileCounts> {
      const r = await db
        .selectNoFrom((eb) => [
          eb
            .selectFrom('follows')
            .select(eb.fn.countAll().as('n'))
            .where('followed_id', '=', userId)
            .as('followers'),
          eb
            .selectFrom('follows')
            .select(eb.fn.countAll().as('n'))
            .where('follower_id', '=', userId)
            .as('following'),
          eb.selectFrom('posts').select(eb.fn.countAll().as('n')).where('user_id', '=', userId).as('posts'),
          eb
            .selectFrom('ml_models')
            .select(eb.fn.countAll().as('n'))
            .where('user_id', '=', userId)
            .where('is_preset', '=', 0)
            .where('visibility', '=', 'public')
            .as('public_models'),
        ])
        .executeTakeFirstOrThrow();
      return {
        followers: Number(r.followers),
        following: Number(r.following),
        posts: Number(r.posts),
        publicModels: Number(r.public_models),
      };
    },
  };
}

export type FollowsRepository = ReturnType<typeof createFollowsRepository>;
