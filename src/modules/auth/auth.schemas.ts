import { Type } from '@sinclair/typebox';

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_.-]+$',
  description: '3–32 characters of letters, digits, `_`, `.` and `-`.',
});
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 8, maxLength: 1024, description: 'At least 8 characters.' });

export const PublicUserSchema = Type.Object({ id: Type.Integer(), username: Type.String(), email: Type.String() });

export const ModelCardSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    material_type: Type.String(),
    is_preset: Type.Boolean(),
    accuracy: Type.Union([Type.Number(), Type.Null()]),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'ModelCard', title: 'ModelCard' },
);

const Tokens = {
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Access-token lifetime in seconds.' }),
  refresh_token: Type.String(),
};

export const RegisterBody = Type.Object(
  { username: Username, email: Email, password: Password },
  { additionalProperties: false },
);
export const RegisterResponse = Type.Object({ ...Tokens, user: PublicUserSchema, message: Type.String() });

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 254, description: 'Username or email.' }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export const LoginResponse = Type.Object({
  ...Tokens,
  user: PublicUserSchema,
  available_models: Type.Array(Type.Ref('ModelCard')),
  message: Type.String(),
});

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });
export const RefreshResponse = Type.Object({ ...Tokens, user: PublicUserSchema });

export const LogoutBody = Type.Object(
  {
    refresh_token: Type.Optional(
      Type.String({ minLength: 1, maxLength: 512, description: 'Ends that login only; without it every login of the user ends.' }),
    ),
  },
  { additionalProperties: false },
);

export const MeSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  display_name: Type.Union([Type.String(), Type.Null()]),
  bio: Type.Union([Type.String(), Type.Null()]),
  selected_model_id: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  counts: Type.Object({
    followers: Type.Integer(),
    following: Type.Integer(),
    posts: Type.Integer(),
    models: Type.Integer(),
  }),
});

export const UpdateMeBody = Type.Object(
  {
    email: Type.Optional(Email),
    display_name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    bio: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    password: Type.Optional(Password),
    current_password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
