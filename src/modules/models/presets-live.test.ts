/**
 * Presets meeting a live device: every session restores a preset artifact and streams a device at
 * its own level (the built-in simulator: 3.3 V). A preset must re-baseline, not alarm on the level.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTrace } from '../../bench/synthetic/index.ts';
import { restoreDetector, validateArtifact, type DetectorArtifact, type Reading, type Score } from '../../detectors/index.ts';
import { createSimulatorSignal, type AnomalyKind } from '../devices/sources/simulator.source.ts';
import { buildPreset, PRESETS, type BuiltPreset } from './presets.ts';

const RATE_HZ = 10;
/** Live data starts this long after the preset's training trace ended. */
const PAUSE_MS = 5 * 60_000;
/** The first minute at 10 Hz. */
const FIRST_MINUTE = 600;

const built = new Map<string, { preset: BuiltPreset; trainingEnd: number }>();

beforeAll(async () => {
  for (const spec of PRESETS) {
    const training = generateTrace({ seed: spec.seed, durationS: 600, normalS: 600, events: 0 });
    built.set(spec.key, { preset: await buildPreset(spec), trainingEnd: training.readings.at(-1)!.ts });
  }
});

function session(key: string): { score: (r: Reading) => Score; warmup: () => ReturnType<ReturnType<typeof restoreDetector>['warmup']>; t0: number } {
  const { preset, trainingEnd } = built.get(key)!;
  // As a session does: the stored JSON, validated, restored.
  const d = restoreDetector(validateArtifact(JSON.parse(JSON.stringify(preset.artifact)) as DetectorArtifact));
  return { score: (r) => d.score(r), warmup: () => d.warmup(), t0: trainingEnd + PAUSE_MS };
}

/** `n` simulator readings at 10 Hz from `t0`, with `inject(i)` called before reading i. */
function simulate(level: number, n: number, t0: number, seed: number, inject?: (i: number, sim: ReturnType<typeof createSimulatorSignal>) => void): Reading[] {
  const sim = createSimulatorSignal({ rateHz: RATE_HZ, level, noise: 0.02, seed });
  return Array.from({ length: n }, (_, i) => {
    inject?.(i, sim);
    return { ts: t0 + Math.round((i * 1000) / RATE_HZ), value: sim.next() };
  });
}

describe.each(PRESETS.map((p) => p.key))('preset %s on a live simulator device', (key) => {
  for (const level of [3.3, 1.0]) {
    it(`raises no alarm in the first minute at ${level} V, reporting warming_up while it re-baselines`, () => {
      const s = session(key);
      const statuses: string[] = [];
      const scores = simulate(level, FIRST_MINUTE, s.t0, 7).map((r) => {
        const score = s.score(r);
        statuses.push(s.warmup().status);
        return score;
      });
      expect(scores.filter((x) => x.is_anomaly).map((x) => x.signal)).toEqual([]);
      expect(statuses.slice(0, 99).every((x) => x === 'warming_up')).toBe(true);
      expect(statuses.slice(100).every((x) => x === 'ml_ready')).toBe(true);
    });
  }

  it('still detects a spike, a level shift, a stuck sensor and a dropout injected after the re-baseline', () => {
    const s = session(key);
    const plan: Array<{ at: number; kind: AnomalyKind; readings?: number; magnitude?: number }> = [
      { at: 600, kind: 'spike', magnitude: 0.5 },
      { at: 1200, kind: 'level_shift', readings: 300, magnitude: 0.3 },
      { at: 2400, kind: 'stuck', readings: 50 },
      { at: 3000, kind: 'dropout', readings: 30 },
    ];
    const readings = simulate(3.3, 3600, s.t0, 8, (i, sim) => {
      const e = plan.find((p) => p.at === i);
      if (e) sim.inject(e.kind, { ...(e.readings && { readings: e.readings }), ...(e.magnitude && { magnitude: e.magnitude }) });
    });
    const alarmsAt = readings.flatMap((r, i) => (s.score(r).is_anomaly ? [i] : []));
    for (const e of plan) {
      // Detected inside the event or within 3 s after it.
      const end = e.at + (e.readings ?? 1) - 1 + 3 * RATE_HZ;
      expect(alarmsAt.some((i) => i >= e.at && i <= end), `${e.kind} at ${e.at}`).toBe(true);
    }
    expect(alarmsAt.filter((i) => i < 600)).toEqual([]);
  });
});

describe('preset reference accuracy', () => {
  it('every preset reaches an event F1 of at least 0.6 on the reference set', () => {
    for (const spec of PRESETS) expect(built.get(spec.key)!.preset.accuracy, spec.key).toBeGreaterThanOrEqual(0.6);
  });
});

describe('a much larger fault seconds after an alarm', () => {
  // A 2 V spike alarms; a 1 V spike follows 1.4 s later and another 1.4 s after that, and right
  // after it an 8 V one: inside the incident and the fault member's hold-off (100 readings), where
  // every surprise had saturated at the first spike's.
  const plan = [
    { at: 700, magnitude: 2 },
    { at: 714, magnitude: 1 },
    { at: 728, magnitude: 1 },
    { at: 731, magnitude: 8 },
  ];
  const run = (key: string, unbroken = false): number[] => {
    const { preset, trainingEnd } = built.get(key)!;
    const artifact = JSON.parse(JSON.stringify(preset.artifact)) as DetectorArtifact;
    if (unbroken) {
      // As a model written before it stores itself: the parameter absent, here and in the fault
      // member, and so is spikeBar, which came later (it lifts the 8 V spike on its own).
      delete (artifact.params as Record<string, unknown>).holdoffBreak;
      delete (artifact.params as Record<string, unknown>).spikeBar;
      delete ((artifact.state as { robust: DetectorArtifact }).robust.params as Record<string, unknown>).holdoffBreak;
    }
    const d = restoreDetector(validateArtifact(artifact));
    const readings = simulate(3.3, 800, trainingEnd + PAUSE_MS, 31, (i, sim) => {
      const e = plan.find((p) => p.at === i);
      if (e) sim.inject('spike', { readings: 3, magnitude: e.magnitude });
    });
    return readings.flatMap((r, i) => (d.score(r).is_anomaly ? [i] : []));
  };

  it.each(PRESETS.map((p) => p.key))('%s alarms on it', (key) => {
    const alarms = run(key);
    expect(alarms.filter((i) => i >= 700 && i <= 702).length).toBeGreaterThan(0);
    expect(alarms.filter((i) => i >= 731 && i <= 733).length).toBeGreaterThan(0);
  });

  it.each(PRESETS.map((p) => p.key))('%s: a model written before holdoffBreak scored 0 there', (key) => {
    expect(run(key, true).filter((i) => i >= 731 && i <= 733)).toEqual([]);
  });
});
