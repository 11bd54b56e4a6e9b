import type { Kysely, Selectable } from 'kysely';
import type { DB, UsersTable } from '../../db/schema.ts';

export interface UserRow {
  id: number;
  username: string;
  email: string;
  passwordHash: string;
  displayName: string | null;
  bio: string | null;
  selectedModelId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface UserCounts {
  followers: number;
  following: number;
  posts: number;
  models: number;
}

function toUser(r: Selectable<UsersTable>): UserRow {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    passwordHash: r.password_hash,
    displayName: r.display_name,
    bio: r.bio,
    selectedModelId: r.selected_model_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function createUsersRepository(db: Kysely<DB>) {
  return {
    async insert(u: { username: string; email: string; passwordHash: string; now: string }): Promise<number> {
      const res = await db
        .insertInto('users')
        .values({
          username: u.username,
          username_key: u.username.toLowerCase(),
          email: u.email,
          password_hash: u.passwordHash,
          created_at: u.now,
          updated_at: u.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async findById(id: number): Promise<UserRow | undefined> {
      const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toUser(r);
    },

    async exists(id: number): Promise<boolean> {
      const r = await db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst();
      return r !== undefined;
    },

    async findByUsername(username: string): Promise<UserRow | undefined> {
      const r = await db
        .selectFrom('users')
        .selectAll()
        .where('username_key', '=', username.toLowerCase())
        .executeTakeFirst();
      return r && toUser(r);
    },

    async findByEmail(email: string): Promise<UserRow | undefined> {
      const r = await db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
      return r && toUser(r);
    },

    async existsUsernameOrEmail(username: string, email: string): Promise<{ username: boolean; email: boolean }> {
      const rows = await db
        .selectFrom('users')
        .select(['username_key', 'email'])
        .where((eb) => eb.or([eb('username_key', '=', username.toLowerCase()), eb('email', '=', email.toLowerCase())]))
        .execute();
      return {
        username: rows.some((r) => r.username_key === username.toLowerCase()),
        email: rows.some((r) => r.email === email.toLowerCase()),
      };
    },

    async counts(id: number): Promise<UserCounts> {
      const r = await db
        .selectNoFrom((eb) => [
          eb.selectFrom('follows').select(eb.fn.countAll<number>().as('n')).where('followed_id', '=', id).as('followers'),
          eb.selectFrom('follows').select(eb.fn.countAll<number>().as('n')).where('follower_id', '=', id).as('following'),
          eb.selectFrom('posts').select(eb.fn.countAll<number>().as('n')).where('user_id', '=', id).as('posts'),
          eb.selectFrom('ml_models').select(eb.fn.countAll<number>().as('n')).where('user_id', '=', id).as('models'),
        ])
        .executeTakeFirstOrThrow();
      return {
        followers: Number(r.followers),
        following: Number(r.following),
        posts: Number(r.posts),
        models: Number(r.models),
      };
    },

    async update(
      id: number,
      patch: Partial<{ email: string; displayName: string | null; bio: string | null; passwordHash: string; selectedModelId: number | null }>,
      now: string,
    ): Promise<void> {
      await db
        .updateTable('users')
        .set({
          ...(patch.email !== undefined && { email: patch.email }),
          ...(patch.displayName !== undefined && { display_name: patch.displayName }),
          ...(patch.bio !== undefined && { bio: patch.bio }),
          ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
          ...(patch.selectedModelId !== undefined && { selected_model_id: patch.selectedModelId }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
