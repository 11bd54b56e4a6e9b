import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateDown, migrateToLatest } from '../../src/db/migrate.ts';
import { migrations } from '../../src/db/migrations/index.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';

describe.each(testDialects())('detection log storage migrations [%s]', (dialect) => {
  let tdb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    database = openDatabase(loadConfig({ env: { DATABASE_URL: tdb.url, DATA_DIR: tdb.dataDir } }).database);
  });
  afterAll(async () => {
    await database?.close();
    await tdb?.drop();
  });

  /** Migrations from 0015-rollups on (later ones roll back and forth with them). */
  const fromRollups = Object.keys(migrations).length - Object.keys(migrations).indexOf('0015-rollups');

  it('compacts existing wide rows and rolls them up, keeping every field the API reads', async () => {
    await migrateToLatest(database);
    await migrateDown(database, fromRollups);
    const db = database.db;
    const now = '2026-01-01 00:00:00.000';
    await sql`insert into users (username, username_key, email, password_hash, created_at, updated_at) values ('mig', 'mig', 'mig@example.test', 'x', ${now}, ${now})`.execute(db);
    const user = await sql<{ id: number }>`select id from users where username = 'mig'`.execute(db);
    const userId = user.rows[0]!.id;
    await sql`insert into detection_sessions (user_id, status, threshold, started_at, total_predictions, anomaly_count, created_at) values (${userId}, 'stopped', 0.5, ${now}, 3, 1, ${now})`.execute(db);
    const session = await sql<{ id: number }>`select id from detection_sessions`.execute(db);
    const sid = session.rows[0]!.id;
    const rows = [
      [1, '2026-01-01 10:00:01.000', 2.5, 0.1, 0, '{"signal":"none","method":"auto:point"}'],
      [2, '2026-01-01 10:00:02.000', 9.5, 0.97, 1, '{"signal":"spike","method":"auto:point","contributions":[{"name":"point","weight":1}]}'],
      [3, '2026-01-01 10:01:02.000', 2.0, 0.2, 0, 'not json'],
    ] as const;
    for (const [seq, t, v, s, a, e] of rows) {
      await sql`insert into detection_logs (session_id, user_id, model_id, timestamp, value, anomaly_score, is_anomaly, confidence, explanation, created_at, seq)
        values (${sid}, ${userId}, null, ${t}, ${v}, ${s}, ${a}, 0.8, ${e}, ${t}, ${seq})`.execute(db);
    }

    expect((await migrateToLatest(database)).applied.slice(0, 2)).toEqual(['0015-rollups', '0016-compact-logs']);
    const logs = await db.selectFrom('detection_logs').selectAll().orderBy('seq').execute();
    expect(logs.map((l) => [Number(l.seq), l.timestamp, l.value, l.anomaly_score, Number(l.is_anomaly), l.confidence, l.signal, l.explanation])).toEqual([
      [1, '2026-01-01 10:00:01.000', 2.5, 0.1, 0, 0.8, 'none', null],
      [2, '2026-01-01 10:00:02.000', 9.5, 0.97, 1, 0.8, 'spike', rows[1][5]],
      [3, '2026-01-01 10:01:02.000', 2.0, 0.2, 0, 0.8, 'none', null],
    ]);
    const rollups = await db.selectFrom('detection_rollups').selectAll().orderBy('bucket_s').orderBy('bucket_start').execute();
    expect(rollups.map((r) => [r.bucket_s, r.bucket_start, Number(r.n), r.value_min, r.value_max, Number(r.anomaly_count), r.max_score])).toEqual([
      [60, '2026-01-01 10:00:00.000', 2, 2.5, 9.5, 1, 0.97],
      [60, '2026-01-01 10:01:00.000', 1, 2.0, 2.0, 0, 0.2],
      [3600, '2026-01-01 10:00:00.000', 3, 2.0, 9.5, 1, 0.97],
    ]);

    // And back: the wide shape again, with the session's user and an explanation for every row.
    await migrateDown(database, fromRollups);
    const wide = await sql<{ user_id: number; explanation: string; created_at: string }>`select user_id, explanation, created_at from detection_logs order by seq`.execute(db);
    expect(wide.rows.map((r) => [r.user_id, JSON.parse(r.explanation).signal])).toEqual([
      [userId, 'none'],
      [userId, 'spike'],
      [userId, 'none'],
    ]);
    await migrateToLatest(database);
  });
});
