import type { Logger } from 'pino';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { DetectorArtifact } from '../../detectors/index.ts';
import { deriveAccuracy } from './evaluation.ts';
import { parseUntrustedArtifact, restoreStoredArtifact, sha256, type ModelArtifactStore } from './model-artifacts.ts';
import type { ModelRuntime, ModelSummary, ModelUsage, Viewer } from './model-runtime.ts';
import type { ModelCardRow, ModelRow, ModelsRepository, ModelVisibility } from './models.repository.ts';
import { buildPreset, presetKindAvailable, presetUpToDate, PRESETS, referenceTraces, type PresetSpec } from './presets.ts';
import type { TrainingJobRow, TrainingJobsRepository } from './training-jobs.repository.ts';

export interface ModelCard {
  id: number;
  name: string;
  material_type: string;
  is_preset: boolean;
  accuracy: number | null;
  description: string | null;
  created_at: string;
}

export interface ModelDetail extends ModelCard {
  kind: string;
  owner_id: number | null;
  visibility: ModelVisibility;
  origin: string;
  threshold: number;
  params: Record<string, unknown>;
  metrics: { training: Record<string, number>; evaluation: Record<string, number> | null };
  file_size: number;
  checksum: string;
  recording_ids: number[];
  jobs: Array<{ id: number; status: string; created_at: string; finished_at: string | null; role: 'produced' | 'retrain' }>;
  selected: boolean;
  updated_at: string;
}

export interface StoredMetrics {
  training: Record<string, number>;
  evaluation: Record<string, number> | null;
}

export interface ModelsServiceDeps {
  models: ModelsRepository;
  jobs: TrainingJobsRepository;
  artifacts: ModelArtifactStore;
  bus: AppBus;
  clock: Clock;
  logger: Logger;
  /** Late-bound: the realtime feature knows which models live sessions use. */
  usage: ModelUsage;
}

/** The mobile app's model card, from a model row or a card row. */
export function toCard(m: ModelCardRow): ModelCard {
  return {
    id: m.id,
    name: m.name,
    material_type: m.materialType,
    is_preset: m.isPreset,
    accuracy: m.accuracy,
    description: m.description,
    created_at: fromDbTime(m.createdAt),
  };
}

export function toSummary(m: ModelRow): ModelSummary {
  return { id: m.id, name: m.name, material_type: m.materialType, is_preset: m.isPreset, kind: m.kind, threshold: m.threshold };
}

export function parseStoredMetrics(text: string): StoredMetrics {
  try {
    const m = JSON.parse(text) as Partial<StoredMetrics>;
    return { training: m.training ?? {}, evaluation: m.evaluation ?? null };
  } catch {
    return { training: {}, evaluation: null };
  }
}

