import type { LogInsert } from './detection.repository.ts';
import type { LogJournal } from './log-journal.ts';

export interface LogWriterDeps {
  /** `fresh`: no row of the batch can be stored yet (first attempt, nothing re-scored), so the insert need not check. */
  insert(rows: readonly LogInsert[], opts: { fresh: boolean }): Promise<void>;
  /**
   * Flush when this many rows are buffered… (and a backlog is written in batches of this many: each
   * batch costs a transaction's round trips and commit, so a driver that waits off the event loop
   * is given large ones by the caller; decision 0015).
   */
  batchSize: number;
  /** …or this long after the first unflushed row. */
  flushMs: number;
  /** Rows kept while the database is unreachable; beyond it the oldest are dropped (and counted). */
  maxBuffer: number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Retry delays after a failed insert, in ms. */
  retry?: { initialMs: number; maxMs: number };
  /** Write-ahead journal: each row is appended before it is buffered, released once written. */
  journal?: LogJournal;
}

export interface LogWriterStats {
  buffered: number;
  written: number;
  dropped: number;
  failures: number;
  flushes: number;
}

/**
 * Batches detection-log rows so the database is never on the hot path: `push` is synchronous and
 * O(1); rows are written in order by one flush at a time. A failed write keeps its rows and retries
 * with backoff; memory is bounded by `maxBuffer`.
 */
export function createLogWriter(deps: LogWriterDeps) {
  const retry = deps.retry ?? { initialMs: 200, maxMs: 5000 };
  const buffer = new RowQueue();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failing = false;
  let delay = retry.initialMs;
  const stats: LogWriterStats = { buffered: 0, written: 0, dropped: 0, failures: 0, flushes: 0 };
  let pushed = 0;
  /** Rows taken off the front of the buffer (written), in push order; the journal may forget them. */
  let front = 0;
  /** Set once rows were dropped: the journal keeps everything from there for the next start to replay. */
  let keepJournal = false;
  /** Rows buffered when an insert failed (it may have committed before the error came back): their batches are checked. */
  let uncertain = 0;

  function schedule(ms: number) {
    if (timer || running) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flushOnce();
    }, ms);
  }

  /** One pass: writes what is buffered now, batch by batch; stops at the first failure. */
  async function writeAll(): Promise<boolean> {
    // Only what is buffered now: a steady inflow must not keep one pass (and its awaiters) running.
    let remaining = buffer.length;
    for (let first = true; remaining > 0 && buffer.length > 0; first = false) {
      // A synchronous driver (better-sqlite3) never yields between batches by itself: a backlog
      // written in one go held every push and timer behind it for seconds.
      if (!first) await new Promise((r) => setImmediate(r));
      const batchStart = buffer.base;
      const batch = buffer.peek(Math.min(deps.batchSize, remaining));
      remaining -= batch.length;
      try {
        await deps.insert(batch, { fresh: uncertain === 0 && !batch.some((r) => r.rescored) });
      } catch (err) {
        uncertain = buffer.length;
        stats.failures++;
        if (!failing) deps.logger.warn({ err, buffered: buffer.length }, 'detection log write failed; keeping rows and retrying');
        failing = true;
        return false;
      }
      // Rows pushed meanwhile were appended; the batch is still at the front unless the bound dropped it.
      buffer.dropThrough(batchStart + batch.length);
      stats.written += batch.length;
      stats.flushes++;
      front += batch.length;
      if (!keepJournal) deps.journal?.release(front);
      uncertain = Math.max(0, uncertain - batch.length);
      if (failing) deps.logger.info({ buffered: buffer.length }, 'detection log writes recovered');
      failing = false;
      delay = retry.initialMs;
    }
    return true;
  }

  function flushOnce(): Promise<void> {
    if (running) return running;
    if (timer) clearTimeout(timer);
    timer = undefined;
    running = writeAll()
      .then((ok) => {
        running = undefined;
        if (!ok) {
          const d = delay;
          delay = Math.min(retry.maxMs, delay * 2);
          schedule(d);
        } else if (buffer.length > 0) {
          schedule(buffer.length >= deps.batchSize ? 0 : deps.flushMs);
        }
      });
    return running;
  }

  return {
    push(row: LogInsert): void {
      deps.journal?.append(row);
      buffer.push(row);
      pushed++;
      if (buffer.length > deps.maxBuffer) {
        const excess = buffer.length - deps.maxBuffer;
        buffer.dropThrough(buffer.base + excess);
        stats.dropped += excess;
        keepJournal = true;
        if (stats.dropped === excess || stats.dropped % 10_000 < excess) {
          deps.logger.error({ dropped: stats.dropped, maxBuffer: deps.maxBuffer }, 'detection log buffer full: oldest rows dropped');
        }
      }
      if (buffer.length >= deps.batchSize && !failing) {
        if (timer) clearTimeout(timer);
        timer = undefined;
        if (!running) void flushOnce();
      } else {
        schedule(deps.flushMs);
      }
    },

    /**
     * Writes every row pushed before the call (rows pushed meanwhile by other sessions do not keep
     * it waiting); rejects if the database still fails after `attempts`.
     */
    async flush(attempts = 5): Promise<void> {
      const target = pushed;
      const done = () => stats.written + stats.dropped >= target || buffer.length === 0;
      for (let i = 0; ; i++) {
        if (running) await running;
        if (done()) return;
        await flushOnce();
        if (done()) return;
        if (!failing) continue;
        if (i + 1 >= attempts) throw new Error(`detection logs not flushed: ${buffer.length} rows pending`);
        await new Promise((r) => setTimeout(r, Math.min(retry.maxMs, retry.initialMs * 2 ** i)));
      }
    },

    /** Resolves once every row pushed so far survives a crash of the process (is written to the journal file). */
    written(): Promise<void> {
      return deps.journal ? deps.journal.written() : Promise.resolve();
    },

    /** Resolves once every row pushed so far survives a power loss (is in the journal on disk). */
    durable(): Promise<void> {
      return deps.journal ? deps.journal.durable() : Promise.resolve();
    },

    stats(): LogWriterStats {
      return { ...stats, buffered: buffer.length };
    },

    /** Final flush on shutdown; rows that still cannot be written are reported, not silently lost. */
    async close(attempts = 5): Promise<void> {
      try {
        await this.flush(attempts);
      } finally {
        if (timer) clearTimeout(timer);
        timer = undefined;
        const kept = deps.journal !== undefined;
        if (buffer.length > 0) {
          deps.logger.error({ pending: buffer.length, journal: kept }, kept ? 'detection log rows not written before exit: kept in the journal for the next start' : 'detection log rows could not be written before exit');
        }
        await deps.journal?.close(buffer.length === 0 && !keepJournal);
      }
    },
  };
}

