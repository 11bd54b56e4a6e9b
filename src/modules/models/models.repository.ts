import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import { fromDbBool } from '../../db/time.ts';

/** The mobile app's model card. */
export interface ModelCardRow {
  id: number;
  name: string;
  materialType: string;
  isPreset: boolean;
  accuracy: number | null;
  description: string | null;
  createdAt: string;
}

export function createModelsRepository(db: Kysely<DB>) {
  return {
    /** Presets plus, for a signed-in user, that user's own models; presets first, then newest. */
    async listCards(userId: number | null): Promise<ModelCardRow[]> {
      const rows = await db
        .selectFrom('ml_models')
        .select(['id', 'name', 'material_type', 'is_preset', 'accuracy', 'description', 'created_at'])
        .where((eb) =>
          userId === null ? eb('is_preset', '=', 1) : eb.or([eb('is_preset', '=', 1), eb('user_id', '=', userId)]),
        )
        .orderBy('is_preset', 'desc')
        .orderBy('id', 'asc')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        materialType: r.material_type,
        isPreset: fromDbBool(r.is_preset),
        accuracy: r.accuracy,
        description: r.description,
        createdAt: r.created_at,
      }));
    },
  };
}

export type ModelsRepository = ReturnType<typeof createModelsRepository>;
