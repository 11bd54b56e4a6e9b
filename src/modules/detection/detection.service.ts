import { restoreDetector, type Detector, type DetectorArtifact, type Reading, type Score } from '../../detectors/index.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { DeviceHub, DeviceStatus } from '../devices/device-hub.ts';
import type { ModelRuntime, ModelSummary, ModelUsage } from '../models/model-runtime.ts';
import type { DetectionRepository, LogInsert, SessionRow } from './detection.repository.ts';
import type { FinalAnalysis, LiveSessionInfo, SessionId, SessionOwner, StopReason } from './detection.types.ts';
import { finalAnalysis } from './final-analysis.ts';
import type { LogWriter } from './log-writer.ts';

export interface StartInput {
  model_id?: number;
  device_id?: number;
  threshold?: number;
  duration_s?: number;
  max_readings?: number;
  /** Log every scored reading (default true; guests are never logged). */
  log?: boolean;
}

export interface SessionSummary {
  session_id: number;
  id: number;
  device_id: number | null;
  model_id: number | null;
  model_name: string | null;
  status: string;
  threshold: number;
  started_at: string;
  ended_at: string | null;
  duration_s: number | null;
  total_predictions: number;
  anomaly_count: number;
  anomaly_percentage: number;
  final_analysis: FinalAnalysis | null;
}

interface Live {
  id: SessionId;
  owner: SessionOwner;
  deviceId: number;
  model: ModelSummary;
  detector: Detector;
  startedAt: number;
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
}

const MAX_SESSIONS_PER_OWNER = 20;

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
}

/** How long a command for a session owned by another process keeps retrying while the session moves. */
const MOVE_WAIT_MS = 15_000;

const sameOwner = (a: SessionOwner, b: SessionOwner) => (a.userId !== null ? a.userId === b.userId : a.guestKey === b.guestKey);

function explanation(score: Score): string {
  return JSON.stringify({ signal: score.signal, method: score.method, ...(score.contributions && { contributions: score.contributions.slice(0, 3) }) });
}

/**
 * Live detection sessions: each owns a detector instance, a threshold and counters, and
 * subscribes to its device through the hub. No global state: everything is keyed by owner.
 */
export function createDetectionService(deps: DetectionServiceDeps): ModelUsage & ReturnType<typeof build> {
  return build(deps);
}

