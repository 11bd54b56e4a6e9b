import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { LogInsert } from './detection.repository.ts';

export interface LogJournalDeps {
  /** The journal root (`DATA_DIR/journal`); each process writes under its own sub-directory. */
  dir: string;
  /** Longest time an appended row waits for its fsync when nobody awaits it (group commit). */
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

const encode = (r: LogInsert): string => JSON.stringify(COLUMNS.map((c) => r[c]));

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
 * Write-ahead journal of scored log rows (decision 0005): every row is appended to a local file
 * before the reading is acknowledged, and the file is deleted once the database holds its rows.
 * Appends are grouped: one `write` + `fdatasync` per batch, at most `fsyncMs` after the first
 * row, or at once when someone awaits `durable()` (an HTTP batch before its 202, an MQTT message
 * before its PUBACK). After a crash the next start replays what the dead process left.
 */
export function createLogJournal(deps: LogJournalDeps) {
  const segmentBytes = deps.segmentBytes ?? 8 * 1024 * 1024;
  const own = path.join(deps.dir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  let pending: string[] = [];
  let appended = 0;
  let synced = 0;
  let released = 0;
  let fh: FileHandle | undefined;
  let current: Segment | undefined;
  let currentBytes = 0;
  let segNo = 0;
  const closedSegments: Segment[] = [];
  let timer: NodeJS.Timeout | undefined;
  let syncing: Promise<void> | undefined;
  const waiters: Array<{ target: number; resolve: () => void; reject: (err: unknown) => void }> = [];
  let failed: unknown;

  async function writeOut(): Promise<void> {
    while (pending.length > 0) {
      const lines = pending;
      pending = [];
      const upTo = synced + lines.length;
      if (!fh || currentBytes >= segmentBytes) {
        if (fh && current) {
          await fh.close();
          closedSegments.push(current);
        }
        mkdirSync(own, { recursive: true });
        const file = path.join(own, `${String(++segNo).padStart(8, '0')}.jsonl`);
        fh = await open(file, 'a');
        current = { file, last: synced };
        currentBytes = 0;
      }
      const buf = Buffer.from(lines.join('\n') + '\n');
      await fh.write(buf);
      await fh.datasync();
      currentBytes += buf.length;
      current!.last = upTo;
      synced = upTo;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.target <= synced) waiters.splice(i, 1)[0]!.resolve();
      }
    }
  }

  function sync(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (syncing) return syncing;
    syncing = writeOut()
      .catch((err: unknown) => {
        // A journal that cannot be written must not acknowledge anything any more.
        failed = err;
        deps.logger.error({ err }, 'detection log journal write failed');
        for (const w of waiters.splice(0)) w.reject(err);
      })
      .finally(() => {
        syncing = undefined;
        if (pending.length > 0 && waiters.length > 0) void sync();
        else if (pending.length > 0) schedule();
      });
    return syncing;
  }

  function schedule() {
    if (timer || syncing) return;
    timer = setTimeout(() => void sync(), deps.fsyncMs);
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

    /** Appends one row; it is durable within `fsyncMs` (or sooner, see `durable`). */
    append(row: LogInsert): void {
      pending.push(encode(row));
      appended++;
      schedule();
    },

    /** Resolves once every row appended before the call is on disk (rejects if the journal fails). */
    durable(): Promise<void> {
      if (failed) return Promise.reject(failed instanceof Error ? failed : new Error('journal failed'));
      const target = appended;
      if (synced >= target) return Promise.resolve();
      const p = new Promise<void>((resolve, reject) => waiters.push({ target, resolve, reject }));
      void sync();
      return p;
    },

    /** The first `count` appended rows are in the database: segments holding only those can go. */
    release(count: number): void {
      released = Math.max(released, count);
      void pruneSegments().catch((err: unknown) => deps.logger.warn({ err }, 'journal segment not deleted'));
    },

    /** Rows appended and not yet released (for stats). */
    stats: () => ({ appended, synced, released }),

    /**
     * Clean shutdown: once the database holds every row, this process's journal is deleted;
     * otherwise it is kept for the next start to replay.
     */
    async close(allWritten: boolean): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pending.length > 0) await sync();
      if (syncing) await syncing;
      await fh?.close().catch(() => undefined);
      fh = undefined;
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
