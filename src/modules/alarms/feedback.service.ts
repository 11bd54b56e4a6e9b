import { dbTimeToMs, fromDbTime, toDbTime } from '../../db/time.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { AlarmFeedbackHooks } from './alarms.service.ts';
import type { AlarmView } from './alarms.schemas.ts';
import type { FeedbackLabelRow, FeedbackRepository, SuppressionRow } from './feedback.repository.ts';

type Series = { ts: Float64Array; values: Float64Array };
type Segment = { start: number; end: number };

export interface FeedbackSessions {
  /** The user's session (undefined for anyone else's). */
  find(userId: number, sessionId: number): Promise<{ deviceId: number | null; modelId: number | null; startedAt: string; endedAt: string | null } | undefined>;
  /** Readings of the user's session between two times (epoch ms, inclusive). */
  between(userId: number, sessionId: number, from: number, to: number): Promise<Series>;
}

export interface FeedbackServiceDeps {
  repo: FeedbackRepository;
  sessions: FeedbackSessions;
  clock: Clock;
  logger: { warn(obj: object, msg: string): void };
  /** How often suppressions set by other processes are picked up. */
  refreshMs?: number;
}

/** Context kept either side of a false alarm when it becomes training data. */
const WINDOW_PAD_MS = 30_000;
/** The most sessions with feedback one retrain reads whole for evaluation. */
const MAX_EVALUATION_SESSIONS = 10;

export const toLabelView = (l: FeedbackLabelRow) => ({
  id: l.id,
  session_id: l.session_id,
  device_id: l.device_id,
  model_id: l.model_id,
  alarm_id: l.alarm_id,
  kind: l.kind as 'normal' | 'anomalous',
  source: l.source as 'not_anomaly' | 'confirmed' | 'missed',
  signal: l.signal,
  start: fromDbTime(l.start_at),
  end: fromDbTime(l.end_at),
  note: l.note,
});

export const toSuppressionView = (s: SuppressionRow) => ({
  id: s.id,
  device_id: s.device_id,
  signal: s.signal,
  max_deviation: s.max_deviation,
  max_score: s.max_score,
  alarm_id: s.alarm_id,
  created_at: fromDbTime(s.created_at),
});

/**
 * Alarm feedback as labels the models understand: a false alarm becomes a `normal` segment of its
 * session (and, asked for, a suppression of that signal up to that magnitude on that device), a
 * confirmed alarm or a missed range an `anomalous` one. Backtests on a session score against the
 * anomalous segments; a retrain with `include_feedback` trains on the normal ones and measures on
 * the labelled sessions.
 */
