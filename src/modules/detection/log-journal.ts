import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { LogInsert } from './detection.repository.ts';

export interface LogJournalDeps {
  /** The journal root (`DATA_DIR/journal`); each process writes under its own sub-directory. */
  dir: string;
  /** The journal is fdatasynced at most this often (ms) unless someone awaits `durable()`. */
  fsyncMs: number;
  /** A segment is closed (and deleted once its rows are in the database) past this size. */
  segmentBytes?: number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

interface Segment {
  file: string;
  /** Index (in append order, 1-based) of the last row in the segment. */
  last: number;
}

const COLUMNS = ['session_id', 'seq', 'user_id', 'model_id', 'timestamp', 'value', 'anomaly_score', 'is_anomaly', 'confidence', 'explanation', 'created_at'] as const;

const num = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'null' : String(x));

/** One JSON array per row, in `COLUMNS` order (what `JSON.stringify` of that array gives, without building it). */
const encode = (r: LogInsert): string =>
  `[${r.session_id},${r.seq},${r.user_id},${num(r.model_id)},${JSON.stringify(r.timestamp)},${num(r.value)},${num(r.anomaly_score)},${r.is_anomaly},${num(r.confidence)},${r.explanation === null ? 'null' : JSON.stringify(r.explanation)},${JSON.stringify(r.created_at)}]`;

function decode(line: string): LogInsert | undefined {
  try {
    const a = JSON.parse(line) as unknown[];
    if (!Array.isArray(a) || a.length !== COLUMNS.length) return undefined;
    return Object.fromEntries(COLUMNS.map((c, i) => [c, a[i]])) as unknown as LogInsert;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Write-ahead journal of scored log rows (decisions 0005, 0019): every row is appended to a local
 * file before the reading is acknowledged, and the file is deleted once the database holds its
 * rows. Two steps:
 * - **write** (into the page cache, a synchronous `write` of every pending row): at once when
 *   someone awaits `written()` (an MQTT message before its PUBACK), otherwise with the next sync.
 *   A written row survives a crash of the process. Synchronous because it is cheap (no disk wait)
 *   and an acknowledgement that waited for a thread-pool round trip cost every MQTT client one
 *   message per event-loop turn.
 * - **fdatasync** (on libuv's thread pool, never blocking the event loop, also when a segment
 *   closes): at most every
 *   `fsyncMs`, or at once (grouped) when someone awaits `durable()` (an HTTP batch before its 202).
 *   A synced row also survives a power loss.
 * After a crash the next start replays what the dead process left.
 */
export function createLogJournal(deps: LogJournalDeps) {
  const segmentBytes = deps.segmentBytes ?? 8 * 1024 * 1024;
  const own = path.join(deps.dir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  let pending: string[] = [];
  let appended = 0;
  /** Rows written to the file (in the page cache). */
  let written = 0;
  /** Rows covered by an `fdatasync`. */
  let synced = 0;
  let released = 0;
  let syncs = 0;
  let lastSyncAt = performance.now();
  let fd: number | undefined;
  let current: Segment | undefined;
  let currentBytes = 0;
  let segNo = 0;
  const closedSegments: Segment[] = [];
  let timer: NodeJS.Timeout | undefined;
  let syncing: Promise<void> | undefined;
  type Waiter = { target: number; resolve: () => void; reject: (err: unknown) => void };
  const syncWaiters: Waiter[] = [];
  let failed: unknown;

  function fail(err: unknown) {
    if (failed) return;
    // A journal that cannot be written must not acknowledge anything any more.
    failed = err;
    pending = [];
    if (timer) clearTimeout(timer);
    timer = undefined;
    deps.logger.error({ err }, 'detection log journal write failed');
    for (const w of syncWaiters.splice(0)) w.reject(err);
  }

  const failure = () => (failed instanceof Error ? failed : new Error('journal failed'));

  /** One fdatasync on the thread pool; resolves once done (rejects on failure). */
  const fdatasyncAsync = (h: number) => new Promise<void>((resolve, reject) => fdatasync(h, (err) => (err ? reject(err) : resolve())));

  /**
   * Runs a sync after the one under way (syncs complete in order, so `synced` only moves forward
   * over rows really on disk), then `after` (closing a segment's descriptor).
   */
  function chainSync(h: number, after?: () => void): void {
    const upTo = written;
    // Counted from the start: two syncs start at least `fsyncMs` apart unless someone awaits one.
    lastSyncAt = performance.now();
    const p: Promise<void> = (syncing ?? Promise.resolve())
      .then(() => fdatasyncAsync(h))
      .then(() => {
        syncs++;
        synced = Math.max(synced, upTo);
        settleSyncs();
      })
      .catch(fail)
      .finally(() => {
        after?.();
        if (syncing !== p) return;
        syncing = undefined;
        if (syncWaiters.length > 0) sync();
        schedule();
      });
    syncing = p;
  }

  /** Closes the current segment: its last rows are synced (on the thread pool) before its descriptor closes. */
  function closeSegment() {
    if (fd === undefined || !current) return;
    const old = fd;
    fd = undefined;
    closedSegments.push(current);
    if (synced < written) chainSync(old, () => closeSync(old));
    else if (syncing) void syncing.finally(() => closeSync(old));
    else closeSync(old);
  }

  /** Writes every pending row (synchronously); throws if the journal cannot be written. */
  function writeNow(): void {
    if (failed) throw failure();
    if (pending.length === 0) return;
    try {
      const lines = pending;
      pending = [];
      if (fd === undefined || currentBytes >= segmentBytes) {
        closeSegment();
        mkdirSync(own, { recursive: true });
        const file = path.join(own, `${String(++segNo).padStart(8, '0')}.jsonl`);
        fd = openSync(file, 'a');
        current = { file, last: written };
        currentBytes = 0;
      }
      const buf = Buffer.from(lines.join('\n') + '\n');
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      currentBytes += buf.length;
      written += lines.length;
      current!.last = written;
    } catch (err) {
      fail(err);
      throw failure();
    }
  }

  function settleSyncs() {
    for (let i = syncWaiters.length - 1; i >= 0; i--) {
      if (syncWaiters[i]!.target <= synced) syncWaiters.splice(i, 1)[0]!.resolve();
    }
  }

  /** Starts an fdatasync of what is written, unless one runs (then it follows that one). */
  function sync(): void {
    if (syncing || failed || fd === undefined || synced >= written) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    chainSync(fd);
  }

  /** The next write and sync of rows nobody awaits: `fsyncMs` after the last sync, never more often. */
  function schedule() {
    if (timer || syncing || failed || (pending.length === 0 && synced >= written)) return;
    const wait = Math.max(0, deps.fsyncMs - (performance.now() - lastSyncAt));
    timer = setTimeout(() => {
      timer = undefined;
      try {
        writeNow();
      } catch {
        return;
      }
      sync();
      schedule();
    }, wait);
  }

  async function pruneSegments() {
    while (closedSegments.length > 0 && closedSegments[0]!.last <= released) {
      const seg = closedSegments.shift()!;
      await rm(seg.file, { force: true });
    }
  }

  return {
    /** This process's own journal directory (never replayed by it while it runs). */
    dir: own,

    /** Appends one row; it is written and synced within about `fsyncMs` (or sooner, see `written` and `durable`). */
    append(row: LogInsert): void {
      // A failed journal acknowledges nothing any more; the rows still go to the database.
      if (failed) return;
      pending.push(encode(row));
      appended++;
      schedule();
    },

    /**
     * Writes every row appended so far to the journal file (the page cache) before it resolves: it
     * survives a crash of this process, not a power loss before the next sync (at most `fsyncMs`
     * later). Rejects if the journal cannot be written.
     */
    written(): Promise<void> {
      try {
        writeNow();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : failure());
      }
      schedule();
      return Promise.resolve();
    },

    /** Resolves once every row appended before the call is on disk (rejects if the journal fails). */
    durable(): Promise<void> {
      try {
        writeNow();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : failure());
      }
      if (synced >= appended) return Promise.resolve();
      const p = new Promise<void>((resolve, reject) => syncWaiters.push({ target: appended, resolve, reject }));
      sync();
      return p;
    },

    /** The first `count` appended rows are in the database: segments holding only those can go. */
    release(count: number): void {
      released = Math.max(released, count);
      void pruneSegments().catch((err: unknown) => deps.logger.warn({ err }, 'journal segment not deleted'));
    },

    /** Rows appended, written, synced and released, and the number of fdatasyncs (for stats and tests). */
    stats: () => ({ appended, written, synced, released, syncs }),

    /**
     * Clean shutdown: once the database holds every row, this process's journal is deleted;
     * otherwise it is kept (synced) for the next start to replay.
     */
    async close(allWritten: boolean): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!failed) await this.durable().catch(() => undefined);
      if (syncing) await syncing;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      if (allWritten) rmSync(own, { recursive: true, force: true });
    },
  };
}

