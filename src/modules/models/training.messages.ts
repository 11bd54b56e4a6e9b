/**
 * The training worker's protocol. The main thread owns the database and the event bus; a
 * worker gets file paths and labels, reads and fits, and answers with the artifact text and
 * metrics. Progress flows back over a MessagePort passed with the task.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import type { EvaluationMetrics, Segment } from './evaluation.ts';

export interface TrainingSource {
  recordingId: number;
  /** Absolute path of the recording's `timestamp,value` CSV. */
  file: string;
  /** Segments marked anomalous (epoch ms), excluded from training and used for evaluation. */
  labels: Segment[];
}

/** Main → worker: the task piscina runs. */
export type MainToWorker = {
  type: 'train';
  jobId: number;
  kind: string;
  params: Record<string, unknown>;
  seed: number;
  threshold?: number;
  sources: TrainingSource[];
  /** A separate labelled recording to measure precision/recall/F1 on. */
  evaluation?: TrainingSource;
  /** Fraction of the normal data held out (at the end) to measure the false-alarm rate. */
  holdoutFraction: number;
  /** Where progress messages go; transferred with the task. */
  port: MessagePort;
};

/** Worker → main, over the port while the task runs. */
export type WorkerProgress = { type: 'progress'; progress: number; stage: string };

export type TrainingFailureCode = 'insufficient-training-data' | 'invalid-detector-params' | 'invalid-training-data' | 'internal';

/** Worker → main: the task's result. */
export type WorkerResult =
  | {
      type: 'result';
      /** The serialized detector artifact (JSON text). */
      artifact: string;
      kind: string;
      threshold: number;
      samples: number;
      fit: Record<string, number>;
      holdout: EvaluationMetrics;
      evaluation: EvaluationMetrics | null;
      accuracy: number | null;
      durationMs: number;
    }
  | { type: 'error'; code: TrainingFailureCode; message: string };
