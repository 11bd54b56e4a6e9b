import type { Reading, Score } from '../../detectors/index.ts';
import { toDbTime } from '../../db/time.ts';
import { AppError } from '../../lib/errors.ts';
import type { DeviceStatus } from '../devices/device-hub.ts';
import { compareStreamIds } from './device-streams.ts';
import type { FinalAnalysis, LiveSessionInfo, SessionId, SessionOwner, StopReason } from './detection.types.ts';
import { finalAnalysis } from './final-analysis.ts';
import { info, ownedLive, remoteRows, type Live, type SessionContext } from './live-session.ts';
import { logRow, logs } from './session-logging.ts';

export interface StartInput {
  model_id?: number;
  device_id?: number;
  threshold?: number;
  duration_s?: number;
  max_readings?: number;
  /** Log every scored reading (default true; guests are never logged). */
  log?: boolean;
}

const MAX_SESSIONS_PER_OWNER = 20;

/**
 * A session's life on this process: start, scoring each reading of its device (log row, bus
 * event, rate-limited alert and webhook), and stop with its final analysis.
 */
export function createSessionLifecycle(ctx: SessionContext) {
  const { deps, live } = ctx;
  const { repo, writer, hub, bus, clock, logger } = deps;
  let guestSeq = 0;

  function onReading(s: Live, reading: Reading, arrivedAt: number, cursor?: string) {
    if (s.stopping) return;
    if (cursor !== undefined) s.cursor = cursor;
    if (s.paused) return;
    let score: Score;
    try {
      score = s.detector.score(reading);
    } catch (err) {
      if (s.errors++ === 0) logger.error({ err, sessionId: s.id }, 'detector failed to score a reading');
      return;
    }
    s.seq++;
    s.total++;
    s.method = score.method;
    if (score.is_anomaly) s.anomalies++;
    s.confidenceSum += score.confidence;
    // Re-scored after a takeover and already logged and pushed by the previous owner: the detector catches up silently.
    const quiet = s.quietUpTo !== undefined && s.seq <= s.quietUpTo;
    if (logs(s)) {
      const row = logRow(s, reading, score, clock.now());
      if (quiet) row.rescored = true;
      writer.push(row);
    }
    if (quiet) return;
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

  /**
   * Subscribes a listed session to its device's readings. With `after` (a takeover of a session on
   * a streamed device), the stream's entries after that cursor are scored first, in order; readings
   * the device delivers meanwhile wait, and those the catch-up already covered are skipped.
   * Resolves with the number of readings the catch-up scored.
   */
  async function attach(s: Live, arrivedAt: (at: number | undefined) => number, after?: string, timing?: { subscribedAt?: number; readAt?: number }): Promise<number> {
    s.attaching = true;
    try {
      return await subscribeAndCatchUp(s, arrivedAt, after, timing);
    } finally {
      // Where the device's stream stands once subscribed: a takeover before the first reading starts here.
      s.cursor ??= deps.cluster?.cursor(s.deviceId);
      s.attaching = false;
    }
  }

  async function subscribeAndCatchUp(s: Live, arrivedAt: (at: number | undefined) => number, after?: string, timing?: { subscribedAt?: number; readAt?: number }): Promise<number> {
    const cluster = deps.cluster;
    if (after === undefined || !cluster) {
      s.unsubscribe = await hub.subscribe(s.deviceId, { onReading: (r, at, c) => onReading(s, r, arrivedAt(at), c), onStatus: (st) => onStatus(s, st) });
      return 0;
    }
    const held: Array<{ r: Reading; at: number; c: string | undefined }> = [];
    let holding = true;
    // The catch-up's last entry: the device's own follower may still deliver entries up to it (it lags), and those are skipped.
    let floor = after;
    const covered = (c: string | undefined) => c !== undefined && compareStreamIds(c, floor) <= 0;
    let caughtUp = 0;
    s.unsubscribe = await hub.subscribe(s.deviceId, {
      onReading: (r, at, c) => {
        if (covered(c)) return;
        if (holding) held.push({ r, at, c });
        else onReading(s, r, arrivedAt(at), c);
      },
      onStatus: (st) => onStatus(s, st),
    });
    if (timing) timing.subscribedAt = Date.now();
    try {
      const { entries, trimmed } = await cluster.readingsSince(s.deviceId, after);
      if (timing) timing.readAt = Date.now();
      if (trimmed) logger.warn({ sessionId: s.id, deviceId: s.deviceId, after }, 'device stream trimmed past the checkpoint: some readings between owners are lost');
      const now = performance.now();
      for (const e of entries) {
        for (const r of e.readings) onReading(s, r, now, e.id);
        caughtUp += e.readings.length;
        floor = e.id;
      }
    } catch (err) {
      logger.error({ err, sessionId: s.id, deviceId: s.deviceId }, 'readings between owners could not be read from the device stream');
    } finally {
      holding = false;
      for (const h of held) if (!covered(h.c)) onReading(s, h.r, arrivedAt(h.at), h.c);
    }
    return caughtUp;
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

  /** Starts a session for the owner on a device with a model; logs unless `log: false` or a guest. */
  async function start(owner: SessionOwner, input: StartInput): Promise<LiveSessionInfo> {
    if (ctx.closed) throw new AppError('shutting-down');
    if (ownedLive(ctx, owner).length + (await remoteRows(ctx, owner)).length >= MAX_SESSIONS_PER_OWNER) {
      throw new AppError('rate-limited', `At most ${MAX_SESSIONS_PER_OWNER} live sessions at once.`);
    }
    const viewer = { userId: owner.userId };
    const modelId = input.model_id ?? (owner.userId !== null ? (await deps.models.getSelected(owner.userId))?.id : undefined) ?? (await deps.models.defaultPreset()).id;
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
      seq: 0,
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
      await attach(s, (at) => at ?? performance.now());
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
  }

  /** Shutdown: refuses new sessions, stops every live one (final analysis stored, logs flushed). */
  async function stopAll(reason: StopReason = 'shutdown'): Promise<void> {
    ctx.closed = true;
    await Promise.all([...live.values()].map((s) => stopLive(s, reason)));
  }

  return { start, stopLive, stopAll, attach };
}

export type SessionLifecycle = ReturnType<typeof createSessionLifecycle>;
