import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { computeSeriesTask, textOf, type SeriesResult, type SeriesTask } from './series.worker.ts';

export interface SeriesPoolOptions {
  /** Worker threads (default: 1, or 2 with more than 2 CPUs). */
  threads?: number;
  /** Inputs smaller than this many bytes are handled on the calling thread (default 64 KiB). */
  inlineBelowBytes?: number;
  /** Idle worker threads exit after this (default 30 s). */
  idleTimeoutMs?: number;
}

/** At 26 ms per MB of CSV on the project machine, 64 KiB keeps inline work under 2 ms. */
const DEFAULT_INLINE_BELOW = 64 * 1024;

/**
 * The recordings' worker threads (piscina): CSV parsing, checking, stats, file formatting and
 * downsampling of big series run here, off the event loop that serves live sessions. Small
 * inputs skip the thread hop and run inline. Threads start on demand and exit when idle.
 */
export function createSeriesPool(opts: SeriesPoolOptions = {}) {
  const inlineBelow = opts.inlineBelowBytes ?? DEFAULT_INLINE_BELOW;
  const pool = new Piscina<SeriesTask, SeriesResult>({
    filename: new URL('./series-worker.mjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: opts.threads ?? Math.max(1, Math.min(2, availableParallelism() - 1)),
    idleTimeout: opts.idleTimeoutMs ?? 30_000,
    // CPU-bound: one task per thread at a time.
    concurrentTasksPerWorker: 1,
  });
  let inline = 0;
  let closed: Promise<void> | undefined;

  async function inWorker(task: SeriesTask, transfer: ArrayBuffer[] = []): Promise<SeriesResult> {
    // An export's segments are built for the task: moved along with it.
    if ('segments' in task && task.segments.buffer instanceof ArrayBuffer)
      transfer.push(task.segments.buffer);
    return pool.run(task, { transferList: transfer });
  }

  /** The task on this thread: the same computation, with asynchronous I/O. */
  async function inThread(task: SeriesTask, text: string): Promise<SeriesResult> {
    inline++;
    const { result, store } = computeSeriesTask(task, text);
    if (store && task.type === 'upload') {
      await mkdir(path.dirname(task.store), { recursive: true });
      await writeFile(task.store, store);
    }
    return result;
  }

  async function run(task: SeriesTask): Promise<SeriesResult> {
    const input = task.input;
    if ('file' in input) {
      const size = await stat(input.file).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) return { type: 'unreadable' };
      if (size >= inlineBelow) return inWorker(task);
      let text: string;
      try {
        text = await readFile(input.file, 'utf8');
      } catch {
        return { type: 'unreadable' };
      }
      return inThread(task, text);
    }
    const data = input.data;
    if (typeof data === 'string') {
      if (data.length >= inlineBelow) return inWorker(task);
      return inThread(task, data);
    }
    if (data.byteLength >= inlineBelow) {
      // Moved, not copied, when the bytes own their buffer (a big upload does); the caller's view is detached then.
      const owns =
        data.buffer instanceof ArrayBuffer &&
        data.byteOffset === 0 &&
        data.byteLength === data.buffer.byteLength;
      const moved = owns ? data : new Uint8Array(data);
      return inWorker({ ...task, input: { data: moved } }, [moved.buffer as ArrayBuffer]);
    }
    return inThread(task, textOf(data));
  }

  return {
    /** Runs a task, in a worker thread unless its input is small. */
    run,
    /** Tasks finished in worker threads and inline (for tests and the benchmark). */
    get counts() {
      return { worker: pool.completed, inline };
    },
    get threads() {
      return pool.threads.length;
    },
    /** Lets running tasks finish, then ends the threads. Idempotent. */
    close(): Promise<void> {
      closed ??= pool.close();
      return closed;
    },
  };
}

export type SeriesPool = ReturnType<typeof createSeriesPool>;
