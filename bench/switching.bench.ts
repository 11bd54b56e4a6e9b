/**
 * Switching signals for the default detector: a relay's, a thermostat's or a pump's output sits at
 * a few levels and switches between them at irregular times. None of the other benchmarks has one.
 * Five families (two levels; an RC edge of a few readings; three levels; fast switching, 2–20 s
 * per state; noisier), 6 seeds each, 10 Hz, 10-bit, 60 minutes; from the 12th minute an event every
 * 250 s in turn: a spike beyond the level (1–3 readings), a dip inside it (1–3 readings, 0.3–0.6 V
 * towards the other level), a level between the states (5 s), a noise burst (10 s, 5 × the noise), a
 * stuck value (20 s), a dropout (20 s missing), a ramp off the level (+0.4 V over 60 s).
 * Fit mode fits the first 10 minutes and scores the rest; online mode scores every reading never
 * fitted (self-fits as `vigil detect` does). An event is found by an alarm from its start to 10 s
 * after its end; any other alarm more than 5 s after the one before is a false alarm. A fit the
 * detector refuses is counted, and that trace scored never fitted.
 *
 *   node --import tsx bench/switching.bench.ts [--mode fit|online] [--params '{}']
 */
import { parseArgs } from 'node:util';
import { createDetector, DetectorError, type Reading } from '../src/detectors/index.ts';
import { Rng } from '../src/detectors/random.ts';

const { values } = parseArgs({ options: { mode: { type: 'string' }, params: { type: 'string', default: '{}' } } });
const MODES = ['fit', 'online'] as const;
type Mode = (typeof MODES)[number];
const modes: readonly Mode[] = values.mode === undefined ? MODES : [values.mode as Mode];
if (modes.some((m) => !MODES.includes(m))) throw new Error('--mode fit|online');
const params = JSON.parse(values.params) as Record<string, unknown>;

const LSB = 5 / 1024;
const T0 = 1_700_000_000_000;
const HZ = 10;
const N = 36_000;
const TRAIN = 6000;
const SEEDS = 6;

interface Family {
  levels: number[];
  noise: number;
  /** Readings an edge takes (RC), 0: a clean step. */
  rc: number;
  minS: number;
  maxS: number;
}
const FAMILIES: Record<string, Family> = {
  two: { levels: [0.4, 3.2], noise: 0.01, rc: 0, minS: 30, maxS: 90 },
  rc_edge: { levels: [0.4, 3.2], noise: 0.01, rc: 5, minS: 30, maxS: 90 },
  three: { levels: [0.4, 1.8, 3.2], noise: 0.01, rc: 0, minS: 30, maxS: 90 },
  fast: { levels: [0.4, 3.2], noise: 0.01, rc: 0, minS: 2, maxS: 20 },
  noisy: { levels: [0.4, 3.2], noise: 0.05, rc: 0, minS: 30, maxS: 90 },
};
const KINDS = ['spike', 'dip', 'between', 'burst', 'stuck', 'dropout', 'ramp'] as const;
type Kind = (typeof KINDS)[number];