function build(deps: DetectionServiceDeps) {
  const { repo, writer, hub, bus, clock, logger } = deps;
  const live = new Map<SessionId, Live>();
  let guestSeq = 0;
  let closed = false;

  function info(s: Live): LiveSessionInfo {
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

  function onReading(s: Live, reading: Reading, arrivedAt: number) {
    if (s.paused || s.stopping) return;
    let score: Score;
    try {
      score = s.detector.score(reading);
    } catch (err) {
      if (s.errors++ === 0) logger.error({ err, sessionId: s.id }, 'detector failed to score a reading');
      return;
    }
    s.total++;
    s.method = score.method;
    if (score.is_anomaly) s.anomalies++;
    s.confidenceSum += score.confidence;
    if (s.log && typeof s.id === 'number' && s.owner.userId !== null) {
      const row: LogInsert = {
        session_id: s.id,
        user_id: s.owner.userId,
        model_id: s.model.id,
        timestamp: toDbTime(reading.ts),
        value: reading.value,
        anomaly_score: score.anomaly_score,
        is_anomaly: score.is_anomaly ? 1 : 0,
        confidence: score.confidence,
        explanation: explanation(score),
        created_at: toDbTime(clock.now()),
      };
      writer.push(row);
    }
    bus.emit('detection.scored', { owner: s.owner, sessionId: s.id, deviceId: s.deviceId, reading, score, warmup: s.detector.warmup(), arrivedAt });
    if (score.is_anomaly) alert(s, reading, score);
    if (s.maxReadings !== undefined && s.total >= s.maxReadings) void stopLive(s, 'max_readings');
  }

  function alert(s: Live, reading: Reading, score: Score) {
    const t = performance.now();
    if (s.lastAlertAt !== 0 && t - s.lastAlertAt < deps.alertIntervalMs) {
      s.suppressed++;
      return;
    }
    const suppressed = s.suppressed;
    s.lastAlertAt = t;
    s.suppressed = 0;
    bus.emit('detection.alert', { owner: s.owner, sessionId: s.id, deviceId: s.deviceId, reading, score, suppressed });
    if (s.webhook && deps.postWebhook) {
      const body = {
        event: 'anomaly',
        session_id: s.id,
        device_id: s.deviceId,
        model: { id: s.model.id, name: s.model.name },
        value: reading.value,
        timestamp: new Date(reading.ts).toISOString(),
        anomaly_score: score.anomaly_score,
        confidence: score.confidence,
        signal: score.signal,
        suppressed,
      };
      deps.postWebhook(s.webhook, body).catch((err: unknown) => logger.warn({ err, sessionId: s.id }, 'alert webhook failed'));
    }
  }

  function onStatus(s: Live, status: DeviceStatus) {
    if (status.removed) void stopLive(s, 'device_lost');
  }

  async function stopLive(s: Live, reason: StopReason): Promise<FinalAnalysis> {
    if (s.stopping) return s.stopping;
    s.stopping = (async () => {
      s.unsubscribe();
      if (s.timer) clearTimeout(s.timer);
      const analysis = finalAnalysis(s.total, s.anomalies, s.confidenceSum);
      try {
        if (typeof s.id === 'number') {
          // The session row is final only once every one of its log rows is written.
          if (s.log) await writer.flush();
          await repo.finishSession(s.id, {
            status: reason === 'stopped' ? 'stopped' : 'auto_stopped',
            endedAt: toDbTime(clock.now()),
            threshold: s.detector.threshold,
            totalPredictions: s.total,
            anomalyCount: s.anomalies,
            finalAnalysis: JSON.stringify({ ...analysis, stop_reason: reason }),
          });
        }
      } catch (err) {
        logger.error({ err, sessionId: s.id }, 'detection session could not be finalised in the database');
      } finally {
        live.delete(s.id);
        if (typeof s.id === 'number') await deps.cluster?.release(s.id).catch(() => undefined);
      }
      bus.emit('detection.stopped', { owner: s.owner, sessionId: s.id, deviceId: s.deviceId, reason, finalAnalysis: analysis });
      return analysis;
    })();
    return s.stopping;
  }

  /** The owner's live sessions on this process. */
  function ownedLive(owner: SessionOwner): Live[] {
    return [...live.values()].filter((s) => sameOwner(s.owner, owner) && !s.stopping);
  }

  /** The owner's running sessions that another process runs (cluster mode, signed-in owners only). */
  async function remoteRows(owner: SessionOwner): Promise<SessionRow[]> {
    if (!deps.cluster || owner.userId === null) return [];
    return (await repo.listRunning(owner.userId)).filter((r) => !live.has(r.id));
  }

  function applyThreshold(s: Live, threshold: number) {
    s.detector.threshold = threshold;
    bus.emit('detection.threshold_changed', { owner: s.owner, sessionId: s.id, threshold });
  }

  /** Runs a command on a live session of this process. */
  async function runLocal(s: Live, op: ClusterOp): Promise<FinalAnalysis | LiveSessionInfo> {
    switch (op.type) {
      case 'stop':
        return stopLive(s, op.reason);
      case 'threshold':
        applyThreshold(s, op.threshold);
        return info(s);
      case 'pause':
        s.paused = op.paused;
        return info(s);
      case 'info':
        return info(s);
    }
  }

  /**
   * Runs `op` on one of the owner's sessions wherever it runs: here, or (with REDIS_URL) at the
   * process holding its lease. The owner check is the database row. While the session moves
   * between processes (its owner died and the takeover is due) it retries for a while.
   */
  async function onSession(owner: SessionOwner, sessionId: SessionId, op: ClusterOp): Promise<FinalAnalysis | LiveSessionInfo> {
    const cluster = deps.cluster;
    const local = () => {
      const here = live.get(sessionId);
      return here && sameOwner(here.owner, owner) && (!here.stopping || op.type === 'stop') ? here : undefined;
    };
    const here = local();
    if (here) return runLocal(here, op);
    if (!cluster || typeof sessionId !== 'number' || owner.userId === null) throw new AppError('session-not-found');
    for (const deadline = Date.now() + MOVE_WAIT_MS; ; ) {
      const row = await repo.findSession(sessionId);
      if (!row || row.userId !== owner.userId) throw new AppError('session-not-found');
      if (row.status !== 'running') {
        // Finished meanwhile: a stop answers with the stored analysis, anything else has nothing to act on.
        const fa = op.type === 'stop' ? summary(row).final_analysis : null;
        if (fa) return fa;
        throw new AppError('session-not-found');
      }
      const again = local();
      if (again) return runLocal(again, op);
      const answer = (await cluster.ask(sessionId, op)) as FinalAnalysis | LiveSessionInfo | undefined;
      if (answer !== undefined) return answer;
      if (Date.now() >= deadline) throw new AppError('session-moving');
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** A running session's info from its row, while its owner cannot answer (it is moving). */
  async function rowInfo(r: SessionRow): Promise<LiveSessionInfo> {
    return {
      session_id: r.id,
      device_id: r.deviceId ?? 0,
      model_id: r.modelId ?? 0,
      model_name: r.modelName ?? '',
      threshold: r.threshold,
      started_at: fromDbTime(r.startedAt),
      total_predictions: await repo.countLogs(r.id),
      anomaly_count: await repo.countLogs(r.id, true),
      log: true,
      paused: false,
      ml_status: { window_progress: 0, window_size: 0, current_window: 0, status: 'warming_up', method: 'restoring' },
    };
  }

  /** Every live session of the owner, here and (with REDIS_URL) on other processes, oldest first. */
  async function allSessions(owner: SessionOwner): Promise<Array<{ id: SessionId; local: Live | undefined; row: SessionRow | undefined }>> {
    const here = ownedLive(owner).map((s) => ({ id: s.id, local: s as Live | undefined, row: undefined as SessionRow | undefined }));
    const there = (await remoteRows(owner)).map((row) => ({ id: row.id as SessionId, local: undefined, row }));
    return [...here, ...there].sort((a, b) => (a.local?.startedAt ?? Date.parse(fromDbTime(a.row!.startedAt))) - (b.local?.startedAt ?? Date.parse(fromDbTime(b.row!.startedAt))));
  }

  /** Runs `op` on each of the owner's live sessions (or one), wherever they run; sessions that end meanwhile are left out. */
  async function onSessions(owner: SessionOwner, sessionId: SessionId | undefined, op: ClusterOp): Promise<Array<{ id: SessionId; result: FinalAnalysis | LiveSessionInfo }>> {
    if (sessionId !== undefined) return [{ id: sessionId, result: await onSession(owner, sessionId, op) }];
    const all = await allSessions(owner);
    const results = await Promise.all(
      all.map(async (x) => {
        try {
          return { id: x.id, result: await onSession(owner, x.id, op) };
        } catch (err) {
          if (err instanceof AppError && err.code === 'session-not-found') return undefined;
          throw err;
        }
      }),
    );
    return results.filter((r) => r !== undefined);
  }

  function summary(r: SessionRow): SessionSummary {
    const l = live.get(r.id);
    let fa: FinalAnalysis | null = null;
    if (r.finalAnalysis) {
      try {
        const { stop_reason: _r, ...rest } = JSON.parse(r.finalAnalysis) as FinalAnalysis & { stop_reason?: string };
        fa = rest;
      } catch {
        fa = null;
      }
    }
    const total = l ? l.total : r.totalPredictions;
    const anomalies = l ? l.anomalies : r.anomalyCount;
    if (l) fa = finalAnalysis(l.total, l.anomalies, l.confidenceSum);
    const started = fromDbTime(r.startedAt);
    const ended = r.endedAt ? fromDbTime(r.endedAt) : null;
    return {
      session_id: r.id,
      id: r.id,
      device_id: r.deviceId,
      model_id: r.modelId,
      model_name: r.modelName,
      status: r.status,
      threshold: l ? l.detector.threshold : r.threshold,
      started_at: started,
      ended_at: ended,
      duration_s: ended ? Math.round((Date.parse(ended) - Date.parse(started)) / 100) / 10 : null,
      total_predictions: total,
      anomaly_count: anomalies,
      anomaly_percentage: total > 0 ? Math.round((anomalies / total) * 1000) / 10 : 0,
      final_analysis: fa,
    };
  }

  async function ownedRow(userId: number, id: number): Promise<SessionRow> {
    const r = await repo.findSession(id);
    if (!r || r.userId !== userId) throw new AppError('session-not-found');
    return r;
  }

  return {
    /** Starts a session for the owner on a device with a model; logs unless `log: false` or a guest. */
    async start(owner: SessionOwner, input: StartInput): Promise<LiveSessionInfo> {
      if (closed) throw new AppError('shutting-down');
      if (ownedLive(owner).length + (await remoteRows(owner)).length >= MAX_SESSIONS_PER_OWNER) throw new AppError('rate-limited', `At most ${MAX_SESSIONS_PER_OWNER} live sessions at once.`);
      const viewer = { userId: owner.userId };
      const modelId =
        input.model_id ?? (owner.userId !== null ? (await deps.models.getSelected(owner.userId))?.id : undefined) ?? (await deps.models.defaultPreset()).id;
      const { model, detector } = await deps.models.loadForSession(viewer, modelId);
      const device = await deps.resolveDevice(owner, input.device_id);
      if (input.threshold !== undefined) detector.threshold = input.threshold;
      const log = owner.userId !== null && input.log !== false;
      const id: SessionId =
        owner.userId !== null
          ? await repo.insertSession({ userId: owner.userId, modelId: model.id, deviceId: device.id, threshold: detector.threshold, now: toDbTime(clock.now()) })
          : `guest-${++guestSeq}`;
      const s: Live = {
        id,
        owner,
        deviceId: device.id,
        model,
        detector,
        startedAt: clock.now().getTime(),
        total: 0,
        anomalies: 0,
        confidenceSum: 0,
        log,
        paused: false,
        maxReadings: input.max_readings,
        timer: undefined,
        unsubscribe: () => undefined,
        lastAlertAt: 0,
        suppressed: 0,
        webhook: owner.userId !== null && deps.postWebhook ? await repo.getWebhook(owner.userId) : undefined,
        stopping: undefined,
        method: model.kind,
        errors: 0,
      };
      // The lease is taken before the session is listed, so no heartbeat renews a lease not yet taken.
      if (typeof id === 'number') await deps.cluster?.claim(id);
      live.set(id, s);
      try {
        s.unsubscribe = await hub.subscribe(device.id, { onReading: (r, at) => onReading(s, r, at ?? performance.now()), onStatus: (st) => onStatus(s, st) });
      } catch (err) {
        live.delete(id);
        if (typeof id === 'number') {
          await repo
            .finishSession(id, { status: 'failed', endedAt: toDbTime(clock.now()), threshold: detector.threshold, totalPredictions: 0, anomalyCount: 0, finalAnalysis: JSON.stringify(finalAnalysis(0, 0, 0)) })
            .catch(() => undefined);
        }
        throw err;
      }
      if (input.duration_s !== undefined) s.timer = setTimeout(() => void stopLive(s, 'duration'), input.duration_s * 1000);
      const started = info(s);
      bus.emit('detection.started', { owner, session: started });
      return started;
    },

    /** Stops one session, or every live session of the owner (on any process); resolves with each final analysis. */
    async stop(owner: SessionOwner, sessionId?: SessionId, reason: StopReason = 'stopped'): Promise<Array<{ session_id: SessionId; final_analysis: FinalAnalysis }>> {
      const done = await onSessions(owner, sessionId, { type: 'stop', reason });
      return done.map((x) => ({ session_id: x.id, final_analysis: x.result as FinalAnalysis }));
    },

    /** The owner's live sessions with their counters, wherever they run (oldest first). */
    async status(owner: SessionOwner): Promise<LiveSessionInfo[]> {
      const all = await allSessions(owner);
      const infos = await Promise.all(
        all.map(async (x): Promise<LiveSessionInfo | undefined> => {
          if (x.local) return info(x.local);
          // Another process runs it: ask once; if it is moving, report what the database knows.
          const answer = (await deps.cluster!.ask(x.id as number, { type: 'info' })) as LiveSessionInfo | undefined;
          return answer ?? rowInfo(x.row!);
        }),
      );
      return infos.filter((i) => i !== undefined);
    },

    /** Changes the threshold of the owner's live sessions (or one of them), effective from the next reading. */
    async setThreshold(owner: SessionOwner, threshold: number, sessionId?: SessionId): Promise<LiveSessionInfo[]> {
      if (!(threshold >= 0 && threshold <= 1)) throw new AppError('validation-failed', 'threshold must be between 0 and 1.');
      return (await onSessions(owner, sessionId, { type: 'threshold', threshold })).map((x) => x.result as LiveSessionInfo);
    },

    /** Pauses (readings are skipped, not scored or logged) or resumes the owner's sessions. */
    async setPaused(owner: SessionOwner, paused: boolean): Promise<number> {
      return (await onSessions(owner, undefined, { type: 'pause', paused })).length;
    },

    async history(userId: number, page: { limit: number; cursor?: string }) {
      const beforeId = page.cursor !== undefined ? Number(page.cursor) : undefined;
      if (beforeId !== undefined && !(Number.isInteger(beforeId) && beforeId > 0)) throw new AppError('validation-failed', 'Invalid cursor.');
      const rows = await repo.listSessions(userId, { limit: page.limit + 1, ...(beforeId !== undefined && { beforeId }) });
      const more = rows.length > page.limit;
      const items = rows.slice(0, page.limit).map(summary);
      return { sessions: items, next_cursor: more ? String(items[items.length - 1]!.id) : null };
    },

    async get(userId: number, id: number): Promise<SessionSummary> {
      return summary(await ownedRow(userId, id));
    },

    async logs(userId: number, id: number, q: { limit: number; cursor?: string; anomalies_only?: boolean }) {
      await ownedRow(userId, id);
      const afterId = q.cursor !== undefined ? Number(q.cursor) : undefined;
      if (afterId !== undefined && !(Number.isInteger(afterId) && afterId >= 0)) throw new AppError('validation-failed', 'Invalid cursor.');
      const rows = await repo.listLogs(id, { limit: q.limit + 1, ...(afterId !== undefined && { afterId }), anomaliesOnly: q.anomalies_only ?? false });
      const more = rows.length > q.limit;
      const logs = rows.slice(0, q.limit).map((r) => ({
        id: r.id,
        timestamp: fromDbTime(r.timestamp),
        value: r.value,
        anomaly_score: r.anomalyScore,
        is_anomaly: r.isAnomaly,
        confidence: r.confidence,
        explanation: r.explanation ? (JSON.parse(r.explanation) as unknown) : null,
      }));
      return { logs, next_cursor: more ? String(logs[logs.length - 1]!.id) : null };
    },

    /** The session's log as CSV, page by page (never the whole log in memory). */
    async *logsCsv(userId: number, id: number, anomaliesOnly = false): AsyncGenerator<string> {
      await ownedRow(userId, id);
      yield 'timestamp,value,anomaly_score,is_anomaly,confidence,signal\n';
      let afterId: number | undefined;
      for (;;) {
        const rows = await repo.listLogs(id, { limit: 2000, ...(afterId !== undefined && { afterId }), anomaliesOnly });
        if (rows.length === 0) return;
        let chunk = '';
        for (const r of rows) {
          let signal = '';
          try {
            signal = r.explanation ? String((JSON.parse(r.explanation) as { signal?: string }).signal ?? '') : '';
          } catch {
            signal = '';
          }
          chunk += `${fromDbTime(r.timestamp)},${r.value},${r.anomalyScore},${r.isAnomaly ? 1 : 0},${r.confidence},${signal}\n`;
        }
        yield chunk;
        afterId = rows[rows.length - 1]!.id;
      }
    },

    async getWebhook(userId: number): Promise<string | null> {
      return (await repo.getWebhook(userId)) ?? null;
    },

    async setWebhook(userId: number, url: string | null): Promise<void> {
      await repo.setWebhook(userId, url, toDbTime(clock.now()));
      for (const s of live.values()) if (s.owner.userId === userId) s.webhook = url ?? undefined;
    },

    isModelInUse(modelId: number): boolean {
      for (const s of live.values()) if (s.model.id === modelId) return true;
      return false;
    },

    /** Sessions running on this process (all owners): for metrics and the benchmark. */
    liveCount: () => live.size,

    /** Marks sessions a dead process left `running` as interrupted (their logs give the counts). */
    closeOrphans: () => repo.closeOrphans(toDbTime(clock.now())),

    /** Checkpoints of every logged live session (for scale-out takeover). */
    checkpoints(): SessionCheckpoint[] {
      const out: SessionCheckpoint[] = [];
      for (const s of live.values()) {
        if (typeof s.id !== 'number' || s.owner.userId === null || s.stopping) continue;
        out.push({
          sessionId: s.id,
          userId: s.owner.userId,
          deviceId: s.deviceId,
          modelId: s.model.id,
          threshold: s.detector.threshold,
          log: s.log,
          startedAt: s.startedAt,
          confidenceSum: s.confidenceSum,
          total: s.total,
          paused: s.paused,
          detector: s.detector.serialize(),
        });
      }
      return out;
    },

    isLive: (sessionId: SessionId) => live.has(sessionId),

    /**
     * Continues a session another process owned, from its last checkpoint (or a fresh detector).
     * Counters restart from the rows actually in the log, so the log and `total_predictions` agree.
     */
    async adopt(row: SessionRow, checkpoint: SessionCheckpoint | undefined): Promise<void> {
      if (live.has(row.id) || closed) return;
      const viewer = { userId: row.userId };
      const loaded = await deps.models.loadForSession(viewer, checkpoint?.modelId ?? row.modelId ?? (await deps.models.defaultPreset()).id);
      const detector = checkpoint ? restoreDetector(checkpoint.detector) : loaded.detector;
      detector.threshold = checkpoint?.threshold ?? row.threshold;
      const log = checkpoint?.log ?? true;
      if (log) await writer.flush().catch(() => undefined);
      const total = await repo.countLogs(row.id);
      const anomalies = await repo.countLogs(row.id, true);
      const s: Live = {
        id: row.id,
        owner: { userId: row.userId },
        deviceId: checkpoint?.deviceId ?? row.deviceId ?? 0,
        model: loaded.model,
        detector,
        startedAt: checkpoint?.startedAt ?? Date.parse(fromDbTime(row.startedAt)),
        total: log ? total : (checkpoint?.total ?? 0),
        anomalies: log ? anomalies : 0,
        // The running confidence sum is scaled to the rows that survived.
        confidenceSum: checkpoint && checkpoint.total > 0 ? (checkpoint.confidenceSum / checkpoint.total) * total : 0,
        log,
        paused: checkpoint?.paused ?? false,
        maxReadings: undefined,
        timer: undefined,
        unsubscribe: () => undefined,
        lastAlertAt: 0,
        suppressed: 0,
        webhook: deps.postWebhook ? await repo.getWebhook(row.userId) : undefined,
        stopping: undefined,
        method: loaded.model.kind,
        errors: 0,
      };
      live.set(row.id, s);
      s.unsubscribe = await hub.subscribe(s.deviceId, { onReading: (r, at) => onReading(s, r, at), onStatus: (st) => onStatus(s, st) });
      bus.emit('detection.started', { owner: s.owner, session: info(s) });
    },

    /** Running sessions in the database that no process here runs (takeover candidates). */
    async runningElsewhere(): Promise<SessionRow[]> {
      return (await repo.listRunning()).filter((r) => !live.has(r.id));
    },

    /**
     * Hands every live session over instead of ending it (graceful stop of one process of a
     * cluster): readings stop, logs are flushed, checkpoints returned; leases are released by the caller.
     */
    async detachAll(): Promise<SessionCheckpoint[]> {
      closed = true;
      const cps = this.checkpoints();
      for (const s of live.values()) {
        s.unsubscribe();
        if (s.timer) clearTimeout(s.timer);
      }
      await writer.flush().catch((err: unknown) => logger.error({ err }, 'detection logs not flushed before hand-over'));
      const handed = cps.map((c) => ({ ...c, total: live.get(c.sessionId)?.total ?? c.total, confidenceSum: live.get(c.sessionId)?.confidenceSum ?? c.confidenceSum }));
      live.clear();
      return handed;
    },

    /** Lets go of a session whose lease another process took (no final analysis: the new owner continues it). */
    abandon(sessionId: number): void {
      const s = live.get(sessionId);
      if (!s || s.stopping) return;
      s.unsubscribe();
      if (s.timer) clearTimeout(s.timer);
      live.delete(sessionId);
      logger.warn({ sessionId }, 'session lease lost: another process continues this session');
    },

    /** Runs a command another process sent for a session of this process (undefined if it does not run here). */
    async command(sessionId: number, op: ClusterOp): Promise<FinalAnalysis | LiveSessionInfo | undefined> {
      const s = live.get(sessionId);
      if (!s || (s.stopping && op.type !== 'stop')) return undefined;
      if (op.type === 'threshold' && !(typeof op.threshold === 'number' && op.threshold >= 0 && op.threshold <= 1)) return undefined;
      return runLocal(s, op);
    },

    /** Shutdown: refuses new sessions, stops every live one (final analysis stored, logs flushed). */
    async stopAll(reason: StopReason = 'shutdown'): Promise<void> {
      closed = true;
      await Promise.all([...live.values()].map((s) => stopLive(s, reason)));
    },
  };
}

export type DetectionService = ReturnType<typeof build>;
