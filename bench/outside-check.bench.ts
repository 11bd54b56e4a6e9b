/**
 * Outside check for the default detector: scores `auto` on traces from a generator written
 * independently of the project's synthetic benchmark (bench/support/outside-traces.ts), to
 * estimate how it does on data nobody tuned it on. `--params` is for experiments only; `--csv DIR`
 * also writes each trace (train + test) and its labels for eyeballing.
 *
 *   node --import tsx bench/outside-check.bench.ts [--seeds 700001:96] [--mode fit|online] [--params '{}'] [--csv DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateTrace, summarize, summarizeKind, type TraceEvaluation } from '../src/bench/synthetic/evaluate.ts';
import { createDetector, DetectorError, type Reading } from '../src/detectors/index.ts';
import { generateOutsideTrace, OUTSIDE_EVENT_KINDS, OUTSIDE_FAMILIES, type OutsideFamily, type OutsideTrace } from './support/outside-traces.ts';

const MODES = ['fit', 'online'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '700001:96' },
    mode: { type: 'string' },
    params: { type: 'string', default: '{}' },
    csv: { type: 'string' },
  },
});
const [first, count] = values.seeds.split(':').map(Number);
if (!Number.isInteger(first) || !Number.isInteger(count) || (count as number) < 1) throw new Error('--seeds FIRST:COUNT');
const seeds = Array.from({ length: count as number }, (_, i) => (first as number) + i);
const modes: readonly Mode[] = values.mode === undefined ? MODES : [values.mode as Mode];
if (modes.some((m) => !MODES.includes(m))) throw new Error('--mode fit|online');
const params = JSON.parse(values.params) as Record<string, unknown>;

/**
 * Alarm timestamps in the scored part. A training part the detector cannot fit (shorter than its
 * minimum fit size, or a short one it could not learn from) is scored online instead in fit mode,
 * and counted in the output.
 */
async function alarmsOn(trace: OutsideTrace, mode: Mode): Promise<{ alarms: number[]; fitted: boolean }> {
  let detector = createDetector('auto', { params });
  let fitted = mode === 'fit' && trace.train.length >= detector.minFitSamples;
  if (fitted) {
    try {
      await detector.fit(trace.train);
    } catch (err) {
      // A short training part the fit could not learn from is refused like one below the minimum.
      if (!(err instanceof DetectorError && err.code === 'insufficient-data')) throw err;
      fitted = false;
      detector = createDetector('auto', { params });
    }
  }
  if (!fitted) for (const r of trace.train) detector.score(r);
  const alarms: number[] = [];
  for (const r of trace.test) if (detector.score(r).is_anomaly) alarms.push(r.ts);
  return { alarms, fitted };
}

function writeCsv(dir: string, seed: number, trace: OutsideTrace): void {
  mkdirSync(dir, { recursive: true });
  const rows = (rs: readonly Reading[]) => rs.map((r) => `${r.ts},${r.value}`).join('\n');
  writeFileSync(join(dir, `outside-${seed}.csv`), `timestamp,value\n${rows(trace.train)}\n${rows(trace.test)}\n`);
  const labels = { seed, testStart: trace.test[0]?.ts, info: trace.info, events: trace.events };
  writeFileSync(join(dir, `outside-${seed}.labels.json`), `${JSON.stringify(labels, null, 2)}\n`);
}

const traces = seeds.map((seed) => ({ seed, trace: generateOutsideTrace(seed) }));
if (values.csv) for (const { seed, trace } of traces) writeCsv(values.csv, seed, trace);

const f = (x: number, d = 3): string => x.toFixed(d);
for (const mode of modes) {
  const t0 = performance.now();
  const evaluations: TraceEvaluation[] = [];
  const byFamily = new Map<OutsideFamily, TraceEvaluation[]>();
  let unfitted = 0;
  for (const { trace } of traces) {
    const periodMs = 1000 / trace.info.sampleRateHz;
    const first = trace.test[0] as Reading;
    const last = trace.test[trace.test.length - 1] as Reading;
    const { alarms, fitted } = await alarmsOn(trace, mode);
    if (mode === 'fit' && !fitted) unfitted++;
    const evaluation = evaluateTrace(alarms, trace.events, last.ts - first.ts + periodMs, {
      toleranceMs: Math.max(3000, 5 * periodMs),
      mergeGapMs: Math.max(2000, 5 * periodMs),
    });
    evaluations.push(evaluation);
    byFamily.set(trace.info.family, [...(byFamily.get(trace.info.family) ?? []), evaluation]);
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`== auto, ${mode}, seeds ${values.seeds}${values.params === '{}' ? '' : `, params ${values.params}`}`);
  if (unfitted > 0) console.log(`(${unfitted} of ${traces.length} training parts could not be fitted (too short); those traces were scored online)`);
  for (const kind of OUTSIDE_EVENT_KINDS) {
    const m = summarizeKind(evaluations, kind);
    if (m.events > 0) console.log(`${kind.padEnd(17)} R ${f(m.recall)}  det ${m.detected}/${m.events}`);
  }
  for (const family of OUTSIDE_FAMILIES) {
    const evs = byFamily.get(family);
    if (!evs) continue;
    const m = summarize(evs);
    console.log(`${family.padEnd(17)} F1 ${f(m.f1)}  FA/h ${f(m.falseAlarmsPerHour, 1).padStart(5)}  R ${f(m.recall)}  (${evs.length} traces)`);
  }
  const o = summarize(evaluations);
  console.log(
    `overall (${mode}) P ${f(o.precision)} R ${f(o.recall)} F1 ${f(o.f1)} FA/h ${f(o.falseAlarmsPerHour, 2)} (FA ${o.falseAlarms}, events ${o.events}) ${seconds.toFixed(1)} s`,
  );
}
