/**
 * An in-process queue that runs async tasks one at a time, in order, off the caller's path.
 * A failing task is reported and never stops the ones behind it; beyond `max` waiting tasks the
 * droppable ones are refused (the caller folds them into a later task).
 */
export function createSerialQueue(opts: { max: number; onError(err: unknown): void }) {
  let tail: Promise<void> = Promise.resolve();
  let waiting = 0;
  return {
    /** Queues `task`; returns false (and does nothing) when `droppable` and the queue is full. */
    push(task: () => Promise<void>, droppable = false): boolean {
      if (droppable && waiting >= opts.max) return false;
      waiting++;
      tail = tail.then(task).catch(opts.onError).finally(() => void waiting--);
      return true;
    },
    /** Resolves once every task queued so far has run. */
    drain(): Promise<void> {
      return tail;
    },
    size: () => waiting,
  };
}
