/**
 * Bytes per logged reading, before and after the compact rows of migration 0016, and the series
 * endpoint's speed on a month-long session.
 *
 *   npm run bench:storage [-- --dialect sqlite|mysql|both --rows 200000 --days 30 --hz 1]
 *
 * Bytes: `--rows` readings of one session are scored by the default detector (`auto`) on a seeded
 * 10 Hz signal with injected spikes, turned into log rows by the live path's own `logRow`, and
 * written into a database migrated to just before 0016 (the wide rows); the table and its
 * indexes are measured (SQLite: `dbstat` pages; MariaDB: `data_length + index_length` after
 * `ANALYZE`), then 0016 compacts the same rows and they are measured again. A second fresh
 * database receives them through the real write path (`insertLogs`: compact rows + rollups).
 *
 * Series: a session of `--days` at `--hz` readings/s is written through `insertLogs`, then
 * `GET /detection/sessions/:id/series`'s service is timed for the whole month, a day and an hour.
 */
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { freshDatabase } from './support/fresh-database.ts';
import { loadConfig } from '../src/config/index.ts';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrateDown, migrateToLatest } from '../src/db/migrate.ts';
import { migrations } from '../src/db/migrations/index.ts';
import { toDbTime } from '../src/db/time.ts';
import { createDetector } from '../src/detectors/index.ts';
import { Rng } from '../src/detectors/random.ts';
import { createDetectionRepository, type LogInsert } from '../src/modules/detection/detection.repository.ts';
import { logRow } from '../src/modules/detection/session-logging.ts';
import type { Live } from '../src/modules/detection/live-session.ts';
import { createSessionSeries } from '../src/modules/detection/session-series.ts';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'both' },
    rows: { type: 'string', default: '200000' },
    days: { type: 'string', default: '30' },
    hz: { type: 'string', default: '1' },
    'mysql-url': { type: 'string', default: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306' },
  },
});
const ROWS = Number(values.rows);
const DAYS = Number(values.days);
const HZ = Number(values.hz);
const dialects = values.dialect === 'both' ? ['sqlite', 'mysql'] : [values.dialect!];

async function open(dialect: string) {
  const fresh = await freshDatabase(dialect, values['mysql-url']!, 'vigil-storage-bench-');
  const database = openDatabase(loadConfig({ dotenv: false, env: { DATABASE_URL: fresh.url, DATA_DIR: fresh.dataDir } }).database);
  await migrateToLatest(database);
  return { fresh, database };
}

/** A user and a session to hang rows on. */
async function session(database: Database, startedAt: number): Promise<{ userId: number; sessionId: number }> {
  const db = database.db;
  const t = toDbTime(startedAt);
  const u = await db.insertInto('users').values({ username: 'bench', username_key: 'bench', email: 'bench@example.test', password_hash: 'x', created_at: t, updated_at: t }).executeTakeFirstOrThrow();
  const userId = Number(u.insertId);
  const sessionId = await createDetectionRepository(db).insertSession({ userId, modelId: null as unknown as number, deviceId: 1, threshold: 0.5, now: t });
  return { userId, sessionId };
}

/** `n` log rows as the live path builds them: the default detector scoring a 10 Hz signal with spikes. */
function scoredRows(n: number, sessionId: number, userId: number, start: number, stepMs: number): LogInsert[] {
  const rng = new Rng(42);
  const detector = createDetector(undefined, { seed: 7 });
  const live = { id: sessionId, owner: { userId }, model: { id: null }, seq: 0 } as unknown as Live & { id: number; owner: { userId: number } };
  const rows: LogInsert[] = [];
  for (let i = 0; i < n; i++) {
    const ts = start + i * stepMs;
    const spike = i > 2000 && i % 997 === 0;
    const value = 3.3 + 0.2 * Math.sin(i / 600) + rng.normal() * 0.02 + (spike ? 1.5 : 0);
    const reading = { ts, value };
    const score = detector.score(reading);
    live.seq = i + 1;
    rows.push(logRow(live, reading, score, new Date(ts + 40)));
  }
  return rows;
}

async function logBytes(database: Database, table = 'detection_logs'): Promise<number> {
  const db = database.db;
  if (database.dialect === 'sqlite') {
    const r = await sql<{ b: number }>`select sum(pgsize) as b from dbstat where name in (select name from sqlite_master where tbl_name = ${table})`.execute(db);
    return Number(r.rows[0]!.b);
  }
  await sql`analyze table ${sql.table(table)}`.execute(db);
  const r = await sql<{ b: number }>`select data_length + index_length as b from information_schema.tables where table_schema = database() and table_name = ${table}`.execute(db);
  return Number(r.rows[0]!.b);
}

