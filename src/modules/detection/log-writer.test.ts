import { describe, expect, it } from 'vitest';
import { logRow, quietLogger } from '../../../test/support/log-rows.ts';
import type { LogInsert } from './detection.repository.ts';
import { createLogWriter } from './log-writer.ts';

const row = logRow;
const quiet = quietLogger;

describe('log writer', () => {
  it('writes a batch as soon as batchSize rows are buffered, in order', async () => {
    const written: number[][] = [];
    const w = createLogWriter({ insert: async (rows) => void written.push(rows.map((r) => r.value)), batchSize: 3, flushMs: 60_000, maxBuffer: 100, logger: quiet });
    for (let i = 0; i < 7; i++) w.push(row(i));
    await new Promise((r) => setTimeout(r, 10));
    // flushMs is a minute: only the batch-size trigger can have written them.
    expect(written).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(w.stats()).toMatchObject({ buffered: 0, written: 7 });
  });

  it('writes a partial batch after flushMs', async () => {
    const written: number[] = [];
    const w = createLogWriter({ insert: async (rows) => void written.push(...rows.map((r) => r.value)), batchSize: 100, flushMs: 20, maxBuffer: 1000, logger: quiet });
    w.push(row(1));
    expect(written).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(written).toEqual([1]);
  });

  it('keeps rows while the database is down and writes each exactly once after it recovers', async () => {
    let down = true;
    const written: number[] = [];
    const w = createLogWriter({
      insert: async (rows) => {
        if (down) throw new Error('ECONNREFUSED');
        written.push(...rows.map((r) => r.value));
      },
      batchSize: 4,
      flushMs: 5,
      maxBuffer: 1000,
      logger: quiet,
      retry: { initialMs: 5, maxMs: 20 },
    });
    for (let i = 0; i < 10; i++) w.push(row(i));
    await new Promise((r) => setTimeout(r, 50));
    expect(written).toEqual([]);
    expect(w.stats().failures).toBeGreaterThan(0);
    down = false;
    for (let i = 10; i < 12; i++) w.push(row(i));
    await w.flush();
    expect(written).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(w.stats()).toMatchObject({ buffered: 0, written: 12, dropped: 0 });
  });

  it('drops the oldest rows beyond maxBuffer and counts them', async () => {
    const errors: object[] = [];
    const w = createLogWriter({
      insert: async () => {
        throw new Error('down');
      },
      batchSize: 1000,
      flushMs: 60_000,
      maxBuffer: 5,
      logger: { ...quiet, error: (o) => void errors.push(o) },
    });
    for (let i = 0; i < 8; i++) w.push(row(i));
    expect(w.stats()).toMatchObject({ buffered: 5, dropped: 3 });
    expect(errors.length).toBeGreaterThan(0);
    await expect(w.flush(1)).rejects.toThrow(/5 rows pending/);
  });
});

describe('log writer flush under a steady inflow', () => {
  it('returns once the rows pushed before it are written, while other rows keep arriving', async () => {
    const written: number[] = [];
    const w = createLogWriter({
      insert: async (rows) => {
        await new Promise((r) => setTimeout(r, 5));
        written.push(...rows.map((r) => r.value));
      },
      batchSize: 2,
      flushMs: 1,
      maxBuffer: 100_000,
      logger: quiet,
    });
    let i = 0;
    const feeder = setInterval(() => {
      for (let k = 0; k < 3; k++) w.push(row(i++));
    }, 1);
    await new Promise((r) => setTimeout(r, 20));
    const target = i;
    await w.flush();
    clearInterval(feeder);
    for (let v = 0; v < target; v++) expect(written).toContain(v);
  });

  it('skips the stored-row check on a first write, checks after a failure and for re-scored rows', async () => {
    const calls: Array<{ values: number[]; fresh: boolean }> = [];
    let fail = true;
    const w = createLogWriter({
      insert: async (rows, opts) => {
        calls.push({ values: rows.map((r) => r.value), fresh: opts.fresh });
        if (fail) {
          fail = false;
          // Like a MySQL connection lost after COMMIT: the rows may be stored although the call failed.
          throw new Error('ECONNRESET');
        }
      },
      batchSize: 2,
      flushMs: 5,
      maxBuffer: 100,
      logger: quiet,
      retry: { initialMs: 5, maxMs: 5 },
    });
    w.push(row(0));
    w.push(row(1));
    await w.flush();
    w.push(row(2));
    w.push(row(3));
    await w.flush();
    w.push({ ...row(4), rescored: true });
    await w.flush();
    expect(calls).toEqual([
      { values: [0, 1], fresh: true },
      { values: [0, 1], fresh: false },
      { values: [2, 3], fresh: true },
      { values: [4], fresh: false },
    ]);
  });
});

/** An insert whose first call waits until `release()`; `seen` records every batch's values at the call. */
function firstInsertWaits() {
  const seen: number[][] = [];
  let release: () => void = () => undefined;
  let first = true;
  const insert = async (rows: readonly LogInsert[]) => {
    seen.push(rows.map((r) => r.value));
    if (first) {
      first = false;
      await new Promise<void>((r) => (release = r));
    }
  };
  return { seen, insert, release: () => release() };
}

describe('log writer bound and backlog', () => {
  it('drops rows of a batch in flight that the bound overtook, and writes the rest once, in order', async () => {
    const { seen: written, insert, release } = firstInsertWaits();
    const w = createLogWriter({
      insert,
      batchSize: 4,
      flushMs: 5,
      maxBuffer: 10,
      logger: quiet,
    });
    for (let i = 0; i < 4; i++) w.push(row(i));
    // Rows 0-3 are being written; 4-11 arrive meanwhile and the bound of 10 drops 0 and 1 (the
    // batch's rows 2 and 3 are still queued and must not be written twice).
    for (let i = 4; i < 12; i++) w.push(row(i));
    expect(w.stats()).toMatchObject({ buffered: 10, dropped: 2 });
    release();
    await w.flush();
    expect(written).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(w.stats()).toMatchObject({ buffered: 0, written: 12 });
  });

  it('keeps the newest maxBuffer rows, in order, through many thousands of drops', async () => {
    const w = createLogWriter({
      insert: async () => {
        throw new Error('down');
      },
      batchSize: 100_000,
      flushMs: 60_000,
      maxBuffer: 3000,
      logger: quiet,
    });
    for (let i = 0; i < 50_000; i++) w.push(row(i));
    expect(w.stats()).toMatchObject({ buffered: 3000, dropped: 47_000 });
    let up = false;
    const got: number[] = [];
    const v = createLogWriter({ insert: async (rows) => void (up ? got.push(...rows.map((r) => r.value)) : Promise.reject(new Error('down'))), batchSize: 100_000, flushMs: 60_000, maxBuffer: 3000, logger: quiet, retry: { initialMs: 1, maxMs: 1 } });
    for (let i = 0; i < 50_000; i++) v.push(row(i));
    up = true;
    await v.flush();
    expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => 47_000 + i));
    await w.close(1).catch(() => undefined);
  });

  it('writes a backlog in order, in batches of batchSize', async () => {
    const { seen, insert, release } = firstInsertWaits();
    const w = createLogWriter({ insert, batchSize: 4, flushMs: 5, maxBuffer: 1000, logger: quiet });
    for (let i = 0; i < 4; i++) w.push(row(i));
    for (let i = 4; i < 14; i++) w.push(row(i));
    release();
    await w.flush();
    expect(seen.map((b) => b.length)).toEqual([4, 4, 4, 2]);
    expect(seen.flat()).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(w.stats()).toMatchObject({ buffered: 0, written: 14 });
  });
});

