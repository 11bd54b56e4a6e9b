import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ABORT_CANCEL, ABORT_SHUTDOWN, type TrainingRunner } from './training-runner.ts';
import type { TrainingQueue } from './training-queue.ts';

/**
 * The shared queue: with REDIS_URL set, every Vigil process enqueues into one BullMQ queue and
 * its training workers take jobs from it, so several processes share the training load.
 * Cancellation of a job running in another process travels over a Redis channel. A process
 * that dies mid-job leaves a stalled BullMQ job, which another process picks up and runs again.
 */
export function createBullmqTrainingQueue(deps: {
  runner: TrainingRunner;
  concurrency: number;
  redisUrl: string;
  queueName: string;
  logger: Logger;
}): TrainingQueue {
  const { logger } = deps;
  const connect = () => {
    const c = new Redis(deps.redisUrl, { maxRetriesPerRequest: null });
    c.on('error', (err) => logger.warn({ err }, 'training queue: redis connection error'));
    return c;
  };
  const queueConn = connect();
  const workerConn = connect();
  const sub = connect();
  const pub = connect();
  const cancelChannel = `${deps.queueName}:cancel`;
  const active = new Map<number, AbortController>();
  const queue = new Queue<{ jobId: number }>(deps.queueName, { connection: queueConn });
  let worker: Worker<{ jobId: number }> | undefined;

  return {
    kind: 'bullmq',
    async start() {
      // Subscribe only once connected: the ready check must not run on a subscriber connection.
      if (sub.status !== 'ready') await new Promise<void>((resolve) => sub.once('ready', () => resolve()));
      await sub.subscribe(cancelChannel);
      sub.on('message', (_channel: string, message: string) => active.get(Number(message))?.abort(ABORT_CANCEL));
      worker = new Worker<{ jobId: number }>(
        deps.queueName,
        async (job) => {
          const abort = new AbortController();
          active.set(job.data.jobId, abort);
          try {
            await deps.runner.run(job.data.jobId, abort.signal);
          } finally {
            active.delete(job.data.jobId);
          }
        },
        { connection: workerConn, concurrency: deps.concurrency },
      );
      worker.on('error', (err) => logger.error({ err }, 'training queue worker error'));
      worker.on('failed', (job, err) => {
        if (job) logger.warn({ err, jobId: job.data.jobId }, 'training queue job failed');
      });
      await worker.waitUntilReady();
    },
    async enqueue(jobId) {
      await queue.add('train', { jobId }, { jobId: `job-${jobId}`, removeOnComplete: 1000, removeOnFail: 1000 });
    },
    async cancel(jobId) {
      const job = await queue.getJob(`job-${jobId}`);
      if (job && ((await job.isWaiting()) || (await job.isDelayed()))) {
        await job.remove().catch(() => undefined);
        return;
      }
      active.get(jobId)?.abort(ABORT_CANCEL);
      await pub.publish(cancelChannel, String(jobId));
    },
    running: () => active.size,
    async holds(jobId) {
      const job = await queue.getJob(`job-${jobId}`);
      if (!job) return false;
      const state = await job.getState();
      return state !== 'completed' && state !== 'failed' && state !== 'unknown';
    },
    async stop() {
      for (const a of active.values()) a.abort(ABORT_SHUTDOWN);
      await worker?.close();
      await queue.close();
      for (const c of [sub, pub, queueConn, workerConn]) c.disconnect();
    },
  };
}
