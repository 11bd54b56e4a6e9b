import { Type, type Static } from '@sinclair/typebox';
import type { ModelCard } from '../models/models.service.ts';

export const MAX_PAGE_SIZE = 100;
export const POST_MAX_CHARS = 2000;
export const COMMENT_MAX_CHARS = 1000;

const NonBlank = '\\S';

export const PostContent = Type.String({
  minLength: 1,
  maxLength: POST_MAX_CHARS,
  pattern: NonBlank,
  description: `1–${POST_MAX_CHARS} characters, stored trimmed. Plain text: HTML is stored and returned verbatim, clients must escape it.`,
});
export const CommentContent = Type.String({
  minLength: 1,
  maxLength: COMMENT_MAX_CHARS,
  pattern: NonBlank,
  description: `1–${COMMENT_MAX_CHARS} characters, stored trimmed; plain text like posts.`,
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const IsoDate = Type.String({ format: 'date-time' });

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 20,
        description: `Page size; values above ${MAX_PAGE_SIZE} are treated as ${MAX_PAGE_SIZE}.`,
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Opaque: the `next_cursor` of the previous page.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

export const PostParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const CommentParams = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  commentId: Type.Integer({ minimum: 1 }),
});
export const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });

export const AuthorSchema = Type.Object({ id: Type.Integer(), username: Type.String() });

export const FinalAnalysisSchema = Type.Object({
  is_anomalous: Type.Boolean(),
  summary: Type.String(),
  total_predictions: Type.Integer(),
  anomaly_count: Type.Integer(),
  anomaly_percentage: Type.Number({ description: '0..100, one decimal.' }),
  confidence: Type.Number({ description: '0..1' }),
});

export const SessionSummarySchema = Type.Object(
  {
    id: Type.Integer(),
    model_id: Nullable(Type.Integer()),
    started_at: IsoDate,
    ended_at: Nullable(IsoDate),
    final_analysis: FinalAnalysisSchema,
  },
  {
    $id: 'SharedSession',
    title: 'SharedSession',
    description: 'A finished detection session shared in a post.',
  },
);

export const PostSchema = Type.Object(
  {
    id: Type.Integer(),
    content: Type.String({
      description: 'Plain text exactly as written (trimmed); never rendered by the API.',
    }),
    author: AuthorSchema,
    created_at: IsoDate,
    updated_at: IsoDate,
    like_count: Type.Integer(),
    liked_by_me: Type.Boolean({ description: 'False for anonymous callers.' }),
    comment_count: Type.Integer(),
    session_id: Nullable(Type.Integer()),
    model_id: Nullable(Type.Integer()),
    session: Nullable(Type.Ref('SharedSession')),
    model: Nullable(Type.Ref('ModelCard')),
  },
  { $id: 'Post', title: 'Post' },
);

export interface SessionSummary {
  id: number;
  model_id: number | null;
  started_at: string;
  ended_at: string | null;
  final_analysis: Static<typeof FinalAnalysisSchema>;
}

/** A shared model is shown as the models module's card (never its artifact). */
export type ModelCardView = ModelCard;

/** A post as every API (and the `post.created` event) shows it. */
export interface PostView {
  id: number;
  content: string;
  author: { id: number; username: string };
  created_at: string;
  updated_at: string;
  like_count: number;
  liked_by_me: boolean;
  comment_count: number;
  session_id: number | null;
  model_id: number | null;
  session: SessionSummary | null;
  model: ModelCardView | null;
}

export const PostPage = Type.Object({
  posts: Type.Array(Type.Ref('Post')),
  next_cursor: Nullable(
    Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  ),
});

export const CreatePostBody = Type.Object(
  {
    content: PostContent,
    session_id: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'One of your finished detection sessions: its summary is embedded.',
      }),
    ),
    model_id: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'One of your models or a preset: its card (never its artifact) is embedded.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreatePostBody = Static<typeof CreatePostBody>;

export const UpdatePostBody = Type.Object(
  {
    content: Type.Optional(PostContent),
    session_id: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    model_id: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdatePostBody = Static<typeof UpdatePostBody>;

export const LikeState = Type.Object({
  post_id: Type.Integer(),
  liked: Type.Boolean(),
  like_count: Type.Integer(),
});

export const CommentSchema = Type.Object(
  {
    id: Type.Integer(),
    post_id: Type.Integer(),
    author: AuthorSchema,
    content: Type.String({ description: 'Plain text; clients must escape it.' }),
    created_at: IsoDate,
  },
  { $id: 'Comment', title: 'Comment' },
);
export interface CommentView {
  id: number;
  post_id: number;
  author: { id: number; username: string };
  content: string;
  created_at: string;
}
export const CommentPage = Type.Object({
  comments: Type.Array(Type.Ref('Comment')),
  next_cursor: Nullable(Type.String()),
});
export const CreateCommentBody = Type.Object({ content: CommentContent }, { additionalProperties: false });

export const FollowState = Type.Object({
  username: Type.String(),
  following: Type.Boolean({ description: 'Whether you now follow this user.' }),
  follower_count: Type.Integer(),
});

export const UserListItem = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  display_name: Nullable(Type.String()),
  followed_at: IsoDate,
});
export interface UserListItemView {
  id: number;
  username: string;
  display_name: string | null;
  followed_at: string;
}
export const UserPage = Type.Object({
  users: Type.Array(UserListItem),
  next_cursor: Nullable(Type.String()),
});

export const ProfileSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  display_name: Nullable(Type.String()),
  bio: Nullable(Type.String()),
  joined: IsoDate,
  counts: Type.Object({
    followers: Type.Integer(),
    following: Type.Integer(),
    posts: Type.Integer(),
    public_models: Type.Integer(),
  }),
  followed_by_me: Type.Boolean({ description: 'False for anonymous callers and on your own profile.' }),
  models: Type.Array(Type.Ref('ModelCard'), {
    description: "The user's public models (private ones never appear).",
  }),
});
export type ProfileView = Static<typeof ProfileSchema>;
