import type { Reading } from '../../detectors/index.ts';
import { evaluateTrace, summarize, summarizeKind, type EvaluateOptions, type EventMetrics, type TraceEvaluation } from './evaluate.ts';
import { ANOMALY_KINDS, generateTrace, type AnomalyKind } from './generator.ts';

/** What the benchmark needs from a detector; `Detector` and the z-score baseline both fit. */
export interface BenchScorer {
  fit(normal: readonly Reading[]): Promise<unknown>;
  score(reading: Reading): { is_anomaly: boolean };
}

export interface SyntheticBenchmarkOptions extends EvaluateOptions {
  /** Builds a fresh scorer for each trace; `seed` is the trace's seed index. */
  makeScorer: (seed: number) => BenchScorer;
  /** Number of seeds (traces per anomaly kind; default 5). */
  seeds?: number;
  /** Anomaly kinds to test, one trace per kind and seed (default: all). */
  kinds?: readonly AnomalyKind[];
  /** Events per trace (default 4). */
  eventsPerTrace?: number;
  /** Training (normal) seconds (default 300) and scored seconds (default 600). */
  trainS?: number;
  testS?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SyntheticBenchmarkResult {
  overall: EventMetrics;
  perKind: Partial<Record<AnomalyKind, EventMetrics>>;
  traces: number;
  readingsScored: number;
  /** Wall-clock milliseconds spent in `score` (throughput context). */
  scoreMs: number;
}

/**
 * The synthetic protocol: for each anomaly kind and seed, generate a trace, fit a fresh scorer
 * on the first `trainS` seconds of normal data, score the next `testS` seconds, and count
 * events. Per-kind rows count only that kind's traces, so their false alarms are attributable.
 */
export async function runSyntheticBenchmark(options: SyntheticBenchmarkOptions): Promise<SyntheticBenchmarkResult> {
  const seeds = options.seeds ?? 5;
  const kinds = options.kinds ?? ANOMALY_KINDS;
  const trainS = options.trainS ?? 300;
  const testS = options.testS ?? 600;
  const total = seeds * kinds.length;
  const byKind = new Map<AnomalyKind, TraceEvaluation[]>();
  const all: TraceEvaluation[] = [];
  let readingsScored = 0;
  let scoreMs = 0;
  let done = 0;
  for (let s = 0; s < seeds; s++) {
    for (const kind of kinds) {
      options.signal?.throwIfAborted();
      const trace = generateTrace({
        seed: (s + 1) * 7919 + ANOMALY_KINDS.indexOf(kind) * 104729,
        durationS: trainS + testS,
        normalS: trainS,
        kinds: [kind],
        events: options.eventsPerTrace ?? 4,
      });
      const train = trace.readings.filter((r) => r.ts < trace.normalUntil);
      const test = trace.readings.filter((r) => r.ts >= trace.normalUntil);
      const scorer = options.makeScorer(s);
      await scorer.fit(train);
      const alarms: number[] = [];
      const t0 = performance.now();
      for (const r of test) if (scorer.score(r).is_anomaly) alarms.push(r.ts);
      scoreMs += performance.now() - t0;
      readingsScored += test.length;
      const first = test[0]?.ts ?? trace.normalUntil;
      const last = test.at(-1)?.ts ?? first;
      const evaluation = evaluateTrace(alarms, trace.events, last - first + 1000 / trace.sampleRateHz, options);
      all.push(evaluation);
      byKind.set(kind, [...(byKind.get(kind) ?? []), evaluation]);
      options.onProgress?.(++done, total);
      // Yield so progress output and abort signals get a turn on long runs.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  const perKind: Partial<Record<AnomalyKind, EventMetrics>> = {};
  for (const [kind, evals] of byKind) perKind[kind] = summarizeKind(evals, kind);
  return { overall: summarize(all), perKind, traces: all.length, readingsScored, scoreMs };
}
