import { dbTimeToMs, fromDbTime, toDbTime } from '../../db/time.ts';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { encodeCursor, decodeCursor } from '../social/cursor.ts';
import { createAlarmEngine, type LiveAlarm } from './alarm-engine.ts';
import { checkRules, defaultRules, mergeRules, type PartialRules, type Rules } from './alarm-rules.ts';
import type { AlarmRow, AlarmsRepository } from './alarms.repository.ts';
import type { AlarmView, FeedbackInput } from './alarms.schemas.ts';
import { createSerialQueue } from './serial-queue.ts';

export interface AlarmsServiceDeps {
  repo: AlarmsRepository;
  bus: AppBus;
  clock: Clock;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Server default of the quiet period after which an alarm resolves by itself. */
  resolveAfterSeconds: number;
  /** How often changes are written and pushed, and quiet alarms resolved. */
  tickMs: number;
  /** Whether this device belongs to the user (or is shared): rules may be set only on those. */
  deviceUsable(userId: number, deviceId: number): Promise<void>;
  /** Feedback hooks (labels for training); absent = stored on the alarm only. */
  feedback?: AlarmFeedbackHooks;
}

export interface AlarmFeedbackHooks {
  notAnomaly(alarm: AlarmView, userId: number, opts: { note?: string; suppress: boolean }): Promise<void>;
  confirmed?(alarm: AlarmView, userId: number, note?: string): Promise<void>;
  /** Marks `start`..`end` of the user's session as anomalous. */
  missed(userId: number, sessionId: number, start: string, end: string, note?: string): Promise<unknown>;
  /** Whether a suppression covers an anomalous reading (synchronous, cached). */
  suppressed?(userId: number, deviceId: number, signal: string, deviation: number, score: number): boolean;
}

const RULES_TTL_MS = 10_000;

export function toAlarmView(r: AlarmRow): AlarmView {
  return {
    id: r.id,
    device_id: r.device_id,
    session_id: r.session_id,
    model_id: r.model_id,
    signal: r.signal,
    severity: r.severity as AlarmView['severity'],
    state: r.state as AlarmView['state'],
    opened_at: fromDbTime(r.opened_at),
    last_seen_at: fromDbTime(r.last_seen_at),
    resolved_at: r.resolved_at ? fromDbTime(r.resolved_at) : null,
    resolved_by: (r.resolved_by ?? null) as AlarmView['resolved_by'],
    peak_score: r.peak_score,
    peak_value: r.peak_value,
    peak_expected: r.peak_expected,
    peak_at: fromDbTime(r.peak_at),
    anomaly_count: r.anomaly_count,
    silenced: (r.silenced ?? null) as AlarmView['silenced'],
    acknowledged_by: r.acknowledged_by,
    acknowledged_at: r.acknowledged_at ? fromDbTime(r.acknowledged_at) : null,
    note: r.note,
    feedback: (r.feedback ?? null) as AlarmView['feedback'],
  };
}

/**
 * Alarms: listens on the bus for scored readings, keeps the lifecycle in memory (the engine), and
 * writes rows and pushes `alarm.*` events through one serial queue, so the reading path never waits.
 */
