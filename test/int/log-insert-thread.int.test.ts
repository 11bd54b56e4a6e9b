import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import {
  createDetectionRepository,
  type LogInsert,
} from '../../src/modules/detection/detection.repository.ts';
import { createLogInsertThread } from '../../src/modules/detection/log-insert-thread.ts';
import { createLogWriter } from '../../src/modules/detection/log-writer.ts';
import { createRetentionRepository } from '../../src/modules/retention/retention.repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { quietLogger } from '../support/log-rows.ts';
import { startTestServer } from '../support/server.ts';

// SQLite only: the thread exists for better-sqlite3 (MariaDB's driver already waits off the loop).
describe('SQLite log-insert thread', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function sqliteFile(): Promise<{ database: Database; file: string }> {
    const tdb: TestDatabase = await createTestDatabase('sqlite');
    const config = loadConfig({ env: { DATABASE_URL: tdb.url, DATA_DIR: tdb.dataDir } });
    const database = openDatabase(config.database);
    cleanup.push(
      () => tdb.drop(),
      () => database.close(),
    );
    await migrateToLatest(database);
    const now = '2026-01-01 00:00:00.000';
    const u = await database.db
      .insertInto('users')
      .values({
        username: 'u',
        username_key: 'u',
        email: 'u@example.test',
        password_hash: 'x',
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    for (let s = 0; s < 3; s++) {
      await database.db
        .insertInto('detection_sessions')
        .values({
          user_id: Number(u.insertId),
          model_id: null,
          device_id: null,
          status: 'running',
          threshold: 0.5,
          started_at: now,
          total_predictions: 0,
          anomaly_count: 0,
          created_at: now,
        })
        .execute();
    }
    if (config.database.dialect !== 'sqlite') throw new Error('not sqlite');
    return { database, file: config.database.file };
  }

  function thread(
    file: string,
    database: Database,
    extra: {
      maxRestarts?: number;
      logger?: { error(o: object, m: string): void; warn(o: object, m: string): void };
    } = {},
  ) {
    const repo = createDetectionRepository(database.db);
    const t = createLogInsertThread({
      file,
      fallback: (rows, o) => repo.insertLogs(rows, o),
      pruneFallback: createRetentionRepository(database.db).pruneBatch,
      logger: extra.logger ?? quietLogger,
      ...(extra.maxRestarts !== undefined && { maxRestarts: extra.maxRestarts }),
    });
    cleanup.push(() => t.close());
    return t;
  }

  /** `n` rows over three sessions, ten readings a second from 10:00, every 37th an anomaly with an explanation. */
  const rows = (n: number, from = 0): LogInsert[] =>
    Array.from({ length: n }, (_, k) => {
      const i = from + k;
      const anomaly = i % 37 === 0;
      return {
        session_id: (i % 3) + 1,
        seq: Math.floor(i / 3) + 1,
        user_id: 1,
        model_id: null,
        timestamp: new Date(Date.UTC(2026, 0, 1, 10) + i * 100).toISOString().replace('T', ' ').slice(0, 23),
        value: Math.sin(i) * 3,
        anomaly_score: anomaly ? 0.9 : (i % 10) / 20,
        is_anomaly: anomaly ? 1 : 0,
        confidence: 0.8,
        explanation: anomaly ? `{"signal":"spike","i":${i}}` : '{"signal":"none"}',
        created_at: '2026-01-01 10:00:00.000',
      };
    });

  const stored = async (database: Database) => ({
    logs: await database.db
      .selectFrom('detection_logs')
      .selectAll()
      .orderBy('session_id')
      .orderBy('seq')
      .execute(),
    rollups: await database.db
      .selectFrom('detection_rollups')
      .selectAll()
      .orderBy('session_id')
      .orderBy('bucket_s')
      .orderBy('bucket_start')
      .execute(),
  });

  it('writes a large batch in the thread while the event loop keeps ticking', async () => {
    const { database, file } = await sqliteFile();
    const t = thread(file, database);
    await t.insert(rows(10), { fresh: true }); // the thread is started and warm
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await t.insert(rows(60_000, 10), { fresh: true });
    const ms = performance.now() - t0;
    clearInterval(timer);
    expect(t.stats()).toMatchObject({ batches: 2, rows: 60_010, fallbackBatches: 0, deaths: 0 });
    // On the event loop the insert is one synchronous run per 1,000-row statement: no timer fires.
    expect(ticks).toBeGreaterThan(Math.min(20, ms / 10));
    const n = await database.db
      .selectFrom('detection_logs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(60_010);
  });

  it('runs retention deletes in the thread as the main thread would: same rows gone, same watermark, the event loop free', async () => {
    const cutoff = '2026-01-01 12:00:00.000';
    const prune = async (on: 'thread' | 'main') => {
      const { database, file } = await sqliteFile();
      const t = thread(file, database);
      await t.insert(rows(30_000), { fresh: true });
      const retention = createRetentionRepository(database.db);
      // Session 1's readings 1..9,000 minus two kept stretches (an anomaly's context, say).
      const ranges: Array<[number, number]> = [
        [1, 2_999],
        [3_101, 6_999],
        [7_201, 9_000],
      ];
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const t0 = performance.now();
      const n = on === 'thread' ? await t.prune(1, cutoff, ranges, 9_000) : await retention.pruneBatch(1, cutoff, ranges, 9_000);
      const ms = performance.now() - t0;
      clearInterval(timer);
      const left = await database.db.selectFrom('detection_logs').select(['session_id', 'seq']).orderBy('session_id').orderBy('seq').execute();
      const session = await database.db.selectFrom('detection_sessions').select(['logs_pruned_seq', 'logs_pruned_rows']).where('id', '=', 1).executeTakeFirstOrThrow();
      return { n, left, session, ticks, ms, stats: t.stats() };
    };
    const main = await prune('main');
    const off = await prune('thread');
    // Normal rows only (every 37th reading is an anomaly and stays): fewer than the 8,600 in the ranges.
    expect(main.n).toBeGreaterThan(8_000);
    expect(main.n).toBeLessThan(8_600);
    expect(off.n).toBe(main.n);
    expect(off.left).toEqual(main.left);
    expect(off.session).toEqual({ logs_pruned_seq: 9_000, logs_pruned_rows: main.n });
    expect(off.stats).toMatchObject({ prunes: 1, prunedRows: main.n, deaths: 0 });
    expect(main.stats.prunes).toBe(0);
    // On the main thread the delete is one synchronous statement per range: timers wait for it.
    expect(off.ticks).toBeGreaterThan(Math.min(5, off.ms / 10));
  });

  it('stores the same rows and rollups as the main thread, replays included', async () => {
    const a = await sqliteFile();
    const b = await sqliteFile();
    const t = thread(a.file, a.database);
    const repo = createDetectionRepository(b.database.db);
    const batches: Array<[LogInsert[], boolean]> = [
      [rows(1500), true],
      [rows(1500, 1500), true],
      // A replay overlapping stored rows (fresh: false): each row and its rollups count once.
      [rows(2000, 1000), false],
    ];
    for (const [r, fresh] of batches) {
      await t.insert(r, { fresh });
      await repo.insertLogs(r, { fresh });
    }
    expect(t.stats().rows).toBe(5000);
    const [sa, sb] = [await stored(a.database), await stored(b.database)];
    expect(sa.logs).toHaveLength(3000);
    expect(sa.rollups.length).toBeGreaterThan(0);
    expect(sa).toEqual(sb);
  });

  /** A log writer over the thread in large batches, retrying quickly (as after a thread's death). */
  const writerThrough = (t: { insert: Parameters<typeof createLogWriter>[0]['insert'] }) =>
    createLogWriter({ insert: t.insert, batchSize: 5000, flushMs: 5, maxBuffer: 1_000_000, logger: quietLogger, retry: { initialMs: 10, maxMs: 50 } });

  it('loses no row when the thread dies with a batch in flight: it restarts and the writer retries', async () => {
    const { database, file } = await sqliteFile();
    const errors: string[] = [];
    const t = thread(file, database, {
      logger: { error: (_o: object, m: string) => void errors.push(m), warn() {} },
    });
    const writer = writerThrough(t);
    const all = rows(60_000);
    for (const r of all) writer.push(r);
    while (t.stats().batches < 2) await new Promise((r) => setTimeout(r, 1));
    await t.kill();
    await writer.flush(20);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/died: it restarts/);
    expect(t.stats()).toMatchObject({ deaths: 1, fallbackBatches: 0 });
    expect(writer.stats()).toMatchObject({ written: 60_000, dropped: 0, buffered: 0 });
    expect(writer.stats().failures).toBeGreaterThanOrEqual(1);
    const { logs, rollups } = await stored(database);
    expect(logs).toHaveLength(60_000);
    const n = rollups.filter((r) => r.bucket_s === 60).reduce((s, r) => s + Number(r.n), 0);
    expect(n).toBe(60_000);
  });

  it('falls back to main-thread inserts once the thread died more than maxRestarts times', async () => {
    const { database, file } = await sqliteFile();
    const errors: string[] = [];
    const t = thread(file, database, {
      maxRestarts: 0,
      logger: { error: (_o: object, m: string) => void errors.push(m), warn() {} },
    });
    const writer = writerThrough(t);
    for (const r of rows(30_000)) writer.push(r);
    while (t.stats().batches < 1) await new Promise((r) => setTimeout(r, 1));
    await t.kill();
    await writer.flush(20);
    expect(errors[0]).toMatch(/main thread from now on/);
    expect(t.stats().fallbackBatches).toBeGreaterThan(0);
    const { logs } = await stored(database);
    expect(logs).toHaveLength(30_000);
  });

  it('is what the app writes logs through with SQLITE_LOG_THREAD=true, and is closed by app.stop()', async () => {
    const server = await startTestServer('sqlite', { SQLITE_LOG_THREAD: 'true' });
    const { logWriter, logThread } = server.app.realtime;
    try {
      expect(logThread).toBeDefined();
      const now = '2026-01-01 00:00:00.000';
      const u = await server.app.database.db
        .insertInto('users')
        .values({
          username: 'a',
          username_key: 'a',
          email: 'a@example.test',
          password_hash: 'x',
          created_at: now,
          updated_at: now,
        })
        .executeTakeFirstOrThrow();
      for (let s = 0; s < 3; s++) {
        await server.app.database.db
          .insertInto('detection_sessions')
          .values({
            user_id: Number(u.insertId),
            model_id: null,
            device_id: null,
            status: 'stopped',
            threshold: 0.5,
            started_at: now,
            total_predictions: 0,
            anomaly_count: 0,
            created_at: now,
          })
          .execute();
      }
      for (const r of rows(2000)) logWriter.push(r);
      await logWriter.flush();
      expect(logThread!.stats()).toMatchObject({ rows: 2000, fallbackBatches: 0, deaths: 0 });
    } finally {
      await server.stop();
    }
    expect(logThread!.stats().deaths).toBe(0);
  });

  it('is used by default on a SQLite file, and not with SQLITE_LOG_THREAD=false or on a :memory: database', async () => {
    const byDefault = await startTestServer('sqlite');
    try {
      expect(byDefault.app.realtime.logThread).toBeDefined();
    } finally {
      await byDefault.stop();
    }
    const off = await startTestServer('sqlite', { SQLITE_LOG_THREAD: 'false' });
    const memory = await startTestServer('sqlite', {
      DATABASE_URL: 'sqlite::memory:',
      SQLITE_LOG_THREAD: 'true',
    });
    try {
      expect(off.app.realtime.logThread).toBeUndefined();
      expect(memory.app.realtime.logThread).toBeUndefined();
    } finally {
      await off.stop();
      await memory.stop();
    }
    // Three app starts, each installing the preset models: over 30 s on a loaded 2-core machine.
  }, 120_000);
});
