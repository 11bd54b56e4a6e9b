import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { bulkInsert, skipDuplicates, upsertMerging } from '../../src/db/dialect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { ROLLUP_KEY, ROLLUP_MERGES, type RollupDelta } from '../../src/modules/detection/rollups.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';


const rollup = (i: number, value: number): RollupDelta => ({
  session_id: 1,
  bucket_s: 60,
  bucket_start: `2026-01-01 10:0${i % 3}:00.000`,
  n: 1,
  value_sum: value,
  value_min: value,
  value_max: value,
  anomaly_count: value > 5 ? 1 : 0,
  max_score: value / 10,
});

describe.each(testDialects())('bulkInsert [%s]', (dialect) => {
  let tdb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    tdb = await createTestDatabase(dialect);
    database = openDatabase(loadConfig({ env: { DATABASE_URL: tdb.url, DATA_DIR: tdb.dataDir } }).database);
    await migrateToLatest(database);
    const now = '2026-01-01 00:00:00.000';
    await sql`insert into users (id, username, username_key, email, password_hash, created_at, updated_at) values (1, 'bulk', 'bulk', 'bulk@example.test', 'x', ${now}, ${now})`.execute(database.db);
    await sql`insert into detection_sessions (id, user_id, status, threshold, started_at, total_predictions, anomaly_count, created_at) values (1, 1, 'running', 0.5, ${now}, 0, 0, ${now})`.execute(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await tdb?.drop();
  });

  const upsert = (rows: readonly RollupDelta[]) =>
    upsertMerging(database.db, database.db.insertInto('detection_rollups').values(rows), ROLLUP_KEY, ROLLUP_MERGES);

  it('compiles what Kysely compiles for the same rows, for any number of rows', () => {
    const fast = bulkInsert(upsert);
    for (const n of [1, 2, 7, 1000]) {
      const rows = Array.from({ length: n }, (_, i) => rollup(i, i * 0.5));
      const mine = fast(rows);
      const kysely = upsert(rows).compile();
      expect(mine.sql).toBe(kysely.sql);
      expect(mine.parameters).toEqual(kysely.parameters);
    }
    const logs = bulkInsert((rows: ReadonlyArray<{ session_id: number; seq: number; signal: string; explanation: string | null }>) =>
      skipDuplicates(database.db, database.db.insertInto('detection_logs').values(rows as never), 'seq'),
    );
    const rows = [
      { session_id: 1, seq: 1, signal: 'none', explanation: null },
      { session_id: 1, seq: 2, signal: "it's", explanation: '{"a":"?"}' },
    ];
    const kysely = skipDuplicates(database.db, database.db.insertInto('detection_logs').values(rows as never), 'seq').compile();
    expect(logs(rows).sql).toBe(kysely.sql);
    expect(logs(rows).parameters).toEqual(kysely.parameters);
  });

  it("compiles a batch of another shape as Kysely does (a missing or undefined column goes to Kysely, keys in another order get their own template)", () => {
    const fast = bulkInsert(upsert);
    fast([rollup(0, 1)]);
    const { max_score: _, ...partial } = rollup(1, 2);
    for (const rows of [[rollup(0, 1), partial as RollupDelta], [rollup(0, 1), { ...rollup(1, 2), n: undefined as unknown as number }], [{ max_score: 0.2, ...partial }, rollup(0, 1)]]) {
      const kysely = upsert(rows).compile();
      expect(fast(rows).sql).toBe(kysely.sql);
      expect(fast(rows).parameters).toEqual(kysely.parameters);
    }
  });

  it('writes and merges the rows as the statement Kysely builds would', async () => {
    const fast = bulkInsert(upsert);
    await database.db.executeQuery(fast([rollup(0, 1), rollup(1, 2), rollup(2, 3)]));
    await database.db.executeQuery(fast([rollup(0, 7), rollup(1, 0.5)]));
    const stored = await database.db.selectFrom('detection_rollups').selectAll().orderBy('bucket_start').execute();
    expect(stored.map((r) => [r.bucket_start, Number(r.n), r.value_sum, r.value_min, r.value_max, Number(r.anomaly_count), r.max_score])).toEqual([
      ['2026-01-01 10:00:00.000', 2, 8, 1, 7, 1, 0.7],
      ['2026-01-01 10:01:00.000', 2, 2.5, 0.5, 2, 0, 0.2],
      ['2026-01-01 10:02:00.000', 1, 3, 3, 3, 0, 0.3],
    ]);
  });
});