async function bytesPerReading(dialect: string) {
  const { fresh, database } = await open(dialect);
  try {
    // Back to just before 0016 (later migrations roll back with it and return after).
    await migrateDown(database, Object.keys(migrations).length - Object.keys(migrations).indexOf('0016-compact-logs'));
    const { userId, sessionId } = await session(database, Date.UTC(2026, 0, 1));
    const rows = scoredRows(ROWS, sessionId, userId, Date.UTC(2026, 0, 1), 100);
    const anomalies = rows.filter((r) => r.is_anomaly).length;
    for (let i = 0; i < rows.length; i += 1000) await database.db.insertInto('detection_logs').values(rows.slice(i, i + 1000) as never).execute();
    const wide = (await logBytes(database)) / ROWS;
    await migrateToLatest(database);
    const compacted = (await logBytes(database)) / ROWS;

    const second = await open(dialect);
    try {
      const s2 = await session(second.database, Date.UTC(2026, 0, 1));
      const repo = createDetectionRepository(second.database.db);
      const rows2 = rows.map((r) => ({ ...r, session_id: s2.sessionId, user_id: s2.userId }));
      for (let i = 0; i < rows2.length; i += 500) await repo.insertLogs(rows2.slice(i, i + 500));
      const written = (await logBytes(second.database)) / ROWS;
      return { wide, compacted, written, anomalies, explanation: rows[10]!.explanation };
    } finally {
      await second.database.close();
      await second.fresh.drop();
    }
  } finally {
    await database.close();
    await fresh.drop();
  }
}

async function seriesSpeed(dialect: string) {
  const { fresh, database } = await open(dialect);
  try {
    const start = Date.UTC(2026, 0, 1);
    const { userId, sessionId } = await session(database, start);
    const repo = createDetectionRepository(database.db);
    const n = Math.round(DAYS * 86_400 * HZ);
    const step = 1000 / HZ;
    const t0 = performance.now();
    for (let i = 0; i < n; i += 5000) {
      const rows: LogInsert[] = [];
      for (let j = i; j < Math.min(n, i + 5000); j++) {
        const anomalous = j % 5000 === 4999;
        rows.push({
          session_id: sessionId,
          seq: j + 1,
          user_id: userId,
          model_id: null,
          timestamp: toDbTime(start + j * step),
          value: 3.3 + Math.sin(j / 3600) + (anomalous ? 2 : 0) + ((j * 7919) % 100) / 1000,
          anomaly_score: anomalous ? 0.97 : ((j * 104729) % 400) / 1000,
          is_anomaly: anomalous ? 1 : 0,
          confidence: 0.8,
          explanation: JSON.stringify({ signal: anomalous ? 'spike' : 'none', method: 'auto' }),
          created_at: toDbTime(start + j * step),
        });
      }
      await repo.insertLogs(rows);
    }
    const seedS = (performance.now() - t0) / 1000;
    const rollupRows = Number((await database.db.selectFrom('detection_rollups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    console.log(`[${dialect}] rollups: ${rollupRows.toLocaleString('en')} rows for ${DAYS} days, ${((await logBytes(database, 'detection_rollups')) / rollupRows).toFixed(1)} bytes per rollup row`);
    const { series } = createSessionSeries({ repo, owned: async () => undefined });
    const time = async (label: string, q: { points: number; from?: string; to?: string }) => {
      const ms: number[] = [];
      let out: Awaited<ReturnType<typeof series>> | undefined;
      for (let k = 0; k < 5; k++) {
        const a = performance.now();
        out = await series(userId, sessionId, q);
        ms.push(performance.now() - a);
      }
      ms.sort((x, y) => x - y);
      console.log(`  ${label.padEnd(26)} ${out!.source.padEnd(9)} ${String(out!.points.length).padStart(5)} points  median ${ms[2]!.toFixed(1)} ms  max ${ms[4]!.toFixed(1)} ms`);
    };
    console.log(`[${dialect}] series on a ${DAYS}-day session at ${HZ} Hz (${n.toLocaleString('en')} rows written through insertLogs in ${seedS.toFixed(1)} s, ${Math.round(n / seedS).toLocaleString('en')} rows/s with rollups):`);
    await time('whole session, 1000 pts', { points: 1000 });
    await time('whole session, 200 pts', { points: 200 });
    const day = start + 10 * 86_400_000;
    await time('one day, 1000 pts', { points: 1000, from: new Date(day).toISOString(), to: new Date(day + 86_400_000).toISOString() });
    await time('one hour, 500 pts', { points: 500, from: new Date(day).toISOString(), to: new Date(day + 3_600_000).toISOString() });
    await time('ten minutes, 1000 pts', { points: 1000, from: new Date(day).toISOString(), to: new Date(day + 600_000).toISOString() });
  } finally {
    await database.close();
    await fresh.drop();
  }
}

for (const dialect of dialects) {
  const b = await bytesPerReading(dialect);
  console.log(
    `[${dialect}] bytes per logged reading (table + indexes, ${ROWS.toLocaleString('en')} readings, ${b.anomalies} anomalous): wide (before 0016) ${b.wide.toFixed(1)}, compacted by 0016 ${b.compacted.toFixed(1)}, written compact through insertLogs ${b.written.toFixed(1)}`,
  );
  console.log(`  a normal reading's explanation before 0016: ${b.explanation}`);
  await seriesSpeed(dialect);
}
