import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { MainToWorker, WorkerProgress, WorkerResult } from './training.messages.ts';

import type { BacktestResult, BacktestTask, TrainResult, TrainTask } from './training.messages.ts';

export type TrainingTask = Omit<TrainTask, 'type' | 'port'>;
export type BacktestPoolTask = Omit<BacktestTask, 'type' | 'port'>;

/** The worker-thread pool that fits detectors off the event loop (piscina). */
export function createTrainingPool(opts: { threads: number }) {
  const pool = new Piscina<MainToWorker, WorkerResult>({
    filename: new URL('./training-worker.mjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: opts.threads,
    idleTimeout: 30_000,
    // Training is CPU-bound: one task per thread at a time.
    concurrentTasksPerWorker: 1,
  });
  async function send<R extends WorkerResult>(build: (port: MessagePort) => MainToWorker, onProgress: (p: WorkerProgress) => void, signal?: AbortSignal): Promise<R> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: WorkerProgress) => onProgress(m));
    try {
      return (await pool.run(build(port2), { transferList: [port2], signal: signal ?? null })) as R;
    } finally {
      port1.close();
    }
  }
  return {
    /** Runs one training task; aborting `signal` terminates the worker thread running it. */
    async run(task: TrainingTask, onProgress: (p: WorkerProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
      return send<TrainResult>((port) => ({ type: 'train', ...task, port }), onProgress, signal);
    },
    /** Runs one backtest (scoring only) on the same threads. */
    async backtest(task: BacktestPoolTask, onProgress: (p: WorkerProgress) => void, signal?: AbortSignal): Promise<BacktestResult> {
      return send<BacktestResult>((port) => ({ type: 'backtest', ...task, port }), onProgress, signal);
    },
    get threads() {
      return pool.threads.length;
    },
    async close(): Promise<void> {
      await pool.close({ force: true });
    },
  };
}

export type TrainingPool = ReturnType<typeof createTrainingPool>;
