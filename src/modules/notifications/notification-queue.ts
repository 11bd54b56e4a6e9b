import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DeliveryError, type Notification } from './notification.types.ts';

export interface NotifyJob {
  deliveryId: number;
  channelId: number;
  notification: Notification;
}

/** Runs one attempt; `last` says no retry follows. Throws a DeliveryError to fail the attempt. */
export type NotifyRunner = (job: NotifyJob, attempt: number, last: boolean) => Promise<void>;

/**
 * Where notifications wait for delivery: retried with exponential backoff, never on the reading path.
 * In-process by default; a BullMQ queue shared by every process with REDIS_URL.
 */
export interface NotificationQueue {
  readonly kind: 'local' | 'bullmq';
  start(run: NotifyRunner): Promise<void>;
  add(job: NotifyJob): Promise<void>;
  close(): Promise<void>;
}

export interface QueueOptions {
  attempts: number;
  backoffMs: number;
  concurrency: number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export function createLocalNotificationQueue(opts: QueueOptions): NotificationQueue {
  let run: NotifyRunner | undefined;
  const waiting: Array<{ job: NotifyJob; attempt: number }> = [];
  const timers = new Set<NodeJS.Timeout>();
  let active = 0;
  let closed = false;
  let idle: (() => void) | undefined;

  function pump() {
    while (run && !closed && active < opts.concurrency && waiting.length > 0) {
      const { job, attempt } = waiting.shift()!;
      const last = attempt >= opts.attempts;
      active++;
      run(job, attempt, last)
        .catch((err: unknown) => {
          if (closed || last || (err instanceof DeliveryError && err.final)) return;
          const t = setTimeout(() => {
            timers.delete(t);
            waiting.push({ job, attempt: attempt + 1 });
            pump();
          }, opts.backoffMs * 2 ** (attempt - 1));
          timers.add(t);
        })
        .finally(() => {
          active--;
          if (active === 0) idle?.();
          pump();
        });
    }
  }

  return {
    kind: 'local',
    async start(r) {
      run = r;
      pump();
    },
    async add(job) {
      waiting.push({ job, attempt: 1 });
      pump();
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      if (active > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}

export function createBullmqNotificationQueue(opts: QueueOptions & { redisUrl: string; queueName: string }): NotificationQueue {
  const connect = () => {
    const c = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
    c.on('error', (err) => opts.logger.warn({ err }, 'notification queue: redis connection error'));
    return c;
  };
  const queueConn = connect();
  const workerConn = connect();
  const queue = new Queue<NotifyJob>(opts.queueName, { connection: queueConn });
  let worker: Worker<NotifyJob> | undefined;
  return {
    kind: 'bullmq',
    async start(run) {
      worker = new Worker<NotifyJob>(
        opts.queueName,
        async (job) => {
          const attempt = job.attemptsMade + 1;
          try {
            await run(job.data, attempt, attempt >= opts.attempts);
          } catch (err) {
            if (err instanceof DeliveryError && err.final) throw new UnrecoverableError(err.message);
            throw err;
          }
        },
        { connection: workerConn, concurrency: opts.concurrency },
      );
      worker.on('error', (err) => opts.logger.error({ err }, 'notification queue worker error'));
      await worker.waitUntilReady();
    },
    async add(job) {
      await queue.add('notify', job, { attempts: opts.attempts, backoff: { type: 'exponential', delay: opts.backoffMs }, removeOnComplete: true, removeOnFail: 1000 });
    },
    async close() {
      await worker?.close();
      await queue.close();
      queueConn.disconnect();
      workerConn.disconnect();
    },
  };
}