export type LogJournal = ReturnType<typeof createLogJournal>;

/**
 * The rows journals of dead processes left under `dir`, oldest first, per journal directory.
 * `done(dir)` deletes a journal once its rows are in the database.
 */
export function readOrphanJournals(dir: string, skip?: string): Array<{ dir: string; rows: LogInsert[]; corrupt: number }> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<{ dir: string; rows: LogInsert[]; corrupt: number }> = [];
  for (const name of entries.sort()) {
    const m = /^(\d+)-[0-9a-f]+$/.exec(name);
    const jdir = path.join(dir, name);
    // The own pid counts as dead (a container restarts as pid 1), but not the journal this process writes.
    if (!m || alive(Number(m[1])) || jdir === skip) continue;
    const rows: LogInsert[] = [];
    let corrupt = 0;
    for (const file of readdirSync(jdir).filter((f) => f.endsWith('.jsonl')).sort()) {
      for (const line of readFileSync(path.join(jdir, file), 'utf8').split('\n')) {
        if (line === '') continue;
        const row = decode(line);
        if (row) rows.push(row);
        else corrupt++; // a torn last line of a crash: it was never acknowledged
      }
    }
    out.push({ dir: jdir, rows, corrupt });
  }
  return out;
}

export const removeJournal = (dir: string) => rmSync(dir, { recursive: true, force: true });

/**
 * Writes the rows that dead processes' journals hold into the database (idempotent: rows already
 * there are skipped) and deletes those journals. A batch the database refuses is retried row by
 * row, so one row of a since-deleted session cannot block the rest.
 */
export async function replayJournals(
  dir: string,
  insert: (rows: readonly LogInsert[]) => Promise<void>,
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
  skip?: string,
): Promise<number> {
  let total = 0;
  for (const j of readOrphanJournals(dir, skip)) {
    let skipped = 0;
    for (let i = 0; i < j.rows.length; i += 1000) {
      const chunk = j.rows.slice(i, i + 1000);
      try {
        await insert(chunk);
      } catch {
        for (const row of chunk) await insert([row]).catch(() => skipped++);
      }
    }
    removeJournal(j.dir);
    total += j.rows.length - skipped;
    logger.info({ journal: j.dir, rows: j.rows.length, skipped, torn: j.corrupt }, 'detection log journal replayed');
    if (skipped > 0) logger.warn({ journal: j.dir, skipped }, 'journal rows the database refused (their session is gone)');
  }
  return total;
}
