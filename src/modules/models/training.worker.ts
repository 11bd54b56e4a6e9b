/**
 * Runs in a piscina worker thread: reads recordings, fits a detector, measures it on held-out
 * data. No database, no bus: see training.messages.ts for the protocol.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createDetector, DetectorError, restoreDetector, validateArtifact, type Reading } from '../../detectors/index.ts';
import { parseTimeseriesCsv } from '../../lib/timeseries-csv.ts';
import { combineMetrics, deriveAccuracy, evaluateDetector, inSegments, type EvaluationMetrics } from './evaluation.ts';
import { backtest } from './backtest.ts';
import type { BacktestResult, BacktestTask, MainToWorker, TrainResult, TrainTask, TrainingSource, WorkerError, WorkerProgress, WorkerResult } from './training.messages.ts';

function readSource(source: TrainingSource): Reading[] {
  if (source.readings) {
    const { ts, values } = source.readings;
    const out: Reading[] = new Array(ts.length);
    for (let i = 0; i < ts.length; i++) out[i] = { ts: ts[i] as number, value: values[i] as number };
    return out;
  }
  const text = readFileSync(source.file as string, 'utf8');
  const rows = parseTimeseriesCsv(text, { skipBad: true }).rows.map((r) => ({ ts: r.ts, value: r.value }));
  rows.sort((a, b) => a.ts - b.ts);
  return rows;
}

function medianStep(readings: readonly Reading[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < readings.length && gaps.length < 2000; i++) gaps.push((readings[i] as Reading).ts - (readings[i - 1] as Reading).ts);
  gaps.sort((a, b) => a - b);
  return Math.max(1, gaps[Math.floor(gaps.length / 2)] ?? 100);
}

/** Normal readings of every source, one after the other on a continuous time axis. */
function concatNormal(sources: readonly TrainingSource[], read: (s: TrainingSource) => Reading[]): Reading[] {
  const out: Reading[] = [];
  for (const s of sources) {
    const normal = read(s).filter((r) => !inSegments(r.ts, s.labels));
    if (normal.length === 0) continue;
    const step = medianStep(normal);
    const shift = out.length === 0 ? 0 : (out.at(-1) as Reading).ts + step - (normal[0] as Reading).ts;
    for (const r of normal) out.push(shift === 0 ? r : { ts: r.ts + shift, value: r.value });
  }
  return out;
}

/** Metrics go into JSON: NaN and infinities would come back as null. */
function finiteOnly(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)));
}

function progressReporter(task: MainToWorker) {
  let last = -1;
  return (p: number, stage: string) => {
    const rounded = Math.round(p * 100) / 100;
    if (rounded === last && stage !== 'done') return;
    last = rounded;
    task.port.postMessage({ type: 'progress', progress: rounded, stage } satisfies WorkerProgress);
  };
}

