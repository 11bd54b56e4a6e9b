import { toDbTime } from '../../db/time.ts';
import type { ModelUsage } from '../models/model-runtime.ts';
import type { SessionId } from './detection.types.ts';
import type { DetectionServiceDeps, Live, SessionContext } from './live-session.ts';
import { createSessionControl } from './session-control.ts';
import { createSessionLifecycle } from './session-lifecycle.ts';
import { createSessionSeries } from './session-series.ts';
import { createSessionSummaries } from './session-summaries.ts';

export type { ClusterOp, DetectionServiceDeps, SessionCheckpoint, SessionCluster } from './live-session.ts';
export type { StartInput } from './session-lifecycle.ts';
export type { SessionSummary } from './session-summaries.ts';
export type { SessionSeries } from './session-series.ts';

/**
 * Live detection sessions: each owns a detector instance, a threshold and counters, and
 * subscribes to its device through the hub. No global state: everything is keyed by owner.
 *
 * The parts, by seam:
 * - `session-lifecycle.ts`: start, scoring each reading, stop with the final analysis;
 * - `session-logging.ts`: the `detection_logs` row of a scored reading;
 * - `session-control.ts`: commands on sessions wherever they run, and the cluster side
 *   (checkpoints, takeover, hand-over);
 * - `session-summaries.ts`: stored sessions and their logs read back;
 * - `session-series.ts`: a stored session's downsampled series (raw logs or rollups);
 * - `live-session.ts`: the shared state (the sessions of this process) and types.
 */
export function createDetectionService(deps: DetectionServiceDeps) {
  const ctx: SessionContext = { deps, live: new Map<SessionId, Live>(), closed: false };
  const lifecycle = createSessionLifecycle(ctx);
  const summaries = createSessionSummaries(ctx);
  const control = createSessionControl(ctx, lifecycle, summaries);
  const { summary: _summary, ...readBack } = summaries;
  const { series } = createSessionSeries({ repo: deps.repo, owned: summaries.get });

  const service = {
    start: lifecycle.start,
    stopAll: lifecycle.stopAll,
    ...control,
    ...readBack,
    series,

    isModelInUse(modelId: number): boolean {
      for (const s of ctx.live.values()) if (s.model.id === modelId) return true;
      return false;
    },

    /** Sessions running on this process (all owners): for metrics and the benchmark. */
    liveCount: () => ctx.live.size,

    /** Marks sessions a dead process left `running` as interrupted (their logs give the counts). */
    closeOrphans: () => deps.repo.closeOrphans(toDbTime(deps.clock.now())),
  };
  return service satisfies ModelUsage;
}

export type DetectionService = ReturnType<typeof createDetectionService>;
