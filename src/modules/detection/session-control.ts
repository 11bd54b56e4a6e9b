import { restoreDetector } from '../../detectors/index.ts';
import { fromDbTime } from '../../db/time.ts';
import { AppError } from '../../lib/errors.ts';
import type { SessionRow } from './detection.repository.ts';
import type { FinalAnalysis, LiveSessionInfo, SessionId, SessionOwner, StopReason } from './detection.types.ts';
import { info, ownedLive, remoteRows, sameOwner, type ClusterOp, type Live, type SessionCheckpoint, type SessionContext, type TakeoverTiming } from './live-session.ts';
import type { SessionLifecycle } from './session-lifecycle.ts';
import type { SessionSummaries } from './session-summaries.ts';

/** How long a command for a session owned by another process keeps retrying while the session moves. */
const MOVE_WAIT_MS = 15_000;

/**
 * Commands on sessions wherever they run (here, or with REDIS_URL at the process holding the
 * lease), and this process's side of the cluster: checkpoints, takeover, hand-over.
 */
export function createSessionControl(ctx: SessionContext, lifecycle: SessionLifecycle, summaries: SessionSummaries) {
  const { deps, live } = ctx;
  const { repo, writer, bus, logger } = deps;

  function applyThreshold(s: Live, threshold: number) {
    s.detector.threshold = threshold;
    bus.emit('detection.threshold_changed', { owner: s.owner, sessionId: s.id, threshold });
  }

  /** Runs a command on a live session of this process. */
  async function runLocal(s: Live, op: ClusterOp): Promise<FinalAnalysis | LiveSessionInfo> {
    switch (op.type) {
      case 'stop':
        return lifecycle.stopLive(s, op.reason);
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
        const fa = op.type === 'stop' ? summaries.summary(row).final_analysis : null;
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
    const here = ownedLive(ctx, owner).map((s) => ({ id: s.id, local: s as Live | undefined, row: undefined as SessionRow | undefined }));
    const there = (await remoteRows(ctx, owner)).map((row) => ({ id: row.id as SessionId, local: undefined, row }));
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

  /** A logged live session of a signed-in owner, not stopping: what scale-out checkpoints and leases. */
  const checkpointed = (s: Live | undefined): s is Live & { id: number; owner: { userId: number } } => s !== undefined && typeof s.id === 'number' && s.owner.userId !== null && !s.stopping;

  /** Checkpoints of the given live sessions, or of every one (for scale-out takeover). */
  function checkpoints(ids?: Iterable<number>): SessionCheckpoint[] {
    // A checkpoint's seq must not run ahead of what a crash leaves: every row pushed so far goes to
    // the journal file first (a page-cache write), so the next owner, replaying it, finds every row
    // up to that seq. Without it, a kill -9 within LOG_JOURNAL_FSYNC_MS of a checkpoint lost the
    // rows still waiting for the journal's next write, and the session's counts stayed short.
    writer.written().catch((err: unknown) => logger.warn({ err }, 'detection log journal not written before a checkpoint'));
    const out: SessionCheckpoint[] = [];
    const sessions = ids ? Array.from(ids, (id) => live.get(id)) : live.values();
    for (const s of sessions) {
      // A session still subscribing has no cursor yet: a checkpoint without one made its takeover
      // skip the readings between owners (it waits for the next tick instead).
      if (!checkpointed(s) || s.attaching) continue;
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
        model: s.model,
        seq: s.seq,
        anomalies: s.anomalies,
        ...(s.cursor !== undefined && { cursor: s.cursor }),
      });
    }
    return out;
  }

  return {
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

    checkpoints,
    checkpointedIds: (): number[] => [...live.values()].filter(checkpointed).map((s) => s.id),

    isLive: (sessionId: SessionId) => live.has(sessionId),

    /**
     * Continues a session another process owned, from its last checkpoint (or a fresh detector).
     * Counters restart from the rows actually in the log, so the log and `total_predictions` agree;
     * after a graceful hand-over (the old owner flushed every row) they come from the checkpoint.
     * Resolves false when this process does not take the session (it runs it already, or is closing).
     */
    async adopt(row: SessionRow, checkpoint: SessionCheckpoint | undefined, timing?: TakeoverTiming): Promise<boolean> {
      if (live.has(row.id) || ctx.closed) return false;
      const viewer = { userId: row.userId };
      // A checkpoint names its model: the artifact is loaded only to start a detector afresh.
      const loaded = checkpoint?.model
        ? { model: checkpoint.model, detector: restoreDetector(checkpoint.detector) }
        : await deps.models.loadForSession(viewer, checkpoint?.modelId ?? row.modelId ?? (await deps.models.defaultPreset()).id);
      const detector = checkpoint && !checkpoint.model ? restoreDetector(checkpoint.detector) : loaded.detector;
      detector.threshold = checkpoint?.threshold ?? row.threshold;
      const log = checkpoint?.log ?? true;
      // A graceful hand-over's checkpoint is exact: every row up to its seq is stored, none after it.
      const exact = checkpoint?.handedOver !== undefined && checkpoint.seq !== undefined && checkpoint.anomalies !== undefined ? checkpoint : undefined;
      if (log && !exact) {
        await writer.flush().catch(() => undefined);
        await deps.replayJournals?.().catch((err: unknown) => logger.warn({ err }, 'journal replay before a takeover failed'));
      }
      // A streamed device: carry on from the checkpoint and score what the stream holds after it
      // (readings between owners included); rows the old owner logged after the checkpoint get the
      // same sequence numbers again and are stored once. Otherwise: counters from the log.
      const replay = checkpoint?.cursor !== undefined && checkpoint.seq !== undefined && deps.cluster !== undefined ? { cursor: checkpoint.cursor, seq: checkpoint.seq } : undefined;
      const [logged, total, anomalies, webhook] = await Promise.all([
        exact ? exact.seq! : repo.maxSeq(row.id),
        exact || (replay && !log) ? checkpoint!.total : repo.countLogs(row.id, false, replay?.seq),
        exact || (replay && !log) ? (checkpoint!.anomalies ?? 0) : repo.countLogs(row.id, true, replay?.seq),
        deps.postWebhook ? repo.getWebhook(row.userId) : undefined,
      ]);
      const seq = replay || exact ? checkpoint!.seq! : logged;
      if (live.has(row.id) || ctx.closed) return false;
      const s: Live = {
        id: row.id,
        owner: { userId: row.userId },
        deviceId: checkpoint?.deviceId ?? row.deviceId ?? 0,
        model: loaded.model,
        detector,
        startedAt: checkpoint?.startedAt ?? Date.parse(fromDbTime(row.startedAt)),
        seq,
        total: log || exact ? total : (checkpoint?.total ?? 0),
        anomalies: log || replay || exact ? anomalies : 0,
        // The running confidence sum is scaled to the rows that survived.
        confidenceSum: checkpoint && checkpoint.total > 0 ? (checkpoint.confidenceSum / checkpoint.total) * total : 0,
        log,
        paused: checkpoint?.paused ?? false,
        maxReadings: undefined,
        timer: undefined,
        unsubscribe: () => undefined,
        lastAlertAt: 0,
        suppressed: 0,
        webhook,
        stopping: undefined,
        method: loaded.model.kind,
        errors: 0,
        ...(replay && { cursor: replay.cursor, quietUpTo: logged }),
      };
      live.set(row.id, s);
      if (timing) timing.restoredAt = Date.now();
      const caughtUp = await lifecycle.attach(s, (at) => at ?? performance.now(), replay?.cursor, timing);
      if (timing) {
        timing.caughtUpAt = Date.now();
        timing.caughtUp = caughtUp;
      }
      bus.emit('detection.started', { owner: s.owner, session: info(s) });
      return true;
    },

    /**
     * Runs the default preset's detector through what a takeover does (score, serialize, restore,
     * score) on a synthetic signal, once at start-up in a cluster: a process that has just started
     * then restores its first handed-over session with compiled code, not in V8's cold paths
     * (on a loaded 2-core machine those added 100-200 ms to a hand-over).
     */
    async warmUp(): Promise<void> {
      const { detector } = await deps.models.loadForSession({ userId: null }, (await deps.models.defaultPreset()).id);
      const t0 = Date.now();
      for (let i = 0; i < 300; i++) detector.score({ ts: t0 + i * 100, value: Math.sin(i / 10) });
      const restored = restoreDetector(JSON.parse(JSON.stringify(detector.serialize())) as ReturnType<typeof detector.serialize>);
      for (let i = 300; i < 350; i++) restored.score({ ts: t0 + i * 100, value: Math.sin(i / 10) });
    },

    /** A session's row while it is `running` (a hand-over's candidate). */
    async runningRow(sessionId: number): Promise<SessionRow | undefined> {
      const row = await repo.findSession(sessionId);
      return row?.status === 'running' ? row : undefined;
    },

    /** Running sessions in the database that no process here runs (takeover candidates). */
    async runningElsewhere(): Promise<SessionRow[]> {
      return (await repo.listRunning()).filter((r) => !live.has(r.id));
    },

    /**
     * Hands every live session over instead of ending it (graceful stop of one process of a
     * cluster): readings stop, logs are flushed, checkpoints returned; leases are released by the
     * caller. `stoppedAt` (epoch ms) is when this process began to stop; when the flush succeeded
     * the checkpoints say so (`handedOver`), and the next owner trusts their counters.
     */
    async detachAll(stoppedAt = Date.now()): Promise<SessionCheckpoint[]> {
      ctx.closed = true;
      const cps = checkpoints();
      for (const s of live.values()) {
        s.unsubscribe();
        if (s.timer) clearTimeout(s.timer);
      }
      const flushed = await writer.flush().then(
        () => true,
        (err: unknown) => {
          logger.error({ err }, 'detection logs not flushed before hand-over');
          return false;
        },
      );
      const handed = cps.map((c) => ({
        ...c,
        total: live.get(c.sessionId)?.total ?? c.total,
        confidenceSum: live.get(c.sessionId)?.confidenceSum ?? c.confidenceSum,
        ...(flushed && { handedOver: { stoppedAt, releasedAt: 0 } }),
      }));
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
  };
}
