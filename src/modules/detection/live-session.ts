import type { Detector, DetectorArtifact } from '../../detectors/index.ts';
import type { StreamEntry } from './device-streams.ts';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import type { DeviceHub } from '../devices/device-hub.ts';
import type { ModelRuntime, ModelSummary } from '../models/model-runtime.ts';
import type { DetectionRepository, SessionRow } from './detection.repository.ts';
import type { FinalAnalysis, LiveSessionInfo, SessionId, SessionOwner, StopReason } from './detection.types.ts';
import type { LogWriter } from './log-writer.ts';

/** One session running on this process: its detector, counters and subscription. */
export interface Live {
  id: SessionId;
  owner: SessionOwner;
  deviceId: number;
  model: ModelSummary;
  detector: Detector;
  startedAt: number;
  /** Sequence number of the last reading this session accepted (scored). */
  seq: number;
  total: number;
  anomalies: number;
  confidenceSum: number;
  log: boolean;
  paused: boolean;
  maxReadings: number | undefined;
  timer: NodeJS.Timeout | undefined;
  unsubscribe: () => void;
  lastAlertAt: number;
  suppressed: number;
  webhook: string | undefined;
  stopping: Promise<FinalAnalysis> | undefined;
  method: string;
  errors: number;
  /** With REDIS_URL, for a device whose readings come through a stream: the last entry this session saw. */
  cursor?: string;
  /** Readings up to this sequence number were already logged and pushed by a previous owner: re-scored silently. */
  quietUpTo?: number;
  /** Listed but not yet subscribed to its device (its cursor not yet known): not checkpointed until it is. */
  attaching?: boolean;
}

/** What another process needs to continue a session: the detector's state and the running sums. */
export interface SessionCheckpoint {
  sessionId: number;
  userId: number;
  deviceId: number;
  modelId: number;
  threshold: number;
  log: boolean;
  startedAt: number;
  confidenceSum: number;
  total: number;
  /** Absent in checkpoints written before pausing was carried over. */
  paused?: boolean;
  detector: DetectorArtifact;
  /** The session's model (absent in older checkpoints: the new owner then loads it). */
  model?: ModelSummary;
  /** Sequence number and anomaly count when the checkpoint was taken (absent in older checkpoints). */
  seq?: number;
  anomalies?: number;
  /**
   * The device stream's last entry the detector state includes: a new owner scores the entries
   * after it (re-scoring ones the old owner logged gives the same sequence numbers, stored once).
   */
  cursor?: string;
  /**
   * Set only by a graceful hand-over (SIGTERM of a process in a cluster) whose log flush succeeded:
   * every row up to `seq` is in the database and `total` / `anomalies` are exact, so the new owner
   * continues from the checkpoint without replaying journals or counting rows. The times (epoch ms)
   * are when the old owner stopped scoring and released the lease; the new owner logs the phases.
   */
  handedOver?: { stoppedAt: number; releasedAt: number };
}

/** When each step of a takeover happened (epoch ms), for the `detection session taken over` log line. */
export interface TakeoverTiming {
  /** The release (or, for a sweep, the sweep's start) reached this process. */
  noticedAt: number;
  /** This process holds the lease and has read the checkpoint. */
  claimedAt: number;
  /** Detector restored and session listed; set by adopt. */
  restoredAt?: number;
  /** Subscribed to the device (its stream followed), and the stream's entries after the checkpoint read. */
  subscribedAt?: number;
  readAt?: number;
  /** Readings the stream held after the checkpoint are scored: the session is live here. */
  caughtUpAt?: number;
  /** Readings scored by the catch-up (between owners). */
  caughtUp?: number;
}

/** What one process asks of the process that owns a session. */
export type ClusterOp =
  | { type: 'stop'; reason: StopReason }
  | { type: 'info' }
  | { type: 'threshold'; threshold: number }
  | { type: 'pause'; paused: boolean };

/**
 * Scale-out hooks (present only with REDIS_URL): who owns a session, and how to reach the owner
 * of a session that lives in another process.
 */
export interface SessionCluster {
  /** Takes the lease of a session this process just started. */
  claim(sessionId: number): Promise<void>;
  /** Gives the lease up (session ended or handed over). */
  release(sessionId: number): Promise<void>;
  /**
   * Runs `op` at the process that owns the session. Resolves with its answer (a final analysis for
   * `stop`, the session's {@link LiveSessionInfo} otherwise), or undefined when no process answers
   * (none holds the lease: the session ended, or is between owners).
   */
  ask(sessionId: number, op: ClusterOp): Promise<unknown>;
  /** The device stream's position on this process (devices whose readings come through a stream). */
  cursor(deviceId: number): string | undefined;
  /** The device stream's entries after `after` (a takeover catching up). */
  readingsSince(deviceId: number, after: string): Promise<{ entries: StreamEntry[]; trimmed: boolean }>;
}

export interface DetectionServiceDeps {
  repo: DetectionRepository;
  writer: LogWriter;
  hub: DeviceHub;
  models: ModelRuntime;
  /** Resolves (and authorises) the device of a new session. */
  resolveDevice(owner: SessionOwner, deviceId: number | undefined): Promise<{ id: number }>;
  bus: AppBus;
  clock: Clock;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  alertIntervalMs: number;
  /** Set with REDIS_URL: sessions are leased to one process and can move between processes. */
  cluster?: SessionCluster;
  /** Posts an alert to a user's webhook (with its own retries); absent = no webhooks. */
  postWebhook?(url: string, body: unknown): Promise<void>;
  /** Before a takeover: writes what dead processes' journals on this host hold (their logs count). */
  replayJournals?(): Promise<unknown>;
}

/** The state the parts of the detection service share: the sessions of this process. */
export interface SessionContext {
  deps: DetectionServiceDeps;
  live: Map<SessionId, Live>;
  /** Set on shutdown or hand-over: no new session starts, none is adopted. */
  closed: boolean;
}

export const sameOwner = (a: SessionOwner, b: SessionOwner) => (a.userId !== null ? a.userId === b.userId : a.guestKey === b.guestKey);

/** A live session's public view (the contract's session object). */
export function info(s: Live): LiveSessionInfo {
  const w = s.detector.warmup();
  return {
    session_id: s.id,
    device_id: s.deviceId,
    model_id: s.model.id,
    model_name: s.model.name,
    threshold: s.detector.threshold,
    started_at: new Date(s.startedAt).toISOString(),
    total_predictions: s.total,
    anomaly_count: s.anomalies,
    log: s.log,
    paused: s.paused,
    ml_status: { ...w, method: s.method },
  };
}

/** The owner's live sessions on this process. */
export function ownedLive(ctx: SessionContext, owner: SessionOwner): Live[] {
  return [...ctx.live.values()].filter((s) => sameOwner(s.owner, owner) && !s.stopping);
}

/** The owner's running sessions that another process runs (cluster mode, signed-in owners only). */
export async function remoteRows(ctx: SessionContext, owner: SessionOwner): Promise<SessionRow[]> {
  if (!ctx.deps.cluster || owner.userId === null) return [];
  return (await ctx.deps.repo.listRunning(owner.userId)).filter((r) => !ctx.live.has(r.id));
}
