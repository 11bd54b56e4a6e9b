import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';

export interface RefreshTokenRow {
  id: number;
  userId: number;
  familyId: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
}

export function createRefreshTokensRepository(db: Kysely<DB>) {
  return {
    async insert(t: { userId: number; familyId: string; tokenHash: string; expiresAt: string; now: string }) {
      await db
        .insertInto('refresh_tokens')
        .values({
          user_id: t.userId,
          family_id: t.familyId,
          token_hash: t.tokenHash,
          expires_at: t.expiresAt,
          created_at: t.now,
        })
        .execute();
    },

    async findByHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
      const r = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return (
        r && {
          id: r.id,
          userId: r.user_id,
          familyId: r.family_id,
          expiresAt: r.expires_at,
          usedAt: r.used_at,
          revokedAt: r.revoked_at,
        }
      );
    },

    /** Marks a token used; false when another request used it first (a race counts as reuse). */
    async markUsed(id: number, now: string): Promise<boolean> {
      const res = await db
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    async revokeFamily(familyId: string, now: string): Promise<void> {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute();
    },

    async revokeAllForUser(userId: number, now: string): Promise<void> {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute();
    },

    async deleteExpired(now: string): Promise<number> {
      const res = await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>;
