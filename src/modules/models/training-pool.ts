import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { MainToWorker, WorkerProgress, WorkerResult } from './training.messages.ts';

export type TrainingTask = Omit<MainToWorker, 'type' | 'port'>;

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
  return {
    /** Runs one training task; aborting `signal` terminates the worker thread running it. */
    async run(task: TrainingTask, onProgress: (p: WorkerProgress) => void, signal?: AbortSignal): Promise<WorkerResult> {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (m: WorkerProgress) => onProgress(m));
      try {
        return await pool.run({ type: 'train', ...task, port: port2 }, { transferList: [port2], signal: signal ?? null });
      } finally {
        port1.close();
      }
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
