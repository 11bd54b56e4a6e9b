import type { Detector } from '../../detectors/index.ts';

/**
 * What the realtime feature needs from model management (and nothing more): which model a
 * viewer has selected, and a fresh detector instance for a live session.
 */
export interface Viewer {
  /** Null for a guest (presets only, nothing stored). */
  userId: number | null;
}

export interface ModelSummary {
  id: number;
  name: string;
  material_type: string;
  is_preset: boolean;
  kind: string;
  threshold: number;
}

export interface ModelRuntime {
  /**
   * Loads the model's artifact (checksum verified) into a new detector for one live session.
   * Throws AppError `model-not-found` (absent, or another user's private model),
   * `guest-not-allowed` (a guest asking for a non-preset) or `model-artifact-invalid`.
   */
  loadForSession(viewer: Viewer, modelId: number): Promise<{ model: ModelSummary; detector: Detector }>;
  /** Validates access and, for a signed-in user, stores the selection (it survives restarts). */
  select(viewer: Viewer, modelId: number): Promise<ModelSummary>;
  /** The user's stored selection, if any and still accessible. */
  getSelected(userId: number): Promise<ModelSummary | null>;
  /** The preset used when nothing was selected. */
  defaultPreset(): Promise<ModelSummary>;
}

/** What model management needs from the realtime feature. */
export interface ModelUsage {
  /** True while a live detection session uses the model (deletion is refused then). */
  isModelInUse(modelId: number): boolean;
}
