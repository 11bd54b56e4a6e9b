/**
 * The protocol between the main thread and the SQLite log-insert thread (log-insert.worker.ts,
 * started by log-insert-thread.ts). Requests carry an `id` the reply repeats; the thread handles
 * them one at a time, in order.
 * @module
 */
import type { RetentionRepository } from '../retention/retention.repository.ts';
import type { LogInsert } from './detection.repository.ts';

/** What the thread is started with (`workerData`). */
export interface LogInsertWorkerData {
  /** The SQLite database file (never `:memory:`: a second connection would see another database). */
  file: string;
  busyTimeoutMs: number;
}

export type MainToLogInsert =
  /** Runs the repository's `insertLogs(rows, { fresh })`. */
  | { type: 'insert'; id: number; rows: readonly LogInsert[]; fresh: boolean }
  /** Runs the retention repository's `pruneBatch`: one delete of a session's old log rows and its watermark. */
  | { type: 'prune'; id: number; sessionId: number; cutoff: string; ranges: Parameters<RetentionRepository['pruneBatch']>[2]; hi: number }
  /** Closes the connection and ends the thread once the requests before it are answered. */
  | { type: 'close' };

export type LogInsertToMain =
  | { type: 'inserted'; id: number; rows: number }
  | { type: 'pruned'; id: number; rows: number }
  /** The insert's (or prune's) transaction rolled back; `code` is the SQLite error code when there is one (`SQLITE_BUSY`). */
  | { type: 'failed'; id: number; message: string; code?: string };
