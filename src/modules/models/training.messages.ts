/**
 * The training worker's protocol. The main thread owns the database and the event bus; a
 * worker gets file paths and labels, reads and fits, and answers with the artifact text and
 * metrics. Progress flows back over a MessagePort passed with the task.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import type { SeriesPoint } from './backtest.ts';
import type { EvaluationMetrics, Segment } from './evaluation.ts';

export interface TrainingSource {
  /** The recording, or 0 for readings passed inline (a session's logs). */
  recordingId: number;
  /** Absolute path of the recording's `timestamp,value` CSV (absent with `readings`). */
  file?: string;
  /** Readings passed inline instead of a file (epoch ms and values, in time order). */
  readings?: { ts: Float64Array; values: Float64Array };
  /** Segments marked anomalous (epoch ms), excluded from training and used for evaluation. */
  labels: Segment[];
}

/** Main → worker: score stored readings with a stored model and measure it against labels. */
export type BacktestTask = {
  type: 'backtest';
  jobId: number;
  /** The model's artifact (JSON text, checksum-verified by the main thread). */
  artifact: string;
  threshold: number;
  source: TrainingSource;
  /** Buckets of the downsampled scored series (0 = none). */
  points: number;
  port: MessagePort;
};

/** Main → worker: the task piscina runs (`train` or `backtest`). */
export type MainToWorker = BacktestTask | TrainTask;

export type TrainTask = {
  type: 'train';
  jobId: number;
  kind: string;
  params: Record<string, unknown>;
  seed: number;
  threshold?: number;
  sources: TrainingSource[];
  /** A separate labelled recording to measure precision/recall/F1 on. */
  evaluation?: TrainingSource;
  /** Sessions labelled by alarm feedback, measured on too (`feedback_sessions` in the metrics). */
  feedback?: TrainingSource[];
  /** Fraction of the normal data held out (at the end) to measure the false-alarm rate. */
  holdoutFraction: number;
  /** Where progress messages go; transferred with the task. */
  port: MessagePort;
};

/** Worker → main, over the port while the task runs. */
export type WorkerProgress = { type: 'progress'; progress: number; stage: string };

export type TrainingFailureCode = 'insufficient-training-data' | 'invalid-detector-params' | 'invalid-training-data' | 'internal';

export type WorkerError = { type: 'error'; code: TrainingFailureCode; message: string };

/** Worker → main: a training task's result. */
export type TrainResult =
  | {
      type: 'result';
      /** The serialized detector artifact (JSON text). */
      artifact: string;
      kind: string;
      threshold: number;
      samples: number;
      fit: Record<string, number>;
      /** What the fit said about the training data (e.g. a short recording); empty when nothing. */
      notes: string[];
      holdout: EvaluationMetrics;
      evaluation: EvaluationMetrics | null;
      accuracy: number | null;
      durationMs: number;
    }
  | WorkerError;

/** Worker → main: a backtest's result. */
export type BacktestResult =
  | {
      type: 'backtest-result';
      metrics: EvaluationMetrics;
      series: SeriesPoint[];
      alarms: number[];
      durationMs: number;
    }
  | WorkerError;

export type WorkerResult = TrainResult | BacktestResult;
