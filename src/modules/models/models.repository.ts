import type { Kysely, Selectable } from 'kysely';
import type { DB, MlModelsTable } from '../../db/schema.ts';
import { fromDbBool, toDbBool } from '../../db/time.ts';

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

type CardColumns = Pick<Selectable<MlModelsTable>, 'id' | 'name' | 'material_type' | 'is_preset' | 'accuracy' | 'description' | 'created_at'>;

/** Maps the card columns of an `ml_models` row. */
export function toModelCardRow(r: CardColumns): ModelCardRow {
  return {
    id: r.id,
    name: r.name,
    materialType: r.material_type,
    isPreset: fromDbBool(r.is_preset),
    accuracy: r.accuracy,
    description: r.description,
    createdAt: r.created_at,
  };
}

export type ModelOrigin = 'preset' | 'trained' | 'uploaded';
export type ModelVisibility = 'private' | 'public';

export interface ModelRow extends ModelCardRow {
  userId: number | null;
  kind: string;
  visibility: ModelVisibility;
  threshold: number;
  /** JSON text. */
  params: string;
  /** JSON text. */
  metrics: string;
  filePath: string;
  fileSize: number;
  checksum: string;
  presetKey: string | null;
  origin: ModelOrigin;
  updatedAt: string;
}

export interface NewModel {
  userId: number | null;
  name: string;
  materialType: string;
  description: string | null;
  kind: string;
  isPreset: boolean;
  visibility: ModelVisibility;
  accuracy: number | null;
  threshold: number;
  params: string;
  metrics: string;
  filePath: string;
  fileSize: number;
  checksum: string;
  presetKey: string | null;
  origin: ModelOrigin;
  now: string;
}

export interface ModelPatch {
  name?: string;
  description?: string | null;
  threshold?: number;
  visibility?: ModelVisibility;
  materialType?: string;
  accuracy?: number | null;
  metrics?: string;
  params?: string;
  kind?: string;
  filePath?: string;
  fileSize?: number;
  checksum?: string;
}

function toModel(r: Selectable<MlModelsTable>): ModelRow {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    materialType: r.material_type,
    description: r.description,
    kind: r.kind,
    isPreset: fromDbBool(r.is_preset),
    visibility: r.visibility === 'public' ? 'public' : 'private',
    accuracy: r.accuracy,
    threshold: r.threshold,
    params: r.params,
    metrics: r.metrics,
    filePath: r.file_path,
    fileSize: r.file_size,
    checksum: r.checksum,
    presetKey: r.preset_key,
    origin: (r.origin as ModelOrigin) ?? 'trained',
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
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
      return rows.map(toModelCardRow);
    },

    async findById(id: number): Promise<ModelRow | undefined> {
      const r = await db.selectFrom('ml_models').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toModel(r);
    },

    async findByPresetKey(key: string): Promise<ModelRow | undefined> {
      const r = await db.selectFrom('ml_models').selectAll().where('preset_key', '=', key).executeTakeFirst();
      return r && toModel(r);
    },

    /** Every model, for operators (CLI); presets first. */
    async listAll(filter: { userId?: number } = {}): Promise<ModelRow[]> {
      let q = db.selectFrom('ml_models').selectAll();
      if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
      const rows = await q.orderBy('is_preset', 'desc').orderBy('id', 'asc').execute();
      return rows.map(toModel);
    },

    async firstPreset(): Promise<ModelRow | undefined> {
      const r = await db.selectFrom('ml_models').selectAll().where('is_preset', '=', 1).orderBy('id', 'asc').executeTakeFirst();
      return r && toModel(r);
    },

    async insert(m: NewModel): Promise<number> {
      const res = await db
        .insertInto('ml_models')
        .values({
          user_id: m.userId,
          name: m.name,
          material_type: m.materialType,
          description: m.description,
          kind: m.kind,
          is_preset: toDbBool(m.isPreset),
          visibility: m.visibility,
          accuracy: m.accuracy,
          threshold: m.threshold,
          params: m.params,
          metrics: m.metrics,
          file_path: m.filePath,
          file_size: m.fileSize,
          checksum: m.checksum,
          preset_key: m.presetKey,
          origin: m.origin,
          created_at: m.now,
          updated_at: m.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async update(id: number, patch: ModelPatch, now: string): Promise<void> {
      await db
        .updateTable('ml_models')
        .set({
          ...(patch.name !== undefined && { name: patch.name }),
          ...(patch.description !== undefined && { description: patch.description }),
          ...(patch.threshold !== undefined && { threshold: patch.threshold }),
          ...(patch.visibility !== undefined && { visibility: patch.visibility }),
          ...(patch.materialType !== undefined && { material_type: patch.materialType }),
          ...(patch.accuracy !== undefined && { accuracy: patch.accuracy }),
          ...(patch.metrics !== undefined && { metrics: patch.metrics }),
          ...(patch.params !== undefined && { params: patch.params }),
          ...(patch.kind !== undefined && { kind: patch.kind }),
          ...(patch.filePath !== undefined && { file_path: patch.filePath }),
          ...(patch.fileSize !== undefined && { file_size: patch.fileSize }),
          ...(patch.checksum !== undefined && { checksum: patch.checksum }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },

    /** Deletes the model and clears it from every user's selection. */
    async delete(id: number): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ selected_model_id: null }).where('selected_model_id', '=', id).execute();
        await tx.deleteFrom('ml_models').where('id', '=', id).execute();
      });
    },

    async getSelectedModelId(userId: number): Promise<number | null> {
      const r = await db.selectFrom('users').select('selected_model_id').where('id', '=', userId).executeTakeFirst();
      return r?.selected_model_id ?? null;
    },

    async setSelectedModelId(userId: number, modelId: number | null, now: string): Promise<void> {
      await db.updateTable('users').set({ selected_model_id: modelId, updated_at: now }).where('id', '=', userId).execute();
    },
  };
}

export type ModelsRepository = ReturnType<typeof createModelsRepository>;
