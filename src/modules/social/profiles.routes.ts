import { errors } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import type { FollowsService } from './follows.service.ts';
import { addSocialSchemas } from './posts.routes.ts';
import type { PostsService } from './posts.service.ts';
import {
  FollowState,
  PageQuery,
  PostPage,
  ProfileSchema,
  UserPage,
  UsernameParams,
} from './social.schemas.ts';

/** Public profiles, a user's posts, and follows. */
export async function registerProfileRoutes(
  api: Api,
  deps: { posts: PostsService; follows: FollowsService },
) {
  addSocialSchemas(api);
  const { posts, follows } = deps;
  const tags = ['users'];

  api.get(
    '/users/:username',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Public profile: joined date, counts and public models',
        params: UsernameParams,
        response: { 200: ProfileSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => follows.profile(request.params.username, request.user?.id ?? null),
  );

  api.get(
    '/users/:username/posts',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: "A user's posts, newest first (cursor-paginated)",
        params: UsernameParams,
        querystring: PageQuery,
        response: { 200: PostPage, ...errors(400, 401, 404) },
      },
    },
    async (request) => posts.listByUsername(request.params.username, request.user?.id ?? null, request.query),
  );

  api.post(
    '/users/:username/follow',
    {
      schema: {
        tags,
        summary: 'Follow a user (idempotent)',
        params: UsernameParams,
        response: { 200: FollowState, ...errors(400, 401, 404) },
      },
    },
    async (request) => follows.follow(request.user!.id, request.params.username),
  );

  api.delete(
    '/users/:username/follow',
    {
      schema: {
        tags,
        summary: 'Unfollow a user (idempotent)',
        params: UsernameParams,
        response: { 200: FollowState, ...errors(400, 401, 404) },
      },
    },
    async (request) => follows.unfollow(request.user!.id, request.params.username),
  );

  for (const direction of ['followers', 'following'] as const) {
    api.get(
      `/users/:username/${direction}`,
      {
        config: { auth: 'optional' },
        schema: {
          tags,
          summary:
            direction === 'followers'
              ? 'Who follows the user, newest follow first (cursor-paginated)'
              : 'Whom the user follows, newest follow first (cursor-paginated)',
          params: UsernameParams,
          querystring: PageQuery,
          response: { 200: UserPage, ...errors(400, 401, 404) },
        },
      },
      async (request) => follows[direction](request.params.username, request.query),
    );
  }
}
