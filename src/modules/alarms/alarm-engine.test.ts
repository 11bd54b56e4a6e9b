import { describe, expect, it } from 'vitest';
import type { Score } from '../../detectors/index.ts';
import { createAlarmEngine, type LiveAlarm } from './alarm-engine.ts';
import { defaultRules, mergeRules, type PartialRules } from './alarm-rules.ts';

function setup(rules: PartialRules = {}) {
  let t = 1_000_000;
  const events: Array<{ kind: string; a: LiveAlarm; severity?: string }> = [];
  let current = mergeRules(defaultRules(5), rules);
  const engine = createAlarmEngine({
    rules: () => current,
    now: () => t,
    sink: {
      opened: (a, severity) => {
        events.push({ kind: 'opened', a: { ...a }, severity });
        engine.persisted(a, events.length);
      },
      progressed: (a, severity) => events.push({ kind: 'progressed', a: { ...a }, severity }),
      resolved: (a) => events.push({ kind: 'resolved', a: { ...a } }),
      renotify: (a) => events.push({ kind: 'renotify', a: { ...a } }),
    },
  });
  const read = (value: number, anomaly: boolean, signal: Score['signal'] = 'spike', score = anomaly ? 0.8 : 0.1) => {
    t += 100;
    engine.observe({
      owner: { userId: 1 },
      sessionId: 7,
      deviceId: 3,
      reading: { ts: t, value },
      score: { anomaly_score: score, is_anomaly: anomaly, confidence: 0.5, method: 'test', signal },
      warmup: { window_progress: 1, window_size: 1, current_window: 1, status: 'ml_ready' },
      arrivedAt: 0,
    });
  };
  return { engine, events, read, advance: (ms: number) => (t += ms), setRules: (r: PartialRules) => (current = mergeRules(defaultRules(5), r)) };
}

describe('alarm engine', () => {
  it('keeps one alarm per session and signal, updates it, and resolves it after the quiet period', () => {
    const { engine, events, read, advance } = setup();
    for (let i = 0; i < 20; i++) read(3, false);
    read(9, true, 'spike', 0.7);
    read(10, true, 'spike', 0.95);
    read(0, true, 'dropout');
    expect(events.filter((e) => e.kind === 'opened').map((e) => e.a.signal)).toEqual(['spike', 'dropout']);
    engine.tick();
    const progressed = events.find((e) => e.kind === 'progressed' && e.a.signal === 'spike')!;
    expect(progressed.a).toMatchObject({ count: 2, peakScore: 0.95, peakValue: 10 });
    expect(progressed.severity).toBe('critical');
    advance(5000);
    engine.tick();
    expect(events.filter((e) => e.kind === 'resolved')).toHaveLength(2);
    read(9, true);
    expect(events.filter((e) => e.kind === 'opened')).toHaveLength(3);
  });

  it('waits for N anomalous readings within M seconds and a minimum duration', () => {
    const { events, read } = setup({ min_readings: 3, window_s: 1, min_duration_s: 0.15 });
    for (let i = 0; i < 20; i++) read(3, false);
    read(9, true);
    read(9, true);
    expect(events).toHaveLength(0);
    read(9, true);
    expect(events).toHaveLength(1);
    expect(events[0]!.a.count).toBe(3);
  });

  it('drops disabled signals and re-notifies an unacknowledged alarm, but not an acknowledged one', () => {
    const { engine, events, read, advance } = setup({ disabled_signals: ['drift'], renotify_minutes: 1, resolve_after_s: 3600 });
    for (let i = 0; i < 20; i++) read(3, false);
    read(9, true, 'drift');
    expect(events).toHaveLength(0);
    read(9, true, 'spike');
    advance(61_000);
    engine.tick();
    expect(events.map((e) => e.kind)).toEqual(['opened', 'renotify']);
    engine.acknowledged(1);
    advance(61_000);
    engine.tick();
    expect(events.filter((e) => e.kind === 'renotify')).toHaveLength(1);
  });

  it('resolves the alarms of a session that ends', () => {
    const { engine, events, read } = setup();
    read(9, true);
    engine.sessionEnded(7);
    expect(events.map((e) => e.kind)).toEqual(['opened', 'resolved']);
  });
});