export type LogWriter = ReturnType<typeof createLogWriter>;

/**
 * The buffered rows, oldest first, with O(1) removal at the front: a full buffer drops its oldest
 * row on every push, and a plain array's `splice(0, 1)` moved all half a million rows each time
 * (measured: the process spent its whole core on it at 1,000 devices while the database lagged).
 */
class RowQueue {
  private rows: LogInsert[] = [];
  private head = 0;
  /** Rows ever removed from the front (written or dropped): the position of the oldest row held. */
  base = 0;

  get length(): number {
    return this.rows.length - this.head;
  }

  push(row: LogInsert): void {
    this.rows.push(row);
  }

  /** The oldest `n` rows (a copy; they stay queued). */
  peek(n: number): LogInsert[] {
    return this.rows.slice(this.head, this.head + n);
  }

  /** Removes every row before position `end` (rows already gone are skipped). */
  dropThrough(end: number): void {
    const k = Math.min(this.length, end - this.base);
    if (k <= 0) return;
    this.head += k;
    this.base += k;
    // Compact once the removed front outweighs what is held: amortised O(1) per row.
    if (this.head >= 1024 && this.head * 2 >= this.rows.length) {
      this.rows = this.rows.slice(this.head);
      this.head = 0;
    } else if (this.head === this.rows.length) {
      this.rows = [];
      this.head = 0;
    }
  }
}