function failure(err: unknown): WorkerError {
  if (err instanceof DetectorError) {
    const code = err.code === 'insufficient-data' ? 'insufficient-training-data' : err.code === 'invalid-params' ? 'invalid-detector-params' : 'internal';
    return { type: 'error', code, message: err.message };
  }
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { type: 'error', code: 'invalid-training-data', message: 'A recording file is missing.' };
  return { type: 'error', code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** Scores the stored readings with the stored model (its state as saved: no refit). */
function runBacktest(task: BacktestTask): BacktestResult {
  const t0 = performance.now();
  const progress = progressReporter(task);
  try {
    progress(0.02, 'reading data');
    const readings = readSource(task.source);
    if (readings.length === 0) return { type: 'error', code: 'invalid-training-data', message: 'There are no readings to score.' };
    const detector = restoreDetector(validateArtifact(JSON.parse(task.artifact)));
    detector.threshold = task.threshold;
    progress(0.05, 'scoring');
    const out = backtest(detector, readings, task.source.labels, { points: task.points, onProgress: (f) => progress(0.05 + 0.9 * f, 'scoring') });
    return { type: 'backtest-result', ...out, durationMs: Math.round(performance.now() - t0) };
  } catch (err) {
    return failure(err);
  } finally {
    task.port.close();
  }
}

export default async function run(task: MainToWorker): Promise<WorkerResult> {
  return task.type === 'backtest' ? runBacktest(task) : train(task);
}

async function train(task: TrainTask): Promise<TrainResult> {
  const t0 = performance.now();
  const progress = progressReporter(task);
  try {
    progress(0.02, 'reading recordings');
    const cache = new Map<TrainingSource, Reading[]>();
    const read = (s: TrainingSource): Reading[] => {
      let r = cache.get(s);
      if (!r) cache.set(s, (r = readSource(s)));
      return r;
    };
    const normal = concatNormal(task.sources, read);
    const nHold = Math.floor(normal.length * task.holdoutFraction);
    const trainPart = normal.slice(0, normal.length - nHold);
    const holdPart = normal.slice(normal.length - nHold);

    const detector = createDetector(task.kind, { params: task.params, seed: task.seed, threshold: task.threshold });
    progress(0.1, 'fitting');
    const report = await detector.fit(trainPart, { onProgress: (p, stage) => progress(0.1 + 0.7 * Math.min(1, Math.max(0, p)), `fitting: ${stage}`) });
    const artifact = detector.serialize();

    progress(0.82, 'evaluating on held-out data');
    const holdout: EvaluationMetrics = evaluateDetector(restoreDetector(artifact), holdPart);
    let evaluation: EvaluationMetrics | null = null;
    if (task.evaluation) {
      progress(0.9, 'evaluating on the labelled recording');
      evaluation = evaluateDetector(restoreDetector(artifact), read(task.evaluation), task.evaluation.labels);
    } else if (task.sources.some((s) => s.labels.length > 0)) {
      // No separate evaluation recording: the labelled training recordings are scored whole (their
      // anomalous segments were left out of training), and the metrics say so.
      progress(0.9, 'evaluating on the labelled training recordings');
      const parts = task.sources.filter((s) => s.labels.length > 0).map((s) => evaluateDetector(restoreDetector(artifact), read(s), s.labels));
      evaluation = { ...combineMetrics(parts), on_training_recordings: 1 };
    }
    if (task.feedback && task.feedback.length > 0) {
      progress(0.94, 'evaluating on sessions labelled by feedback');
      const parts = task.feedback.map((s) => evaluateDetector(restoreDetector(artifact), read(s), s.labels));
      const flags = evaluation?.on_training_recordings ? { on_training_recordings: 1 } : {};
      evaluation = { ...combineMetrics(evaluation ? [evaluation, ...parts] : parts), ...flags, feedback_sessions: parts.length };
    }
    const accuracy = deriveAccuracy(evaluation?.f1 !== undefined ? evaluation : holdout);
    const fit = finiteOnly(report.metrics);
    artifact.metrics = { ...fit, holdout_false_alarm_rate_measured: holdout.false_alarm_rate, ...(accuracy !== null && { accuracy }) };
    artifact.created_at = new Date().toISOString();
    progress(0.97, 'saving');
    const text = JSON.stringify(artifact);
    // What is stored must load again: check it exactly as a download would be checked on upload.
    try {
      restoreDetector(validateArtifact(JSON.parse(text)));
    } catch (err) {
      return { type: 'error', code: 'internal', message: `The trained model does not pass validation: ${err instanceof Error ? err.message : String(err)}` };
    }
    return {
      type: 'result',
      artifact: text,
      kind: artifact.kind,
      threshold: artifact.threshold,
      samples: trainPart.length,
      fit,
      notes: report.notes ?? [],
      holdout,
      evaluation,
      accuracy,
      durationMs: Math.round(performance.now() - t0),
    };
  } catch (err) {
    return failure(err);
  } finally {
    task.port.close();
  }
}
