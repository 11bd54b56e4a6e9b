import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import { fromDbBool } from '../../db/time.ts';
import { toModelCardRow } from '../models/models.repository.ts';
import type { SharedModelRow } from './posts.repository.ts';

export interface SessionForShare {
  id: number;
  userId: number;
  endedAt: string | null;
}

export interface ModelForShare {
  id: number;
  userId: number | null;
  isPreset: boolean;
}

/** Read-only look-ups of what a post may share: detection sessions and models. */
export function createSharesRepository(db: Kysely<DB>) {
  return {
    async findSession(id: number): Promise<SessionForShare | undefined> {
      const r = await db
        .selectFrom('detection_sessions')
        .select(['id', 'user_id', 'ended_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return r && { id: r.id, userId: r.user_id, endedAt: r.ended_at };
    },

    async findModel(id: number): Promise<ModelForShare | undefined> {
      const r = await db
        .selectFrom('ml_models')
        .select(['id', 'user_id', 'is_preset'])
        .where('id', '=', id)
        .executeTakeFirst();
      return r && { id: r.id, userId: r.user_id, isPreset: fromDbBool(r.is_preset) };
    },

    /** A user's public models (never presets, never private ones), newest first. */
    async publicModelCards(userId: number): Promise<SharedModelRow[]> {
      const rows = await db
        .selectFrom('ml_models')
        .select(['id', 'name', 'material_type', 'is_preset', 'accuracy', 'description', 'created_at'])
        .where('user_id', '=', userId)
        .where('is_preset', '=', 0)
        .where('visibility', '=', 'public')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toModelCardRow);
    },
  };
}

export type SharesRepository = ReturnType<typeof createSharesRepository>;
