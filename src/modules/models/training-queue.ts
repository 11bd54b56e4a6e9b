import type { Logger } from 'pino';
import { ABORT_CANCEL, ABORT_SHUTDOWN, type TrainingRunner } from './training-runner.ts';

/**
 * Where training jobs wait and which process runs them. Both implementations run jobs through
 * the same runner; the job rows in the database are the source of truth for their state.
 */
export interface TrainingQueue {
  readonly kind: 'local' | 'bullmq';
  start(): Promise<void>;
  /** The job row exists (status queued); run it when a worker is free. */
  enqueue(jobId: number): Promise<void>;
  /** Drops a waiting job, or aborts it if it is running (its row is already marked cancelled). */
  cancel(jobId: number): Promise<void>;
  /** Number of jobs running in this process. */
  running(): number;
  /** Whether the queue still holds (waiting, running or stalled) the job. */
  holds(jobId: number): Promise<boolean>;
  /** Aborts running jobs (they are marked failed: interrupted) and stops taking new ones. */
  stop(): Promise<void>;
}

/** The in-process queue: FIFO, at most `concurrency` jobs at once. */
export function createLocalTrainingQueue(deps: { runner: TrainingRunner; concurrency: number; logger: Logger }): TrainingQueue {
  const pending: number[] = [];
  const active = new Map<number, { abort: AbortController; done: Promise<void> }>();
  let stopped = false;

  function pump(): void {
    while (!stopped && active.size < deps.concurrency && pending.length > 0) {
      const jobId = pending.shift() as number;
      const abort = new AbortController();
      const done = deps.runner
        .run(jobId, abort.signal)
        .catch((err: unknown) => deps.logger.error({ err, jobId }, 'training job crashed'))
        .finally(() => {
          active.delete(jobId);
          pump();
        });
      active.set(jobId, { abort, done });
    }
  }

  return {
    kind: 'local',
    async start() {},
    async enqueue(jobId) {
      pending.push(jobId);
      pump();
    },
    async cancel(jobId) {
      const i = pending.indexOf(jobId);
      if (i >= 0) pending.splice(i, 1);
      active.get(jobId)?.abort.abort(ABORT_CANCEL);
    },
    running: () => active.size,
    async holds(jobId) {
      return pending.includes(jobId) || active.has(jobId);
    },
    async stop() {
      stopped = true;
      pending.length = 0;
      const runs = [...active.values()];
      for (const r of runs) r.abort.abort(ABORT_SHUTDOWN);
      await Promise.all(runs.map((r) => r.done));
    },
  };
}
