import { errors } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { ModelCardSchema } from '../auth/auth.schemas.ts';
import type { PostsService } from './posts.service.ts';
import {
  CommentPage,
  CommentParams,
  CommentSchema,
  CreateCommentBody,
  CreatePostBody,
  LikeState,
  PageQuery,
  PostPage,
  PostParams,
  PostSchema,
  SessionSummarySchema,
  UpdatePostBody,
} from './social.schemas.ts';

/**
 * Registers the schemas the social routes reference by `$ref` (once, whichever social routes come
 * first). `ModelCard` belongs to auth and may already be there; a clash on our own ids fails loudly.
 */
export function addSocialSchemas(api: Api) {
  if (api.getSchema('Post')) return;
  if (!api.getSchema('ModelCard')) api.addSchema(ModelCardSchema);
  for (const schema of [SessionSummarySchema, PostSchema, CommentSchema]) api.addSchema(schema);
}

/** Posts, their likes and comments, and the signed-in user's feed. */
export async function registerPostsRoutes(api: Api, deps: { posts: PostsService }) {
  addSocialSchemas(api);
  const { posts } = deps;
  const tags = ['posts'];
  const viewer = (user: { id: number } | null) => user?.id ?? null;

  api.get(
    '/posts',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'All posts, newest first (cursor-paginated; `liked_by_me` when signed in)',
        querystring: PageQuery,
        response: { 200: PostPage, ...errors(400, 401) },
      },
    },
    async (request) => posts.list(viewer(request.user), request.query),
  );

  api.post(
    '/posts',
    {
      schema: {
        tags,
        summary: 'Write a post, optionally sharing one of your finished sessions or a model card',
        body: CreatePostBody,
        response: { 201: PostSchema, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (request, reply) => reply.status(201).send(await posts.create(request.user!.id, request.body)),
  );

  api.get(
    '/posts/:id',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'One post',
        params: PostParams,
        response: { 200: PostSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => posts.get(request.params.id, viewer(request.user)),
  );

  api.patch(
    '/posts/:id',
    {
      schema: {
        tags,
        summary: 'Edit your post (content, shared session or model; null removes a share)',
        params: PostParams,
        body: UpdatePostBody,
        response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (request) => posts.update(request.user!.id, request.params.id, request.body),
  );

  api.delete(
    '/posts/:id',
    {
      schema: {
        tags,
        summary: 'Delete your post (its likes and comments go with it)',
        params: PostParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await posts.remove(request.user!.id, request.params.id);
      return reply.status(204).send();
    },
  );

  api.post(
    '/posts/:id/like',
    {
      schema: {
        tags,
        summary: 'Like a post (idempotent)',
        params: PostParams,
        response: { 200: LikeState, ...errors(400, 401, 404) },
      },
    },
    async (request) => posts.like(request.user!.id, request.params.id),
  );

  api.delete(
    '/posts/:id/like',
    {
      schema: {
        tags,
        summary: 'Remove your like (idempotent)',
        params: PostParams,
        response: { 200: LikeState, ...errors(400, 401, 404) },
      },
    },
    async (request) => posts.unlike(request.user!.id, request.params.id),
  );

  api.get(
    '/posts/:id/comments',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: "A post's comments, oldest first (cursor-paginated)",
        params: PostParams,
        querystring: PageQuery,
        response: { 200: CommentPage, ...errors(400, 401, 404) },
      },
    },
    async (request) => posts.comments(request.params.id, request.query),
  );

  api.post(
    '/posts/:id/comments',
    {
      schema: {
        tags,
        summary: 'Comment on a post',
        params: PostParams,
        body: CreateCommentBody,
        response: { 201: CommentSchema, ...errors(400, 401, 404, 413) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await posts.addComment(request.user!.id, request.params.id, request.body.content)),
  );

  api.delete(
    '/posts/:id/comments/:commentId',
    {
      schema: {
        tags,
        summary: 'Delete your own comment',
        params: CommentParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await posts.removeComment(request.user!.id, request.params.id, request.params.commentId);
      return reply.status(204).send();
    },
  );

  api.get(
    '/feed',
    {
      schema: {
        tags,
        summary: 'Posts by the people you follow and yours, newest first (stable cursor)',
        querystring: PageQuery,
        response: { 200: PostPage, ...errors(400, 401) },
      },
    },
    async (request) => posts.feed(request.user!.id, request.query),
  );
}