export function createAlarmsService(deps: AlarmsServiceDeps) {
  const { repo, bus, clock, logger } = deps;
  const base = defaultRules(deps.resolveAfterSeconds);
  const cache = new Map<string, { rules: Rules; at: number; loading: boolean }>();
  const queue = createSerialQueue({ max: 50_000, onError: (err) => logger.error({ err }, 'alarm write failed') });
  const now = () => toDbTime(clock.now());

  async function loadRules(userId: number, deviceId: number): Promise<Rules> {
    const [user, device] = await Promise.all([repo.getRules(userId, 0), deviceId > 0 ? repo.getRules(userId, deviceId) : undefined]);
    const parse = (s: string | undefined) => (s ? (JSON.parse(s) as PartialRules) : undefined);
    return mergeRules(base, parse(user), parse(device));
  }

  function refresh(userId: number, deviceId: number) {
    const key = `${userId}:${deviceId}`;
    const entry = cache.get(key) ?? { rules: cache.get(`${userId}:0`)?.rules ?? base, at: 0, loading: false };
    if (entry.loading) return;
    entry.loading = true;
    cache.set(key, entry);
    loadRules(userId, deviceId).then(
      (rules) => cache.set(key, { rules, at: Date.now(), loading: false }),
      (err: unknown) => {
        entry.loading = false;
        entry.at = Date.now();
        logger.warn({ err, userId, deviceId }, 'alarm rules could not be loaded; using the last known');
      },
    );
  }

  function rulesNow(userId: number, deviceId: number): Rules {
    const e = cache.get(`${userId}:${deviceId}`);
    if (!e || Date.now() - e.at > RULES_TTL_MS) refresh(userId, deviceId);
    return e?.rules ?? base;
  }

  const emit = (kind: 'alarm.opened' | 'alarm.updated' | 'alarm.resolved' | 'alarm.renotify', row: AlarmRow) => bus.emit(kind, { userId: row.user_id, alarm: toAlarmView(row) });

  const progressOf = (a: LiveAlarm, severity: string) => ({
    severity,
    last_seen_at: toDbTime(a.lastSeenAt),
    peak_score: a.peakScore,
    peak_value: a.peakValue,
    peak_expected: a.peakExpected,
    peak_at: toDbTime(a.peakAt),
    anomaly_count: a.count,
  });

  const engine = createAlarmEngine({
    rules: rulesNow,
    ...(deps.feedback?.suppressed && { suppressed: deps.feedback.suppressed }),
    now: () => clock.now().getTime(),
    sink: {
      opened(a, severity) {
        queue.push(async () => {
          try {
            const row = await repo.insert(
              { user_id: a.userId, device_id: a.deviceId, session_id: a.sessionId, model_id: a.modelId, signal: a.signal, opened_at: toDbTime(a.openedAt), silenced: a.silenced, ...progressOf(a, severity) },
              now(),
            );
            engine.persisted(a, row.id);
            emit('alarm.opened', row);
          } catch (err) {
            engine.discard(a);
            throw err;
          }
        });
      },
      progressed(a, severity) {
        const queued = queue.push(async () => {
          const id = a.id!;
          if (!(await repo.progress(id, progressOf(a, severity), now()))) {
            engine.forget(id);
            return;
          }
          const row = await repo.find(id);
          if (row) emit('alarm.updated', row);
        }, true);
        if (!queued) a.dirty = true;
      },
      resolved(a, by) {
        queue.push(async () => {
          if (a.id === undefined) return;
          await repo.progress(a.id, progressOf(a, (await repo.find(a.id))?.severity ?? 'minor'), now());
          if (!(await repo.resolve(a.id, by, now()))) return;
          const row = await repo.find(a.id);
          if (row) emit('alarm.resolved', row);
        });
      },
      renotify(a) {
        queue.push(async () => {
          const row = a.id !== undefined ? await repo.find(a.id) : undefined;
          if (row && row.state === 'open') emit('alarm.renotify', row);
        });
      },
    },
  });

  async function owned(userId: number, id: number): Promise<AlarmRow> {
    const r = await repo.find(id);
    if (!r || r.user_id !== userId) throw new AppError('alarm-not-found');
    return r;
  }

  let timer: NodeJS.Timeout | undefined;
  const unsubs: Array<() => void> = [];

  return {
    engine,

    /** Subscribes to the bus and starts the periodic step; with `closeOrphans`, alarms a stopped process left open are resolved. */
    async start(opts: { closeOrphans: boolean }): Promise<void> {
      if (opts.closeOrphans) {
        for (const r of await repo.listUnresolved()) if (await repo.resolve(r.id, 'session', now())) logger.warn({ alarmId: r.id }, 'alarm left open by a restart was resolved');
      }
      unsubs.push(
        bus.on('detection.started', ({ owner, session }) => {
          if (owner.userId === null || typeof session.session_id !== 'number') return;
          engine.sessionStarted(session.session_id, { userId: owner.userId, deviceId: session.device_id, modelId: session.model_id });
          rulesNow(owner.userId, session.device_id);
        }),
        bus.on('detection.scored', (e) => engine.observe(e)),
        bus.on('detection.stopped', (e) => {
          if (typeof e.sessionId === 'number') engine.sessionEnded(e.sessionId);
        }),
      );
      timer = setInterval(() => engine.tick(), deps.tickMs);
      timer.unref();
    },

    /** Stops listening and writes what is queued. */
    async stop(): Promise<void> {
      for (const u of unsubs.splice(0)) u();
      if (timer) clearInterval(timer);
      engine.tick();
      await queue.drain();
    },

    /** Resolves once every alarm write queued so far is done (tests, shutdown). */
    drain: () => queue.drain(),

    async list(userId: number, q: { state?: 'open' | 'acknowledged' | 'resolved' | 'active'; device_id?: number; session_id?: number; since?: string; limit?: number; cursor?: string }) {
      const limit = q.limit ?? 20;
      const before = decodeCursor(q.cursor);
      const rows = await repo.list(userId, {
        limit: limit + 1,
        ...(q.state && { state: q.state }),
        ...(q.device_id !== undefined && { deviceId: q.device_id }),
        ...(q.session_id !== undefined && { sessionId: q.session_id }),
        ...(q.since !== undefined && { since: toDbTime(new Date(q.since)) }),
        ...(before && { before }),
      });
      const more = rows.length > limit;
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { alarms: page.map(toAlarmView), next_cursor: more && last ? encodeCursor({ at: last.opened_at, id: last.id }) : null };
    },

    /** One alarm with the session's readings around it (a minute either side, at most 600). */
    async get(userId: number, id: number) {
      const r = await owned(userId, id);
      const from = toDbTime(dbTimeToMs(r.opened_at) - 60_000);
      const to = toDbTime(dbTimeToMs(r.resolved_at ?? r.last_seen_at) + 60_000);
      const readings = await repo.readingsAround(r.session_id, from, to, 600);
      return {
        ...toAlarmView(r),
        readings: readings.map((x) => ({ timestamp: fromDbTime(x.timestamp), value: x.value, anomaly_score: x.anomaly_score, is_anomaly: x.is_anomaly === 1 || (x.is_anomaly as unknown) === true })),
      };
    },

    async acknowledge(userId: number, id: number, note?: string): Promise<AlarmView> {
      const r = await owned(userId, id);
      if (r.state === 'resolved') throw new AppError('alarm-resolved');
      if (r.state === 'open') await repo.acknowledge(id, userId, note, now());
      engine.acknowledged(id);
      const row = (await repo.find(id))!;
      if (row.state === 'resolved') throw new AppError('alarm-resolved');
      if (r.state === 'open') emit('alarm.updated', row);
      return toAlarmView(row);
    },

    async resolve(userId: number, id: number, note?: string): Promise<AlarmView> {
      const r = await owned(userId, id);
      if (r.state === 'resolved') return toAlarmView(r);
      engine.forget(id);
      await repo.resolve(id, 'user', now(), note !== undefined ? { note } : {});
      const row = (await repo.find(id))!;
      emit('alarm.resolved', row);
      return toAlarmView(row);
    },

    async feedback(userId: number, id: number, input: FeedbackInput): Promise<AlarmView> {
      const r = await owned(userId, id);
      // `feedback`, `from` and `to` are accepted as spellings of `kind`, `start` and `end`.
      const kind = input.kind ?? input.feedback;
      const start = input.start ?? input.from;
      const end = input.end ?? input.to;
      if (!kind || (input.kind && input.feedback && input.kind !== input.feedback)) throw new AppError('validation-failed', 'Give the feedback as `feedback` (or `kind`): not_anomaly, confirmed or missed.');
      if (input.suppress && kind !== 'not_anomaly') throw new AppError('validation-failed', '`suppress` goes with `not_anomaly` only.');
      if (kind === 'missed') {
        if (!start || !end || !(Date.parse(end) > Date.parse(start))) throw new AppError('invalid-time-range', '`missed` needs `from` and `to` (or `start` and `end`), the end after the start.');
        if (!deps.feedback) throw new AppError('channel-unavailable', 'Feedback labels are not available on this server.');
        await deps.feedback.missed(userId, r.session_id, start, end, input.note);
        return toAlarmView(r);
      }
      await repo.setFeedback(id, kind, input.note, now());
      const row = (await repo.find(id))!;
      const note = input.note !== undefined ? { note: input.note } : {};
      if (kind === 'not_anomaly' && deps.feedback) await deps.feedback.notAnomaly(toAlarmView(row), userId, { ...note, suppress: input.suppress ?? false });
      if (kind === 'confirmed' && deps.feedback?.confirmed) await deps.feedback.confirmed(toAlarmView(row), userId, input.note);
      emit('alarm.updated', row);
      return toAlarmView(row);
    },

    /** The rules as set at one level (device 0 = the user's defaults) and the effective result. */
    async getRules(userId: number, deviceId: number) {
      if (deviceId > 0) await deps.deviceUsable(userId, deviceId);
      const own = await repo.getRules(userId, deviceId);
      return { device_id: deviceId === 0 ? null : deviceId, rules: own ? (JSON.parse(own) as PartialRules) : {}, effective: await loadRules(userId, deviceId) };
    },

    /** Replaces the rules at one level; running sessions use them from their next reading. */
    async putRules(userId: number, deviceId: number, rules: PartialRules) {
      if (deviceId > 0) await deps.deviceUsable(userId, deviceId);
      checkRules(rules);
      await repo.putRules(userId, deviceId, JSON.stringify(rules), now());
      await this.reloadRules(userId);
      return this.getRules(userId, deviceId);
    },

    async deleteRules(userId: number, deviceId: number) {
      if (deviceId > 0) await deps.deviceUsable(userId, deviceId);
      await repo.deleteRules(userId, deviceId);
      await this.reloadRules(userId);
    },

    /** Reloads every cached rule set of a user now (their defaults apply to all devices). */
    async reloadRules(userId: number): Promise<void> {
      const keys = [...cache.keys()].filter((k) => k.startsWith(`${userId}:`));
      await Promise.all(
        keys.map(async (k) => {
          const deviceId = Number(k.split(':')[1]);
          cache.set(k, { rules: await loadRules(userId, deviceId), at: Date.now(), loading: false });
        }),
      );
    },

    /** The session's readings within `spanMs` either side of the alarm's peak (for notifications). */
    async readingsNearPeak(a: AlarmView, spanMs = 15_000, limit = 40) {
      const peak = Date.parse(a.peak_at);
      const rows = await repo.readingsAround(a.session_id, toDbTime(peak - spanMs), toDbTime(peak + spanMs), limit);
      return rows.map((x) => ({ timestamp: fromDbTime(x.timestamp), value: x.value, anomaly_score: x.anomaly_score, is_anomaly: x.is_anomaly === 1 || (x.is_anomaly as unknown) === true }));
    },

    /** Effective rules (cached) of a device: used by the notifier for quiet hours and digests. */
    rulesFor: rulesNow,
  };
}

export type AlarmsService = ReturnType<typeof createAlarmsService>;
