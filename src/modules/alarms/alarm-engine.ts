import type { Score } from '../../detectors/index.ts';
import type { DetectionScoredEvent } from '../detection/detection.types.ts';
import { deviationCounts, severityOf, silenceReason, type Rules } from './alarm-rules.ts';

/** What the engine knows of one alarm while it is open in this process. */
export interface LiveAlarm {
  /** Set once the row is written. */
  id: number | undefined;
  userId: number;
  deviceId: number;
  sessionId: number;
  modelId: number | null;
  signal: string;
  state: 'open' | 'acknowledged';
  openedAt: number;
  lastSeenAt: number;
  /** Wall-clock time of the last anomalous reading (the quiet period counts from it). */
  lastSeenWall: number;
  peakScore: number;
  peakValue: number;
  peakExpected: number | null;
  peakAt: number;
  count: number;
  silenced: 'quiet_hours' | 'maintenance' | null;
  /** Wall-clock time it was last notified (open or re-notify). */
  notifiedAt: number;
  dirty: boolean;
}

interface Tracker {
  /** Times of qualifying anomalous readings while no alarm is open (for min_readings / min_duration). */
  hits: number[];
  alarm: LiveAlarm | undefined;
}

interface SessionInfo {
  userId: number;
  deviceId: number;
  modelId: number | null;
  /** Running mean of normal readings: the fallback expected value when the detector gives none. */
  mean: number | undefined;
}

/** The persistence and fan-out the engine drives; every call is asynchronous and off the reading path. */
export interface AlarmSink {
  opened(a: LiveAlarm, severity: string): void;
  progressed(a: LiveAlarm, severity: string): void;
  resolved(a: LiveAlarm, by: 'auto' | 'session'): void;
  renotify(a: LiveAlarm): void;
}

export interface AlarmEngineDeps {
  /** The effective rules of a device right now (cached; never waits). */
  rules(userId: number, deviceId: number): Rules;
  /** Whether a feedback suppression covers this reading. */
  suppressed?(userId: number, deviceId: number, signal: string, deviation: number, score: number): boolean;
  sink: AlarmSink;
  now(): number;
}

/** The optional fields the default detector adds to a score (absent on other kinds). */
type Expecting = Score & { expected?: number; lower?: number; upper?: number };

const ALPHA = 0.02;

/**
 * The alarm lifecycle in memory: one open alarm per session and signal, raised when the rules say
 * so, updated by later anomalies, resolved after a quiet period. `observe` runs on every scored
 * reading and only touches maps; rows and notifications happen through the sink.
 */