/** The trace (readings, with the missing ones left out) and its events [first, last reading index, kind]. */
function trace(f: Family, seed: number): { readings: Reading[]; index: number[]; events: Array<[number, number, Kind]> } {
  const rng = new Rng(seed);
  const hold = (): number => Math.round((f.minS + rng.next() * (f.maxS - f.minS)) * HZ);
  let state = 0;
  let left = hold();
  let x = f.levels[0] as number;
  const level: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < N; i++) {
    if (--left <= 0) {
      let s = state;
      while (s === state) s = Math.floor(rng.next() * f.levels.length);
      state = s;
      left = hold();
    }
    const target = f.levels[state] as number;
    x = f.rc > 0 ? x + (target - x) / f.rc : target;
    level.push(x);
    value.push(x + f.noise * rng.normal());
  }
  const events: Array<[number, number, Kind]> = [];
  const missing = new Set<number>();
  const middle = (f.levels[0] as number) / 2 + (f.levels[f.levels.length - 1] as number) / 2;
  for (let k = 0, at = 7200; at < N - 1000; at += 2500, k++) {
    const kind = KINDS[(k + seed) % KINDS.length] as Kind;
    const here = level[at] as number;
    const inward = here > middle ? -1 : 1;
    const len = { spike: 1 + Math.floor(rng.next() * 3), dip: 1 + Math.floor(rng.next() * 3), between: 50, burst: 100, stuck: 200, dropout: 200, ramp: 600 }[kind];
    for (let i = at; i < at + len; i++) {
      if (kind === 'spike') value[i] = here - inward * (0.5 + rng.next());
      else if (kind === 'dip') value[i] = here + inward * (0.3 + 0.3 * rng.next());
      else if (kind === 'between') value[i] = (f.levels.length === 3 ? 2.5 : 1.8) + 0.1 * (rng.next() - 0.5);
      else if (kind === 'burst') value[i] = (level[i] as number) + 5 * f.noise * rng.normal();
      else if (kind === 'stuck') value[i] = value[at] as number;
      else if (kind === 'dropout') missing.add(i);
      else value[i] = (value[i] as number) + (0.4 * (i - at)) / len;
    }
    events.push([at, at + len - 1, kind]);
  }
  const readings: Reading[] = [];
  const index: number[] = [];
  for (let i = 0; i < N; i++) {
    if (missing.has(i)) continue;
    readings.push({ ts: T0 + i * 100 + Math.round((rng.next() - 0.5) * 8), value: Math.round((value[i] as number) / LSB) * LSB });
    index.push(i);
  }
  return { readings, index, events };
}

console.log(`switching signals: ${Object.keys(FAMILIES).length} families × ${SEEDS} seeds, ${N / HZ / 60} min at ${HZ} Hz each; params ${JSON.stringify(params)} (default path: {})`);
for (const mode of modes) {
  const found: Record<string, [number, number]> = {};
  let falseAlarms = 0;
  let hours = 0;
  let refused = 0;
  const byFamily: string[] = [];
  for (const [name, f] of Object.entries(FAMILIES)) {
    let famFa = 0;
    let famFound = 0;
    let famEvents = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { readings, index, events } = trace(f, seed);
      let detector = createDetector('auto', { seed: 1, params });
      let from = 0;
      if (mode === 'fit') {
        try {
          await detector.fit(readings.slice(0, TRAIN));
          from = TRAIN;
        } catch (e) {
          if (!(e instanceof DetectorError)) throw e;
          refused++;
          detector = createDetector('auto', { seed: 1, params });
        }
      }
      const hit = new Set<number>();
      let lastFalse = Number.NEGATIVE_INFINITY;
      for (let j = from; j < readings.length; j++) {
        if (!detector.score(readings[j] as Reading).is_anomaly) continue;
        const i = index[j] as number;
        const e = events.findIndex(([a, b]) => i >= a && i <= b + 10 * HZ);
        if (e >= 0) hit.add(e);
        else {
          // The first minutes of a never-fitted stream, before any model, are not counted (no fit yet).
          if (i >= TRAIN && i - lastFalse > 5 * HZ) famFa++;
          lastFalse = i;
        }
      }
      hours += (N - TRAIN) / HZ / 3600;
      for (const [e, [, , kind]] of events.entries()) {
        const c = (found[kind] ??= [0, 0]);
        c[1]++;
        if (hit.has(e)) c[0]++;
      }
      famFound += hit.size;
      famEvents += events.length;
    }
    falseAlarms += famFa;
    byFamily.push(`${name.padEnd(8)} found ${String(famFound).padStart(3)}/${famEvents}  false alarms ${famFa}`);
  }
  console.log(`\n${mode} (scored after the 10th minute)`);
  for (const line of byFamily) console.log(`  ${line}`);
  const total = Object.values(found).reduce((s, [a, b]) => [s[0] + a, s[1] + b], [0, 0]);
  console.log(`  recall by kind: ${KINDS.map((k) => `${k} ${(found[k] as [number, number])[0]}/${(found[k] as [number, number])[1]}`).join('  ')}`);
  console.log(`  overall found ${total[0]}/${total[1]} (${(total[0] / total[1]).toFixed(3)}), false alarms ${falseAlarms} (${(falseAlarms / hours).toFixed(2)}/h)${mode === 'fit' ? `, fits refused ${refused}` : ''}`);
}