export function createFeedbackService(deps: FeedbackServiceDeps) {
  const { repo } = deps;
  const now = () => toDbTime(deps.clock.now());
  /** `user:device:signal` → suppressions (read synchronously on every anomalous reading). */
  let cache = new Map<string, Array<{ maxDeviation: number | null; maxScore: number }>>();
  let timer: NodeJS.Timeout | undefined;

  async function reload(): Promise<void> {
    const next = new Map<string, Array<{ maxDeviation: number | null; maxScore: number }>>();
    for (const s of await repo.listSuppressions()) {
      const key = `${s.user_id}:${s.device_id}:${s.signal}`;
      next.set(key, [...(next.get(key) ?? []), { maxDeviation: s.max_deviation, maxScore: s.max_score }]);
    }
    cache = next;
  }

  async function alarmLabel(alarm: AlarmView, userId: number, kind: 'normal' | 'anomalous', source: 'not_anomaly' | 'confirmed', note?: string) {
    await repo.insertLabel({
      user_id: userId,
      session_id: alarm.session_id,
      device_id: alarm.device_id,
      model_id: alarm.model_id,
      alarm_id: alarm.id,
      kind,
      source,
      signal: alarm.signal,
      start_at: toDbTime(new Date(alarm.opened_at)),
      end_at: toDbTime(new Date(alarm.resolved_at && Date.parse(alarm.resolved_at) < Date.parse(alarm.last_seen_at) ? alarm.resolved_at : alarm.last_seen_at)),
      note: note ?? null,
      created_at: now(),
    });
  }

  /** Stores `start`..`end` of the user's session as an anomalous segment (source `missed`). */
  async function missedRange(userId: number, sessionId: number, start: string, end: string, note?: string) {
    const from = Date.parse(start);
    const to = Date.parse(end);
    const s = await deps.sessions.find(userId, sessionId);
    if (!s) throw new AppError('session-not-found');
    const sessionEnd = s.endedAt ? dbTimeToMs(s.endedAt) : deps.clock.now().getTime();
    if (!(to > from) || to < dbTimeToMs(s.startedAt) || from > sessionEnd) {
      throw new AppError('invalid-time-range', `The range must end after it starts and overlap the session (${fromDbTime(s.startedAt)} to ${new Date(sessionEnd).toISOString()}).`);
    }
    return repo.insertLabel({
      user_id: userId,
      session_id: sessionId,
      device_id: s.deviceId,
      model_id: s.modelId,
      alarm_id: null,
      kind: 'anomalous',
      source: 'missed',
      signal: null,
      start_at: toDbTime(from),
      end_at: toDbTime(to),
      note: note ?? null,
      created_at: now(),
    });
  }

  const hooks: Required<AlarmFeedbackHooks> = {
    async notAnomaly(alarm, userId, opts) {
      await alarmLabel(alarm, userId, 'normal', 'not_anomaly', opts.note);
      if (!opts.suppress) return;
      await repo.insertSuppression({
        user_id: userId,
        device_id: alarm.device_id,
        signal: alarm.signal,
        max_deviation: alarm.peak_expected !== null ? Math.abs(alarm.peak_value - alarm.peak_expected) : null,
        max_score: alarm.peak_score,
        alarm_id: alarm.id,
        created_at: now(),
      });
      await reload();
    },

    async confirmed(alarm, userId, note) {
      await alarmLabel(alarm, userId, 'anomalous', 'confirmed', note);
    },

    missed: (userId, sessionId, start, end, note) => missedRange(userId, sessionId, start, end, note),

    suppressed(userId, deviceId, signal, deviation, score) {
      const list = cache.get(`${userId}:${deviceId}:${signal}`);
      if (!list) return false;
      for (const s of list) {
        if (s.maxDeviation !== null ? Number.isFinite(deviation) && deviation <= s.maxDeviation : score <= s.maxScore) return true;
      }
      return false;
    },
  };

  return {
    hooks,

    async start(): Promise<void> {
      await reload();
      timer = setInterval(() => {
        reload().catch((err: unknown) => deps.logger.warn({ err }, 'alarm suppressions not reloaded'));
      }, deps.refreshMs ?? 30_000);
      timer.unref();
    },

    stop(): void {
      if (timer) clearInterval(timer);
    },

    /**
     * Session-level feedback without an alarm: `missed` marks `from`..`to` of the session as an
     * anomalous segment, the same label an alarm's `missed` feedback stores.
     */
    async sessionFeedback(userId: number, sessionId: number, input: { kind: 'missed'; from: string; to: string; note?: string }) {
      if (!(Date.parse(input.to) > Date.parse(input.from))) throw new AppError('invalid-time-range', '`to` must be after `from`.');
      return toLabelView(await missedRange(userId, sessionId, input.from, input.to, input.note));
    },

    /** The session's anomalous segments (confirmed alarms and missed ranges), epoch ms: a backtest's labels. */
    async anomalousSegments(userId: number, sessionId: number): Promise<Segment[]> {
      return (await repo.labelsForSession(userId, sessionId)).filter((l) => l.kind === 'anomalous').map((l) => ({ start: dbTimeToMs(l.start_at), end: dbTimeToMs(l.end_at) }));
    },

    /** Every label of the user's session. */
    async labels(userId: number, sessionId: number) {
      if (!(await deps.sessions.find(userId, sessionId))) throw new AppError('session-not-found');
      return (await repo.labelsForSession(userId, sessionId)).map(toLabelView);
    },

    async suppressions(userId: number) {
      return (await repo.listSuppressions(userId)).map(toSuppressionView);
    },

    async deleteSuppression(userId: number, id: number): Promise<void> {
      if (!(await repo.deleteSuppression(userId, id))) throw new AppError('not-found', 'No such suppression.');
      await reload();
    },

    /**
     * Training data from feedback on sessions that ran the model: each false alarm with 30 s of
     * context either side becomes normal training data (the session's anomalous segments inside
     * it stay out); every labelled session, read whole, is measured against its anomalous segments.
     */
    async forTraining(userId: number, modelId: number): Promise<{ windows: Array<{ readings: Series; labels: Segment[] }>; sessions: Array<{ sessionId: number; readings: Series; labels: Segment[] }> }> {
      const labels = await repo.labelsForModel(userId, modelId);
      const bySession = new Map<number, FeedbackLabelRow[]>();
      for (const l of labels) bySession.set(l.session_id, [...(bySession.get(l.session_id) ?? []), l]);
      const anomalousOf = (sessionId: number) =>
        (bySession.get(sessionId) ?? []).filter((l) => l.kind === 'anomalous').map((l) => ({ start: dbTimeToMs(l.start_at), end: dbTimeToMs(l.end_at) }));
      const windows = [];
      for (const l of labels.filter((x) => x.kind === 'normal')) {
        const readings = await deps.sessions.between(userId, l.session_id, dbTimeToMs(l.start_at) - WINDOW_PAD_MS, dbTimeToMs(l.end_at) + WINDOW_PAD_MS);
        if (readings.ts.length > 0) windows.push({ readings, labels: anomalousOf(l.session_id) });
      }
      const sessions = [];
      for (const sessionId of [...bySession.keys()].slice(0, MAX_EVALUATION_SESSIONS)) {
        const readings = await deps.sessions.between(userId, sessionId, 0, Number.MAX_SAFE_INTEGER);
        if (readings.ts.length > 0) sessions.push({ sessionId, readings, labels: anomalousOf(sessionId) });
      }
      return { windows, sessions };
    },
  };
}

export type FeedbackService = ReturnType<typeof createFeedbackService>;