export function createAlarmEngine(deps: AlarmEngineDeps) {
  const trackers = new Map<string, Tracker>();
  const sessions = new Map<number, SessionInfo>();
  const byId = new Map<number, LiveAlarm>();

  const keyOf = (sessionId: number, signal: string) => `${sessionId}\u0000${signal}`;

  function sessionOf(e: DetectionScoredEvent, userId: number, sessionId: number): SessionInfo {
    let s = sessions.get(sessionId);
    if (!s) sessions.set(sessionId, (s = { userId, deviceId: e.deviceId, modelId: null, mean: undefined }));
    return s;
  }

  function open(t: Tracker, s: SessionInfo, sessionId: number, signal: string, e: DetectionScoredEvent, expected: number | null, rules: Rules) {
    const now = deps.now();
    const at = e.reading.ts;
    const first = t.hits[0] ?? at;
    const a: LiveAlarm = {
      id: undefined,
      userId: s.userId,
      deviceId: s.deviceId,
      sessionId,
      modelId: s.modelId,
      signal,
      state: 'open',
      openedAt: first,
      lastSeenAt: at,
      lastSeenWall: now,
      peakScore: e.score.anomaly_score,
      peakValue: e.reading.value,
      peakExpected: expected,
      peakAt: at,
      count: t.hits.length,
      silenced: silenceReason(rules, now),
      notifiedAt: now,
      dirty: false,
    };
    t.hits = [];
    t.alarm = a;
    deps.sink.opened(a, severityOf(a.peakScore, a.lastSeenAt - a.openedAt));
  }

  return {
    /** A session started (or moved here): remembers its model for the alarms it raises. */
    sessionStarted(sessionId: number, info: { userId: number; deviceId: number; modelId: number | null }) {
      const s = sessions.get(sessionId);
      if (s) s.modelId = info.modelId;
      else sessions.set(sessionId, { ...info, mean: undefined });
    },

    /** Every scored reading of a signed-in user's session. Synchronous and allocation-light. */
    observe(e: DetectionScoredEvent): void {
      const userId = e.owner.userId;
      if (userId === null || typeof e.sessionId !== 'number') return;
      const s = sessionOf(e, userId, e.sessionId);
      const score = e.score as Expecting;
      const given = typeof score.expected === 'number' && Number.isFinite(score.expected) ? score.expected : null;
      if (!score.is_anomaly) {
        s.mean = s.mean === undefined ? e.reading.value : s.mean + ALPHA * (e.reading.value - s.mean);
        return;
      }
      const rules = deps.rules(userId, s.deviceId);
      const signal = score.signal;
      if (rules.disabled_signals.includes(signal as never)) return;
      const reference = given ?? s.mean ?? null;
      if (!deviationCounts(rules, e.reading.value, reference)) return;
      if (deps.suppressed?.(userId, s.deviceId, signal, reference === null ? Infinity : Math.abs(e.reading.value - reference), score.anomaly_score)) return;
      const key = keyOf(e.sessionId, signal);
      let t = trackers.get(key);
      if (!t) trackers.set(key, (t = { hits: [], alarm: undefined }));
      const a = t.alarm;
      if (a) {
        a.count++;
        a.lastSeenAt = e.reading.ts;
        a.lastSeenWall = deps.now();
        if (score.anomaly_score > a.peakScore) {
          a.peakScore = score.anomaly_score;
          a.peakValue = e.reading.value;
          a.peakExpected = given;
          a.peakAt = e.reading.ts;
        }
        a.dirty = true;
        return;
      }
      const at = e.reading.ts;
      t.hits.push(at);
      const since = at - rules.window_s * 1000;
      while (t.hits.length > 0 && t.hits[0]! < since) t.hits.shift();
      if (t.hits.length > rules.min_readings * 4 + 64) t.hits.splice(0, t.hits.length - rules.min_readings);
      if (t.hits.length >= rules.min_readings && at - t.hits[0]! >= rules.min_duration_s * 1000) open(t, s, e.sessionId, signal, e, given, rules);
    },

    /** The row of an alarm was written: it now has an id. */
    persisted(a: LiveAlarm, id: number) {
      a.id = id;
      byId.set(id, a);
    },

    /**
     * The periodic step: writes progress of changed alarms, resolves quiet ones, re-notifies
     * unacknowledged ones and forgets stale pending hits.
     */
    tick(): void {
      const now = deps.now();
      for (const [key, t] of trackers) {
        const a = t.alarm;
        if (!a) {
          const last = t.hits.at(-1);
          if (last === undefined || now - last > 3_600_000) trackers.delete(key);
          continue;
        }
        if (a.id === undefined) continue;
        const rules = deps.rules(a.userId, a.deviceId);
        if (now - a.lastSeenWall >= rules.resolve_after_s * 1000) {
          trackers.delete(key);
          byId.delete(a.id);
          deps.sink.resolved(a, 'auto');
          continue;
        }
        if (a.dirty) {
          a.dirty = false;
          deps.sink.progressed(a, severityOf(a.peakScore, a.lastSeenAt - a.openedAt));
        }
        if (a.state === 'open' && a.silenced === null && rules.renotify_minutes > 0 && now - a.notifiedAt >= rules.renotify_minutes * 60_000) {
          a.notifiedAt = now;
          deps.sink.renotify(a);
        }
      }
    },

    /** A session ended: its open alarms resolve. */
    sessionEnded(sessionId: number): void {
      sessions.delete(sessionId);
      for (const [key, t] of trackers) {
        if (!key.startsWith(`${sessionId}\u0000`)) continue;
        trackers.delete(key);
        if (t.alarm) {
          if (t.alarm.id !== undefined) byId.delete(t.alarm.id);
          deps.sink.resolved(t.alarm, 'session');
        }
      }
    },

    /** The row of an alarm could not be written: forget it, so the next anomaly tries again. */
    discard(a: LiveAlarm): void {
      const key = keyOf(a.sessionId, a.signal);
      if (trackers.get(key)?.alarm === a) trackers.delete(key);
    },

    /** Someone acknowledged the alarm: it keeps counting, but is no longer re-notified. */
    acknowledged(id: number): void {
      const a = byId.get(id);
      if (a) a.state = 'acknowledged';
    },

    /** The alarm was resolved by hand (or elsewhere): the next anomaly opens a new one. */
    forget(id: number): void {
      const a = byId.get(id);
      if (!a) return;
      byId.delete(id);
      trackers.delete(keyOf(a.sessionId, a.signal));
    },

    /** The open alarm of a device in this process, if any (for MQTT state). */
    openOnDevice(deviceId: number): LiveAlarm | undefined {
      for (const a of byId.values()) if (a.deviceId === deviceId) return a;
      return undefined;
    },

    get(id: number): LiveAlarm | undefined {
      return byId.get(id);
    },

    openCount: () => byId.size,
  };
}

export type AlarmEngine = ReturnType<typeof createAlarmEngine>;