function parseParams(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Models and their files: presets, the registry API, uploads and the runtime used by detection. */
export function createModelsService(deps: ModelsServiceDeps) {
  const { models, artifacts, clock } = deps;
  const now = () => toDbTime(clock.now());

  /** Who may see a model: everyone for presets, the owner, and signed-in users for public models. */
  function canSee(viewer: Viewer, m: ModelRow): boolean {
    if (m.isPreset) return true;
    if (viewer.userId === null) return false;
    return m.userId === viewer.userId || m.visibility === 'public';
  }

  async function visibleModel(viewer: Viewer, id: number): Promise<ModelRow> {
    const m = await models.findById(id);
    if (!m || !canSee(viewer, m)) throw new AppError('model-not-found');
    return m;
  }

  async function ownedModel(userId: number, id: number): Promise<ModelRow> {
    const m = await visibleModel({ userId }, id);
    if (m.isPreset) throw new AppError('model-read-only');
    if (m.userId !== userId) throw new AppError('not-owner', 'Only the owner can change or delete this model.');
    return m;
  }

  async function loadArtifact(m: ModelRow): Promise<{ artifact: DetectorArtifact; detector: ReturnType<typeof restoreStoredArtifact>['detector'] }> {
    const text = await artifacts.read({ filePath: m.filePath, size: m.fileSize, checksum: m.checksum });
    const restored = restoreStoredArtifact(text);
    restored.detector.threshold = m.threshold;
    return restored;
  }

  /** True when a preset row and its (checksum-verified) artifact are what this build makes of `spec`. */
  async function presetCurrent(spec: PresetSpec, row: ModelRow, artifactText: string): Promise<boolean> {
    const rowMatches =
      row.name === spec.name &&
      row.description === spec.description &&
      row.materialType === spec.material_type &&
      row.kind === spec.kind &&
      row.threshold === spec.threshold;
    if (!rowMatches) return false;
    let stored: DetectorArtifact;
    try {
      stored = JSON.parse(artifactText) as DetectorArtifact;
    } catch {
      return false;
    }
    return row.params === JSON.stringify(stored.params) && (await presetUpToDate(spec, stored));
  }

  /**
   * Creates the preset models; rebuilds one whose artifact is missing or corrupt (`repaired`) or
   * out of date (`updated`: the spec, or the detector code, now fits something else), so existing
   * databases pick up new preset artifacts on migrate or start.
   */
  async function ensurePresets(): Promise<{ created: string[]; repaired: string[]; updated: string[]; skipped: string[] }> {
    const created: string[] = [];
    const repaired: string[] = [];
    const updated: string[] = [];
    const skipped: string[] = [];
    let reference: ReturnType<typeof referenceTraces> | undefined;
    for (const spec of PRESETS) {
      if (!presetKindAvailable(spec)) {
        skipped.push(spec.key);
        deps.logger.warn({ preset: spec.key, kind: spec.kind }, 'preset skipped: detector kind not available in this build');
        continue;
      }
      const existing = await models.findByPresetKey(spec.key);
      let outdated = false;
      if (existing) {
        let text: string | undefined;
        try {
          text = await artifacts.read({ filePath: existing.filePath, size: existing.fileSize, checksum: existing.checksum });
        } catch {
          deps.logger.warn({ preset: spec.key }, 'preset artifact missing or corrupt: rebuilding it');
        }
        if (text !== undefined) {
          if (await presetCurrent(spec, existing, text)) continue;
          outdated = true;
          deps.logger.info({ preset: spec.key }, 'preset out of date: rebuilding it');
        }
      }
      reference ??= referenceTraces();
      const built = await buildPreset(spec, reference);
      const text = JSON.stringify(built.artifact);
      // An outdated preset's new artifact goes to a new file: a process that has just read the old
      // row (during a rolling restart) still finds the file that row names.
      const stored = await artifacts.write(artifacts.presetPath(spec.key, outdated ? sha256(text) : undefined), text);
      const { fit, ...evaluation } = built.metrics;
      const metrics = JSON.stringify({ training: fit, evaluation } satisfies StoredMetrics);
      if (existing) {
        await models.update(
          existing.id,
          {
            name: spec.name,
            description: spec.description,
            materialType: spec.material_type,
            kind: spec.kind,
            threshold: spec.threshold,
            params: JSON.stringify(built.artifact.params),
            filePath: stored.filePath,
            fileSize: stored.size,
            checksum: stored.checksum,
            metrics,
            accuracy: built.accuracy,
          },
          now(),
        );
        (outdated ? updated : repaired).push(spec.key);
        continue;
      }
      try {
        await models.insert({
          userId: null,
          name: spec.name,
          materialType: spec.material_type,
          description: spec.description,
          kind: spec.kind,
          isPreset: true,
          visibility: 'public',
          accuracy: built.accuracy,
          threshold: spec.threshold,
          params: JSON.stringify(built.artifact.params),
          metrics,
          filePath: stored.filePath,
          fileSize: stored.size,
          checksum: stored.checksum,
          presetKey: spec.key,
          origin: 'preset',
          now: now(),
        });
        created.push(spec.key);
      } catch (err) {
        // Another process created it at the same moment (unique preset_key): theirs is identical.
        if (!(await models.findByPresetKey(spec.key))) throw err;
      }
    }
    return { created, repaired, updated, skipped };
  }

  async function select(viewer: Viewer, modelId: number): Promise<ModelSummary> {
    const m = await models.findById(modelId);
    if (viewer.userId === null && m && !m.isPreset) throw new AppError('guest-not-allowed');
    if (!m || !canSee(viewer, m)) throw new AppError('model-not-found');
    // Selecting a model whose file cannot be loaded fails now, not when detection starts.
    await loadArtifact(m);
    if (viewer.userId !== null) await models.setSelectedModelId(viewer.userId, m.id, now());
    return toSummary(m);
  }

  const runtime: ModelRuntime = {
    async loadForSession(viewer, modelId) {
      const m = await models.findById(modelId);
      if (viewer.userId === null && m && !m.isPreset) throw new AppError('guest-not-allowed');
      if (!m || !canSee(viewer, m)) throw new AppError('model-not-found');
      const { detector } = await loadArtifact(m);
      return { model: toSummary(m), detector };
    },
    select,
    async getSelected(userId) {
      const id = await models.getSelectedModelId(userId);
      if (id === null) return null;
      const m = await models.findById(id);
      return m && canSee({ userId }, m) ? toSummary(m) : null;
    },
    async defaultPreset() {
      const m = (await models.findByPresetKey(PRESETS[0]!.key)) ?? (await models.firstPreset());
      if (!m) throw new AppError('model-not-found', 'No preset model is installed; run `vigil migrate`.');
      return toSummary(m);
    },
  };

  async function storeUserArtifact(
    userId: number,
    input: { artifactText: string; name: string; materialType: string; description: string | null; origin: 'uploaded' | 'trained' },
  ): Promise<ModelRow> {
    const { artifact } = parseUntrustedArtifact(input.artifactText);
    const text = JSON.stringify(artifact);
    const stored = await artifacts.write(artifacts.userPath(userId), text);
    const training = artifact.metrics ?? {};
    const id = await models.insert({
      userId,
      name: input.name,
      materialType: input.materialType,
      description: input.description,
      kind: artifact.kind,
      isPreset: false,
      visibility: 'private',
      accuracy: deriveAccuracy(training),
      threshold: artifact.threshold,
      params: JSON.stringify(artifact.params),
      metrics: JSON.stringify({ training, evaluation: null } satisfies StoredMetrics),
      filePath: stored.filePath,
      fileSize: stored.size,
      checksum: stored.checksum,
      presetKey: null,
      origin: input.origin,
      now: now(),
    });
    return (await models.findById(id))!;
  }

  /** Stores a worker's artifact: a new model, or (retrain) the base model's new version in place. */
  async function storeTrained(
    job: TrainingJobRow,
    r: { artifactText: string; kind: string; threshold: number; metrics: StoredMetrics; accuracy: number | null },
  ): Promise<ModelRow> {
    const stored = await artifacts.write(artifacts.userPath(job.userId), r.artifactText);
    const base = job.baseModelId === null ? undefined : await models.findById(job.baseModelId);
    if (base && base.userId === job.userId) {
      await models.update(
        base.id,
        {
          kind: r.kind,
          threshold: r.threshold,
          params: JSON.stringify(job.params),
          metrics: JSON.stringify(r.metrics),
          accuracy: r.accuracy,
          filePath: stored.filePath,
          fileSize: stored.size,
          checksum: stored.checksum,
        },
        now(),
      );
      await artifacts.remove(base.filePath).catch(() => undefined);
      return (await models.findById(base.id))!;
    }
    const id = await models.insert({
      userId: job.userId,
      name: job.name,
      materialType: job.materialType,
      description: job.description,
      kind: r.kind,
      isPreset: false,
      visibility: 'private',
      accuracy: r.accuracy,
      threshold: r.threshold,
      params: JSON.stringify(job.params),
      metrics: JSON.stringify(r.metrics),
      filePath: stored.filePath,
      fileSize: stored.size,
      checksum: stored.checksum,
      presetKey: null,
      origin: 'trained',
      now: now(),
    });
    return (await models.findById(id))!;
  }

  return {
    runtime,
    ensurePresets,
    storeTrained,
    canSee,
    visibleModel,
    ownedModel,

    async listCards(userId: number | null): Promise<ModelCard[]> {
      return (await models.listCards(userId)).map(toCard);
    },

    async get(viewer: Viewer, id: number): Promise<ModelDetail> {
      const m = await visibleModel(viewer, id);
      const isOwner = viewer.userId !== null && m.userId === viewer.userId;
      const jobs: TrainingJobRow[] = isOwner ? await deps.jobs.listForModel(m.id) : [];
      const producer = jobs.find((j) => j.modelId === m.id);
      const selected = viewer.userId !== null && (await models.getSelectedModelId(viewer.userId)) === m.id;
      return {
        ...toCard(m),
        kind: m.kind,
        owner_id: m.userId,
        visibility: m.visibility,
        origin: m.origin,
        threshold: m.threshold,
        params: parseParams(m.params),
        metrics: parseStoredMetrics(m.metrics),
        file_size: m.fileSize,
        checksum: m.checksum,
        recording_ids: producer?.recordingIds ?? [],
        jobs: jobs.map((j) => ({
          id: j.id,
          status: j.status,
          created_at: fromDbTime(j.createdAt),
          finished_at: j.finishedAt && fromDbTime(j.finishedAt),
          role: j.modelId === m.id ? ('produced' as const) : ('retrain' as const),
        })),
        selected,
        updated_at: fromDbTime(m.updatedAt),
      };
    },

    async update(
      userId: number,
      id: number,
      patch: { name?: string; description?: string | null; threshold?: number; visibility?: ModelVisibility },
    ): Promise<ModelDetail> {
      await ownedModel(userId, id);
      await models.update(id, patch, now());
      return this.get({ userId }, id);
    },

    async remove(userId: number, id: number): Promise<void> {
      const m = await ownedModel(userId, id);
      if (deps.usage.isModelInUse(id)) throw new AppError('model-in-use');
      await models.delete(id);
      await artifacts.remove(m.filePath);
      deps.bus.emit('model.deleted', { userId: m.userId, modelId: id });
    },

    select,

    /** The artifact as stored (checksum verified), for download or export. */
    async download(viewer: Viewer, id: number): Promise<{ filename: string; text: string; model: ModelRow }> {
      const m = await visibleModel(viewer, id);
      const text = await artifacts.read({ filePath: m.filePath, size: m.fileSize, checksum: m.checksum });
      const slug = m.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'model';
      return { filename: `${slug}-${m.id}.vigil.json`, text, model: m };
    },

    /** Validates an untrusted artifact fully, then stores it as the user's model. */
    async upload(userId: number, input: { artifactText: string; name: string; materialType: string; description: string | null }) {
      return storeUserArtifact(userId, { ...input, origin: 'uploaded' });
    },

    storeUserArtifact,
    loadArtifact,
  };
}

export type ModelsService = ReturnType<typeof createModelsService>;
