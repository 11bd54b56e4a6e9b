import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { UserRow, UsersRepository } from '../users/users.repository.ts';
import { decodeCursor, pageSize, toPage } from './cursor.ts';
import type { FollowListRow, FollowsRepository } from './follows.repository.ts';
import { toModelCardView, type PageInput } from './posts.service.ts';
import type { SharesRepository } from './shares.repository.ts';
import type { ProfileView, UserListItemView } from './social.schemas.ts';

export interface FollowsServiceDeps {
  follows: FollowsRepository;
  users: UsersRepository;
  shares: SharesRepository;
  clock: Clock;
}

const toListItem = (r: FollowListRow): UserListItemView => ({
  id: r.id,
  username: r.username,
  display_name: r.displayName,
  followed_at: fromDbTime(r.followedAt),
});

export function createFollowsService(deps: FollowsServiceDeps) {
  const { follows, users, shares, clock } = deps;

  async function requireUser(username: string): Promise<UserRow> {
    const user = await users.findByUsername(username);
    if (!user) throw new AppError('user-not-found');
    return user;
  }

  async function target(userId: number, username: string): Promise<UserRow> {
    const user = await requireUser(username);
    if (user.id === userId) throw new AppError('cannot-follow-self');
    return user;
  }

  async function list(direction: 'followers' | 'following', username: string, input: PageInput) {
    const cursor = decodeCursor(input.cursor);
    const limit = pageSize(input.limit);
    const user = await requireUser(username);
    const rows = await follows[direction](user.id, limit + 1, cursor);
    const { items, next_cursor } = toPage(rows, limit, (r) => ({ at: r.followedAt, id: r.id }), toListItem);
    return { users: items, next_cursor };
  }

  return {
    /** Idempotent. */
    async follow(userId: number, username: string) {
      const user = await target(userId, username);
      await follows.follow(userId, user.id, toDbTime(clock.now()));
      return {
        username: user.username,
        following: true,
        follower_count: await follows.followerCount(user.id),
      };
    },

    /** Idempotent. */
    async unfollow(userId: number, username: string) {
      const user = await target(userId, username);
      await follows.unfollow(userId, user.id);
      return {
        username: user.username,
        following: false,
        follower_count: await follows.followerCount(user.id),
      };
    },

    followers: (username: string, input: PageInput) => list('followers', username, input),
    following: (username: string, input: PageInput) => list('following', username, input),

    /** Ids of everyone following `userId`: the audience of that user's new posts. */
    followerIds: (userId: number): Promise<number[]> => follows.followerIds(userId),

    /** The public profile: never the email, the selected model or private models. */
    async profile(username: string, viewerId: number | null): Promise<ProfileView> {
      const user = await requireUser(username);
      const [counts, models, followedByMe] = await Promise.all([
        follows.profileCounts(user.id),
        shares.publicModelCards(user.id),
        viewerId === null || viewerId === user.id
          ? Promise.resolve(false)
          : follows.isFollowing(viewerId, user.id),
      ]);
      return {
        id: user.id,
        username: user.username,
        display_name: user.displayName,
        bio: user.bio,
        joined: fromDbTime(user.createdAt),
        counts: {
          followers: counts.followers,
          following: counts.following,
          posts: counts.posts,
          public_models: counts.publicModels,
        },
        followed_by_me: followedByMe,
        models: models.map(toModelCardView),
      };
    },
  };
}

export type FollowsService = ReturnType<typeof createFollowsService>;
