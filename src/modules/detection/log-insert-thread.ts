import { Worker } from 'node:worker_threads';
import type { RetentionRepository } from '../retention/retention.repository.ts';
import type { LogInsert } from './detection.repository.ts';
import type { LogInsertToMain, LogInsertWorkerData, MainToLogInsert } from './log-insert.messages.ts';

type Insert = (rows: readonly LogInsert[], opts: { fresh: boolean }) => Promise<void>;
type Prune = RetentionRepository['pruneBatch'];

export interface LogInsertThreadOptions {
  /** The SQLite database file the app uses (not `:memory:`). */
  file: string;
  /** The thread's connection waits this long for the write lock (default 5,000 ms, as the main one). */
  busyTimeoutMs?: number;
  /** The main thread's own insert, used once the thread died more than `maxRestarts` times. */
  fallback: Insert;
  /** The main thread's own retention delete, used likewise (and while the thread closes). */
  pruneFallback: Prune;
  /** Thread deaths after which inserts fall back to the main thread for good (default 3). */
  maxRestarts?: number;
  logger: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface LogInsertThreadStats {
  /** Batches and rows the thread wrote. */
  batches: number;
  rows: number;
  /** Batches written on the main thread after the thread gave up. */
  fallbackBatches: number;
  /** Retention deletes the thread ran, and the log rows they deleted. */
  prunes: number;
  prunedRows: number;
  /** Times the thread died (uncaught error, killed) without being asked to close. */
  deaths: number;
}

/**
 * Detection-log inserts on SQLite in a worker thread (decision 0015): the thread owns a second
 * better-sqlite3 connection to the same WAL database and runs the repository's `insertLogs` (and
 * retention's deletes, `prune`), so the synchronous statements no longer hold the event loop.
 * `insert` has the repository's contract: it
 * resolves once the batch is committed and rejects when it was not (the log writer keeps the rows
 * and retries). A thread that dies rejects what it had in flight, is logged, and is started again
 * on the next insert; after `maxRestarts` deaths the inserts run on the main thread.
 */
export function createLogInsertThread(opts: LogInsertThreadOptions) {
  const maxRestarts = opts.maxRestarts ?? 3;
  const workerData: LogInsertWorkerData = { file: opts.file, busyTimeoutMs: opts.busyTimeoutMs ?? 5000 };
  const stats: LogInsertThreadStats = { batches: 0, rows: 0, fallbackBatches: 0, prunes: 0, prunedRows: 0, deaths: 0 };
  let current: ReturnType<typeof start> | undefined;
  let nextId = 1;
  let closing: Promise<void> | undefined;

  function start() {
    const worker = new Worker(new URL('./log-insert-worker.mjs', import.meta.url), { workerData });
    // Only requests in flight keep the process alive (ref'd while any is pending).
    worker.unref();
    const pending = new Map<number, { resolve: (rows: number) => void; reject: (err: Error) => void }>();
    let lastError: unknown;
    const settle = (id: number) => {
      const p = pending.get(id);
      pending.delete(id);
      if (pending.size === 0) worker.unref();
      return p;
    };
    worker.on('message', (m: LogInsertToMain) => {
      const p = settle(m.id);
      if (!p) return;
      if (m.type === 'inserted') {
        stats.batches++;
        stats.rows += m.rows;
        p.resolve(m.rows);
      } else if (m.type === 'pruned') {
        stats.prunes++;
        stats.prunedRows += m.rows;
        p.resolve(m.rows);
      } else {
        p.reject(Object.assign(new Error(m.message), m.code !== undefined && { code: m.code }));
      }
    });
    worker.on('error', (err) => {
      lastError = err;
    });
    worker.on('exit', (code) => {
      if (current?.worker === worker) current = undefined;
      const lost = [...pending.values()];
      pending.clear();
      if (closing === undefined) {
        stats.deaths++;
        opts.logger.error(
          {
            err: lastError,
            exitCode: code,
            inFlight: lost.length,
            deaths: stats.deaths,
            mainThreadFromNowOn: stats.deaths > maxRestarts,
          },
          stats.deaths > maxRestarts
            ? 'SQLite log-insert thread died again: log inserts run on the main thread from now on (rows in flight stay buffered and are retried)'
            : 'SQLite log-insert thread died: it restarts on the next batch (rows in flight stay buffered and are retried)',
        );
      }
      for (const p of lost)
        p.reject(new Error(`SQLite log-insert thread exited (code ${code}) before answering`));
    });
    const send = (m: MainToLogInsert) => worker.postMessage(m);
    return {
      worker,
      request(m: DistributiveOmit<Exclude<MainToLogInsert, { type: 'close' }>, 'id'>): Promise<number> {
        const id = nextId++;
        return new Promise<number>((resolve, reject) => {
          if (pending.size === 0) worker.ref();
          pending.set(id, { resolve, reject });
          send({ ...m, id });
        });
      },
      send,
    };
  }

  return {
    /** The repository's `insertLogs`, run in the thread (on the main thread once it gave up or closed). */
    insert(rows: readonly LogInsert[], o: { fresh: boolean }): Promise<void> {
      if (rows.length === 0) return Promise.resolve();
      if (closing !== undefined || stats.deaths > maxRestarts) {
        stats.fallbackBatches++;
        return opts.fallback(rows, o);
      }
      current ??= start();
      return current.request({ type: 'insert', rows, fresh: o.fresh }).then(() => undefined);
    },

    /**
     * The retention repository's `pruneBatch` on the thread's connection (same contract): a
     * retention delete on SQLite no longer holds the event loop, where the live path runs.
     */
    prune(...[sessionId, cutoff, ranges, hi]: Parameters<Prune>): Promise<number> {
      if (closing !== undefined || stats.deaths > maxRestarts) return opts.pruneFallback(sessionId, cutoff, ranges, hi);
      current ??= start();
      return current.request({ type: 'prune', sessionId, cutoff, ranges, hi });
    },

    stats(): LogInsertThreadStats {
      return { ...stats };
    },

    /** Ends the thread abruptly, as a crash would (what it had in flight is rejected). For tests. */
    async kill(): Promise<void> {
      await current?.worker.terminate();
    },

    /** Lets the requests sent so far finish, closes the thread's connection and ends it. Idempotent. */
    close(timeoutMs = 10_000): Promise<void> {
      closing ??= (async () => {
        const c = current;
        if (!c) return;
        const exited = new Promise<void>((r) => c.worker.once('exit', () => r()));
        c.worker.ref();
        c.send({ type: 'close' });
        const timer = setTimeout(() => {
          opts.logger.warn({ timeoutMs }, 'SQLite log-insert thread did not close in time: terminated');
          void c.worker.terminate();
        }, timeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}

export type LogInsertThread = ReturnType<typeof createLogInsertThread>;

/** `Omit` applied to each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
